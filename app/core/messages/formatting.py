"""How the app writes times and user text: moments in UTC and the calendar's zone, names
that notify nobody, user text made safe for a table cell, titles and bodies cut to GitHub's
limits."""

from __future__ import annotations

from datetime import UTC, datetime

from app.core import markers
from app.core.commands import Status
from app.core.policy import Policy

MAX_TITLE = 256  # GitHub's limit for issue and pull request titles


MAX_BODY = 65_536  # GitHub refuses longer comment and issue bodies


def when(moment: datetime, policy: Policy) -> str:
    """`2019-05-15 15:35 UTC`, with the local time too when the calendar is not UTC."""
    utc = moment.astimezone(UTC)
    text = utc.strftime("%Y-%m-%d %H:%M UTC")
    zone = policy.business_calendar.zone
    if policy.calendar.timezone != "UTC":
        local = moment.astimezone(zone)
        text += f" ({local.strftime('%a %H:%M')} {policy.calendar.timezone})"
    return text


def quiet(mention: str) -> str:
    """A login or team named without notifying it."""
    return f"`{mention}`"


def cell(text: str, limit: int = 300) -> str:
    """User text made safe for one table cell or line: no pipes, newlines, HTML, code spans
    or pings."""
    text = " ".join(str(text).split())[:limit]
    return (
        text.replace("\\", "\\\\")
        .replace("|", "\\|")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("@", "@\u200b")
        .replace("`", "'")
    )


def title(text: str, suffix: str = "") -> str:
    """An issue or pull request title within GitHub's limit, cut with an ellipsis."""
    room = MAX_TITLE - len(suffix)
    if len(text) > room:
        text = text[: room - 1].rstrip() + "…"
    return text + suffix


def fit(body: str) -> str:
    """A body within GitHub's limit; the hidden marker on its last line is kept."""
    if len(body) <= MAX_BODY:
        return body
    _, sep, last = body.rpartition("\n")
    tail = sep + last if last.startswith(f"<!-- {markers.PREFIX}") else ""
    cut = "\n\n… (cut: longer than GitHub allows)"
    return body[: MAX_BODY - len(cut) - len(tail)] + cut + tail


def status_title(status: Status) -> str:
    return status.value.capitalize()
