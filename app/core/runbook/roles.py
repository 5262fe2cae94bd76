"""Roles: whom the severity assigns, and handing a role over (`/assign`)."""

from __future__ import annotations

from app.core import commands as cmd
from app.core.actions import Action, AddAssignees, RemoveAssignees
from app.core.policy import Policy, Severity
from app.core.snapshot import Snapshot
from app.core.state import IncidentState


def logins(mentions: list[str]) -> list[str]:
    """Assignable logins among mentions (teams cannot be assigned)."""
    return [m[1:] for m in mentions if m.startswith("@") and "/" not in m]


def assignees_for(policy: Policy, state: IncidentState, severity: Severity) -> list[str]:
    """The logins holding the roles the severity assigns, each once."""
    found: list[str] = []
    for role in policy.for_severity(severity).assign:
        found += logins(state.roles.get(role, []))
    return list(dict.fromkeys(found))


def unassigned(snapshot: Snapshot, wanted: list[str]) -> list[str]:
    """Those of `wanted` the issue is not assigned to yet."""
    assigned = {a.lower() for a in snapshot.issue.assignees}
    return [login for login in wanted if login.lower() not in assigned]


def hand_over(
    snapshot: Snapshot, holders: dict[str, list[str]], command: cmd.AssignRole
) -> list[Action]:
    """Assign the role's new holder; unassign the old one if they hold no other role."""
    assignees = {a.lower() for a in snapshot.issue.assignees}
    others = {m.lower() for role, held in holders.items() if role != command.role for m in held}
    actions: list[Action] = []
    if command.login.lower() not in assignees:
        actions.append(AddAssignees((command.login,)))
    leaving = [
        login
        for login in logins(holders.get(command.role, []))
        if login.lower() != command.login.lower()
        and login.lower() in assignees
        and f"@{login}".lower() not in others
    ]
    return actions + ([RemoveAssignees(tuple(leaving))] if leaving else [])
