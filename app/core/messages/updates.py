"""The reminder that a status update is overdue."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from app.core import markers
from app.core.commands import Status
from app.core.messages.formatting import cell, when
from app.core.messages.templates import template
from app.core.policy import Policy, Severity

if TYPE_CHECKING:
    from app.core.state import Update


def reminder(
    *,
    policy: Policy,
    severity: Severity,
    due: datetime,
    who: list[str],
    anchor: datetime,
    number: int,
    status: Status,
    latest: Update | None,
    promised: bool,
) -> str:
    """A status update is overdue: when it was due, what the last one said, the template."""
    sp = policy.for_severity(severity)
    mention = " ".join(who) if who else "Communication lead"
    why = (
        "as the last update promised" if promised else f"{severity.value}: every {sp.update_every}"
    )
    lines = [
        f"⏰ {mention}: a status update was due {when(due, policy)} ({why}). "
        "Post `/status …` or the template:",
    ]
    if latest is not None:
        said = [f"Impact: {cell(latest.impact)}"] if latest.impact else []
        said += [f"ETA: {cell(latest.fields.eta)}"] if latest.fields.eta else []
        lines += [
            "",
            f"Last update #{latest.number} ({when(latest.at, policy)}, {latest.status.value})"
            + (": " + "; ".join(said) if said else "."),
        ]
    next_number = latest.number + 1 if latest else 1
    lines += [
        "",
        "```",
        template(number=next_number, severity=severity, status=status),
        "```",
        "",
        markers.render(markers.Reminder(anchor.isoformat(), number)),
    ]
    return "\n".join(lines)
