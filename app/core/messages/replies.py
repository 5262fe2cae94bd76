"""Replies to commands: the help, invalid commands, denied commands, changes undone."""

from __future__ import annotations

from collections.abc import Iterable

from app.core import markers
from app.core.messages.templates import COMMANDS_HELP


def help_reply(comment_id: int) -> str:
    return COMMANDS_HELP + "\n\n" + markers.render(markers.HelpReply(comment_id))


def invalid_reply(comment_id: int, problems: Iterable[tuple[str, str]]) -> str:
    body = "\n".join(f"`{command}`: {problem}." for command, problem in problems)
    return body + "\nSee `/incident help`.\n\n" + markers.render(markers.InvalidReply(comment_id))


def denied_reply(login: str) -> str:
    return (
        f"@{login} incident commands work only for people with write access to this "
        "repository or named in the incident roster, so this one changed nothing.\n\n"
        + markers.render(markers.Denied(login.lower()))
    )


def undone_reply(login: str, what: str, commanders: list[str]) -> str:
    """A person without authority changed severity or status: the app put it back."""
    ic = f" Ask the incident commander ({' '.join(commanders)})" if commanders else " Ask"
    return (
        f"@{login} {what} was undone: changing an incident's severity or status, its "
        "`incident`, `breach`, `drill` or `security` label, closing or reopening it, takes "
        "write access to this repository or a place in the incident "
        f"roster.{ic} or someone with write access, or use `/status` and `/sev` if you have "
        "it.\n\n" + markers.render(markers.Undone(login.lower()))
    )
