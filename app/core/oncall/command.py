"""`/oncall` and `/oncall cover @login [rotation] [until <time>]`, as `app.core.commands`
reads them (the command's shape and its arguments; what it does is `runbook/oncall`'s)."""

from __future__ import annotations

import re
from dataclasses import dataclass

ONCALL_USAGE = "use /oncall, or /oncall cover @login [rotation] [until <time>]"
_LOGIN_RE = re.compile(r"^@([A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))$")


@dataclass(frozen=True)
class OnCall:
    """`/oncall`, or `/oncall cover @login [<rotation>] [until <time>]`."""

    cover: str | None = None
    rotation: str | None = None
    until: str = ""  # as written: `2026-12-27 09:00`, `18:00`, `in 4h`


def parse_oncall(args: list[str]) -> OnCall | str:
    """The command its words make, or what is wrong with them (said back to the author)."""
    if not args:
        return OnCall()
    if args[0].lower() != "cover" or len(args) < 2:
        return ONCALL_USAGE
    login = _LOGIN_RE.match(args[1])
    if login is None:
        shown = args[1].replace("`", "'")[:40]
        return f"`{shown}` is not a @login; {ONCALL_USAGE}"
    rest = args[2:]  # [rotation] [until <time>]
    rotation = rest.pop(0) if rest and rest[0].lower() != "until" else None
    if rest and (rest[0].lower() != "until" or len(rest) < 2):
        return ONCALL_USAGE
    return OnCall(login[1], rotation, " ".join(rest[1:]))
