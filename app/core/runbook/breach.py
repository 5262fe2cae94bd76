"""Breach: a confirmed data breach is P0, with legal and the security officer told at once
(runbook "Data Breach Response"); its deadlines are escalation steps (`escalation`)."""

from __future__ import annotations

from datetime import datetime

from app.core import markers, messages
from app.core.actions import Action, AddAssignees, PostComment
from app.core.policy import Policy, Severity
from app.core.runbook.escalation import breach_schedule, posted_steps
from app.core.runbook.reach import reaches
from app.core.runbook.roles import assignees_for, unassigned
from app.core.runbook.severity import announced
from app.core.runbook.situation import Situation, briefed
from app.core.state import IncidentState


def breach(s: Situation) -> list[Action]:
    """A confirmed data breach: P0, legal and the security officer told at once, with the
    deadline to notify legal (runbook "Data Breach Response")."""
    snapshot, policy, state = s.snapshot, s.policy, s.state
    record = state.breach
    if record is None or state.notes_of(markers.BreachNote):
        return []
    if not state.confirmed:
        return []  # legal and the security officer are reached once someone confirms (§8)
    cal = policy.business_calendar
    before = [c.value for c in state.severity_changes if c.at < record.at]
    raised = before[-1] if before and before[-1] is not Severity.P0 else None
    if state.severity is not Severity.P0:
        raised = None  # lowered again since the breach, before this note: it says so instead
    _, lists = announced(state)
    wanted = unassigned(snapshot, assignees_for(policy, state, Severity.P0))
    regulator = policy.breach.regulator_within
    body = messages.breach_confirmed(
        policy=policy,
        by=record.by,
        text=record.text,
        raised_from=raised,
        legal_by=policy.breach.legal_within.after(record.at, cal),
        regulator_by=regulator.after(record.at, cal) if regulator else None,
        targets=reaches(policy.breach.notify, policy, s.now, state.roles),
        assigned=[f"@{login}" for login in wanted],
        # A brief in this same plan carries the P0 checklist already.
        with_checklist=briefed(state) and "P0" not in lists,
        public=not snapshot.repo.private,
        severity=state.severity,
    )
    actions: list[Action] = [AddAssignees(tuple(wanted))] if wanted and briefed(state) else []
    return [*actions, PostComment(body, "breach")]


def breach_open(state: IncidentState, policy: Policy) -> bool:
    """Is a breach's recording still outstanding: legal's, or the regulator's when the policy
    sets its deadline? Resolving the incident does not close it (behaviour §4)."""
    record = state.breach
    if record is None:
        return False
    regulator_due = policy.breach.regulator_within is not None
    return record.legal_at is None or (regulator_due and record.regulator_at is None)


def breach_due(state: IncidentState, policy: Policy) -> datetime | None:
    """When the breach's next deadline step not yet posted falls due, however long after the
    incident was resolved; None when no more can come. Whoever revisits closed incidents
    (the tick, wake-ups) revisits this one at that time."""
    posted, _ = posted_steps(state)
    return min((s.due for s in breach_schedule(policy, state) if s.id not in posted), default=None)
