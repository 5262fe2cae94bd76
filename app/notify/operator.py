"""The operator's NOTIFIERS_FILE: named notifiers, their secrets (`${ENV_VAR}`), Slack IDs."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, PrivateAttr, SecretStr, ValidationError
from pydantic_core import ErrorDetails

from app.notify.notifiers import (
    ADDRESS,
    EMAIL_ABOVE,
    KINDS,
    MIN_WEBHOOK_SECRET,
    PUBLIC_KINDS,
    STATUSPAGE_API,
    STATUSPAGE_ID,
    Address,
    CalendarSource,
    EmailNotifier,
    Model,
    Notifier,
    NotifierName,
    PagerDutyNotifier,
    SlackId,
    SlackNotifier,
    Span,
    StatuspageNotifier,
    WebhookNotifier,
)

# The models live in `app.notify.notifiers`; re-exported for callers of `app.notify.operator`.
__all__ = ["ADDRESS", "EMAIL_ABOVE", "KINDS", "MIN_WEBHOOK_SECRET", "PUBLIC_KINDS"]
__all__ += ["STATUSPAGE_API", "STATUSPAGE_ID", "Address", "CalendarSource", "EmailNotifier"]
__all__ += ["Notifier", "NotifierName", "OperatorError", "OperatorFile", "PagerDutyNotifier"]
__all__ += ["SlackId", "SlackNotifier", "Span", "StatuspageNotifier", "WebhookNotifier"]
__all__ += ["load", "parse"]

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class OperatorError(Exception):
    """A NOTIFIERS_FILE that cannot be used; `problems` are `location: message` lines."""

    def __init__(self, source: str, problems: list[str]) -> None:
        super().__init__(f"{source}: " + "; ".join(problems))
        self.source = source
        self.problems = problems


_URL_FIELDS = ("url", "webhook_url")


class OperatorFile(Model):
    """The whole file."""

    # The `${VAR}` values expanded into URLs (set by `parse`), for `secrets()`.
    _url_parts: list[str] = PrivateAttr(default_factory=list)

    notifiers: dict[NotifierName, Notifier] = Field(
        default_factory=dict, description="Notifiers by the name repositories use in `notify:`."
    )
    people: dict[str, SlackId] = Field(
        default_factory=dict,
        description="GitHub login → Slack user ID, for inviting role holders to channels.",
    )
    calendars: dict[NotifierName, CalendarSource] = Field(
        default_factory=dict,
        description="On-call calendars by the name a repository's rotation gives "
        "(`calendar: <name>`).",
    )

    def names(self) -> frozenset[str]:
        """The notifier names repositories may route to."""
        return frozenset(self.notifiers)

    def secrets(self) -> list[str]:
        """Every secret value the file holds, for the log scrubber: tokens, keys, HMAC
        secrets, and the URLs notifiers post to (a Slack or Teams hook's URL is its secret),
        with any `${VAR}` value expanded into one."""
        found: list[str] = []
        for notifier in self.notifiers.values():
            if isinstance(notifier, WebhookNotifier):
                found.append(notifier.url)
            for name in type(notifier).model_fields:
                value = getattr(notifier, name)
                if isinstance(value, SecretStr) and value.get_secret_value().strip():
                    found.append(value.get_secret_value())
        found += [c.url.get_secret_value() for c in self.calendars.values()]
        found += [part for part in self._url_parts if part.strip()]
        return list(dict.fromkeys(found))

    def urls(self) -> list[str]:
        """The URLs the app sends to or fetches from through httpx (webhooks, calendars), for
        its request log."""
        hooks = [n.url for n in self.notifiers.values() if isinstance(n, WebhookNotifier)]
        return hooks + [c.url.get_secret_value() for c in self.calendars.values()]

    def people_for(self, extra: Mapping[str, str]) -> dict[str, str]:
        """Login (lowercase) → Slack ID: a repository's roster, the operator's file on top."""
        return {k.lower(): v for k, v in {**extra, **self.people}.items()}


def _expand(
    value: Any,
    where: tuple[str, ...],
    env: Mapping[str, str],
    bad: list[str],
    used: list[tuple[tuple[str, ...], str]],
) -> Any:
    """`${NAME}` in every string replaced by the environment's value; one problem per
    variable that is unset or empty (named, its value never shown). `used` collects where
    each value went, for the log scrubber."""
    if isinstance(value, dict):
        return {k: _expand(v, (*where, str(k)), env, bad, used) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, (*where, str(n)), env, bad, used) for n, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def swap(match: re.Match[str]) -> str:
        found = env.get(match[1])
        if not found:
            bad.append(f"{'.'.join(where)}: environment variable {match[1]} is not set")
            return ""
        used.append((where, found))
        return found

    return _VAR.sub(swap, value)


def _location(loc: tuple[int | str, ...]) -> str:
    parts = list(loc)
    # A notifier's errors are located under its kind too (the discriminated union): drop it.
    if len(parts) > 2 and parts[0] == "notifiers" and parts[2] in KINDS:
        del parts[2]
    return ".".join(str(p) for p in parts) or "file"


def _located(exc: ValidationError, unset: set[str]) -> list[str]:
    """Each validation error as `location: message`, in the file's words; none where an unset
    variable was already reported (it is said once, not twice)."""
    found: list[str] = []
    for err in exc.errors(include_input=False, include_url=False):
        loc = tuple(err["loc"][:-1] if err["loc"][-1] == "[key]" else err["loc"])
        if _location(loc) not in unset:
            found.append(f"{_location(loc)}: {_message(err)}")
    return found


def _message(err: ErrorDetails) -> str:
    """What one validation error says, for the operator."""
    if err["type"] == "extra_forbidden":
        return "unknown key"
    if err["type"] == "union_tag_invalid":
        return f"kind must be one of {', '.join(KINDS)}"
    if err["type"] == "string_pattern_mismatch" and err["loc"][-1] == "[key]":
        return "a name is letters, digits, '.', '_' and '-' (at most 64)"
    if err["type"] == "string_pattern_mismatch" and err["loc"][0] == "people":
        return "not a Slack user ID (U… or W…, as in the member's profile)"
    return err["msg"].removeprefix("Value error, ")


def parse(
    text: str, *, source: str = "NOTIFIERS_FILE", env: Mapping[str, str] | None = None
) -> OperatorFile:
    """Validate the file's text; raise OperatorError with every problem found."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "file"
        raise OperatorError(source, [f"{where}: not valid YAML"]) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise OperatorError(source, ["file: must be a mapping with `notifiers:` (and `people:`)"])
    problems: list[str] = []
    used: list[tuple[tuple[str, ...], str]] = []
    data = _expand(data, (), os.environ if env is None else env, problems, used)
    unset = {p.partition(": ")[0] for p in problems}
    try:
        found = OperatorFile.model_validate(data)
    except ValidationError as exc:
        problems += _located(exc, unset)
    if problems:
        raise OperatorError(source, problems) from None
    # A URL's `${VAR}` (a Teams or Slack hook's key in its path) is a secret on its own too.
    found._url_parts = [value for where, value in used if where[-1] in _URL_FIELDS]
    return found


def load(path: Path, *, env: Mapping[str, str] | None = None) -> OperatorFile:
    """Read and validate the file at `path` (NOTIFIERS_FILE)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise OperatorError(str(path), [f"file: cannot read: {reason}"]) from None
    return parse(text, source=str(path), env=env)
