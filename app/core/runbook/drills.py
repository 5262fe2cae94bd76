"""Drills: the transform that heads every text of a drill as one and keeps the people above
the response team unnotified (runbook "Dry-Run Exercises")."""

from __future__ import annotations

import re
from dataclasses import replace

from app.core import messages
from app.core.actions import (
    Action,
    CreateFile,
    EditComment,
    OpenIssue,
    OpenPullRequest,
    PostComment,
)
from app.core.policy import Policy
from app.core.state import IncidentState

DRILL_HEADER = "🧪 **DRILL — exercise, no real impact**"
# Runbook "Dry-Run Exercises": a drill reaches the response team, never the people above it.
DRILL_QUIET_ROLES = ("senior_management", "executive_team", "legal", "platform_owner")


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
