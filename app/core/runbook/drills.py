"""Drills (runbook "Dry-Run Exercises"): which scheduled drill is due and the issue that opens
it, and the transform that heads every text of a drill as one and keeps the people above the
response team unnotified."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime

from app.core import markers, messages
from app.core.actions import (
    Action,
    CreateFile,
    EditComment,
    OpenIssue,
    OpenPullRequest,
    PostComment,
)
from app.core.labels import DRILL, INCIDENT
from app.core.policy import Policy, Severity
from app.core.state import IncidentState

DRILL_HEADER = "🧪 **DRILL — exercise, no real impact**"
# Runbook "Dry-Run Exercises": a drill reaches the response team, never the people above it.
DRILL_QUIET_ROLES = ("senior_management", "executive_team", "legal", "platform_owner")


@dataclass(frozen=True)
class DueDrill:
    """A scheduled drill due: its severity, its period (`2019-05`, `2019-Q2`) and the
    period's ordinal (which scenario's turn it is)."""

    severity: str
    period: str
    ordinal: int


def due_drills(policy: Policy, repository: str, now: datetime) -> list[DueDrill]:
    """The drills due in `repository`: from the first business day of each period (month or
    quarter), one per configured severity."""
    drills = policy.drills
    if drills is None or (drills.repository and drills.repository != repository):
        return []
    cal = policy.business_calendar
    today = now.astimezone(cal.zone).date()
    due: list[DueDrill] = []
    for sev in (s.value for s in Severity):
        every = getattr(drills, sev)
        if every is None:
            continue
        month = today.month if every == "monthly" else 3 * ((today.month - 1) // 3) + 1
        if today < cal.first_business_day(today.replace(month=month, day=1)):
            continue
        quarter = (today.month - 1) // 3 + 1
        if every == "monthly":
            due.append(DueDrill(sev, f"{today:%Y-%m}", today.year * 12 + today.month))
        else:
            due.append(DueDrill(sev, f"{today.year}-Q{quarter}", today.year * 4 + quarter))
    return due


def drill_issue(policy: Policy, due: DueDrill) -> OpenIssue:
    """The issue that opens a scheduled drill, its scenario taken in turn."""
    scenarios = (policy.drills.scenarios if policy.drills else []) or [
        "the scenario of your choice"
    ]
    scenario = scenarios[due.ordinal % len(scenarios)]
    return OpenIssue(
        f"Drill ({due.severity}, {due.period}): {scenario}"[:256],
        'A scheduled drill (runbook "Dry-Run Exercises"): run the whole response, '
        f"communication included, for this scenario:\n\n> {scenario}\n\n"
        "Every comment is headed as a drill; senior management, the executive team "
        "and legal are not notified.\n\n"
        + markers.render(markers.ScheduledDrill(due.severity, due.period)),
        (INCIDENT, Severity(due.severity).label, DRILL),
        (),
        "drill",
    )


def drill(actions: list[Action], state: IncidentState, policy: Policy) -> list[Action]:
    """On a drill (`drill` put on by someone entitled to, behaviour §8): every text headed as
    a drill, the review marked as one, and senior management, executives and legal named
    without being notified."""
    if not state.drill:
        return actions
    quiet = {
        m.lower() for role in DRILL_QUIET_ROLES for m in policy.holders(role) + policy.backups(role)
    }

    def text(body: str) -> str:
        for mention in sorted(quiet, key=len, reverse=True):
            body = re.sub(
                rf"(?<![`\w]){re.escape(mention)}(?![\w/-])", f"`{mention}`", body, flags=re.I
            )
        return body if body.startswith(DRILL_HEADER) else f"{DRILL_HEADER}\n\n{body}"

    out: list[Action] = []
    for action in actions:
        if isinstance(action, PostComment | EditComment):
            action = replace(action, body=text(action.body))
        elif isinstance(action, OpenIssue | OpenPullRequest):
            title = (
                action.title if action.title.startswith("[DRILL]") else f"[DRILL] {action.title}"
            )
            action = replace(action, title=messages.title(title), body=text(action.body))
        elif isinstance(action, CreateFile):
            action = replace(action, content=text(action.content))
        out.append(action)
    return out
