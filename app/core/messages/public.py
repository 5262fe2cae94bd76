"""Telling customers (issue 24): the public title by default, the final entry at resolution,
the incident's note that it is on the status site, the public-update reminder."""

from __future__ import annotations

from datetime import datetime, timedelta

from app.core import markers
from app.core.messages.durations import DurationStyle, duration
from app.core.messages.formatting import when
from app.core.policy import Policy, Severity

# The title customers read until `/public title` gives one: never the title, which
# is written for responders (and may name customers, systems or people).
DEFAULT_TITLES = {
    Severity.P0: "Major service outage",
    Severity.P1: "Service disruption",
    Severity.P2: "Degraded service",
    Severity.P3: "Minor service issue",
}


def resolved_text(lasted: timedelta) -> str:
    """The final entry the app publishes when an incident resolves without `/public resolved`."""
    return (
        "This incident has been resolved and the service is operating normally. "
        f"It lasted {duration(lasted, DurationStyle.UNITS)}."
    )


def record_note(site: str, incident_id: str) -> str:
    """On the incident, once: it is on the public status site now, and where."""
    return "\n".join(
        [
            f"📣 This incident is now on the public status site (`{site}`), "
            f"page `incidents/{incident_id}.html`. Only `/public` updates, `/public title` "
            "and `/component` states appear there; nothing else from this issue does.",
            "",
            markers.render(markers.PublicRecord(incident_id)),
        ]
    )


def public_reminder(
    *, policy: Policy, severity: Severity, due: datetime, who: list[str], why: str, last: str
) -> str:
    """A public update is due: for whom, since when, and how to post one."""
    mention = " ".join(who) if who else "Communication lead"
    lines = [
        f"📣 {mention}: a public update was due {when(due, policy)} "
        f"({severity.value}: {why}). {last}",
        "",
        "Customers read only what `/public <text>` says (`/public resolved <text>` for the "
        "last one, `/component <name> degraded|partial-outage|major-outage|operational`).",
        "",
        markers.render(markers.PublicReminder(due.isoformat())),
    ]
    return "\n".join(lines)
