"""Resolution: open or closed as the status says, the phases' checklists, the all-clear,
and a reopen inside the monitoring window as a recurrence."""

from __future__ import annotations

import itertools
from datetime import datetime

from app.core import commands as cmd
from app.core import markers, messages
from app.core.actions import Action, PostComment, SetState
from app.core.commands import Status
from app.core.runbook.situation import Situation
from app.core.state import IncidentState


def open_or_closed(s: Situation) -> list[Action]:
    """Closed while resolved, open while not."""
    resolved = s.state.status is Status.RESOLVED
    if resolved and s.snapshot.issue.state == "open":
        return [SetState("closed", "completed")]
    if not resolved and s.snapshot.issue.state == "closed":
        return [SetState("open", "reopened")]
    return []


def phase(s: Situation) -> list[Action]:
    """The first time the incident is mitigating (or monitoring), that phase's checklist
    (runbook "Fix Implementation", "Service Recovery") — for the phase it is in now only."""
    now_in = s.state.status.value
    phases = s.policy.phases
    items = {"mitigating": phases.mitigating, "monitoring": phases.monitoring}
    if not items.get(now_in) or any(
        n.marker.phase == now_in for n in s.state.notes_of(markers.PhaseNote)
    ):
        return []
    return [PostComment(messages.phase_checklist(phase=now_in, items=items[now_in]), "phase")]


def resolutions(state: IncidentState) -> list[datetime]:
    """When the incident was resolved, each time."""
    return [c.at for c in state.status_changes if c.value is Status.RESOLVED]


def all_clear(s: Situation) -> list[Action]:
    """Runbook "Post-Incident Activities": an official all-clear once per resolution, to
    everyone who took part, with the enhanced monitoring window."""
    snapshot, policy, state = s.snapshot, s.policy, s.state
    if state.status is not Status.RESOLVED:
        return []
    resolved = resolutions(state)
    number = len(resolved)
    if any(n.marker.round == number for n in state.notes_of(markers.AllClear)):
        return []
    resolved_at = resolved[-1]
    people = [*(f"@{a}" for a in sorted(snapshot.issue.assignees))]
    people += [
        f"@{c.author}"
        for c in sorted(snapshot.comments, key=lambda c: c.created_at)
        if not c.ours and not c.author_is_bot and c.author
    ]
    people += [
        f"@{use.command.login}"
        for use in state.uses
        if use.authorized and isinstance(use.command, cmd.AssignRole)
    ]
    unique = list(dict.fromkeys(p.lower() for p in people))[:20]
    body = messages.all_clear(
        policy=policy,
        severity=state.severity,
        declared_at=state.declared_at,
        resolved_at=resolved_at,
        participants=unique,
        monitor_until=policy.phases.enhanced_monitoring.after(
            resolved_at, policy.business_calendar
        ),
        round=number,
    )
    return [PostComment(body, "all-clear")]


def recurrence(s: Situation) -> list[Action]:
    """A reopen inside the enhanced monitoring window after a resolution is a recurrence."""
    policy, state = s.policy, s.state
    if state.status is Status.RESOLVED:
        return []
    reopens = [
        (resolved.at, reopened.at)
        for resolved, reopened in itertools.pairwise(state.status_changes)
        if resolved.value is Status.RESOLVED and reopened.value is not Status.RESOLVED
    ]
    if not reopens:
        return []
    resolved_at, reopened_at = reopens[-1]
    number = len(reopens) + 1  # the round this reopen started
    window = policy.phases.enhanced_monitoring.after(resolved_at, policy.business_calendar)
    if reopened_at > window or any(
        n.marker.round == number for n in state.notes_of(markers.Recurrence)
    ):
        return []
    body = messages.recurrence(
        policy=policy, resolved_at=resolved_at, reopened_at=reopened_at, round=number
    )
    return [PostComment(body, "recurrence")]
