"""Severity: its clocks (respond by, next update) and announcing a change of it."""

from __future__ import annotations

from datetime import datetime

from app.core import markers, messages
from app.core.actions import Action, AddAssignees, PostComment
from app.core.policy import Policy, Severity
from app.core.runbook.roles import assignees_for, unassigned
from app.core.runbook.situation import Situation, briefed
from app.core.state import IncidentState


def deadlines(policy: Policy, state: IncidentState) -> tuple[datetime, datetime]:
    """(respond by, when the first update is due) for the current severity."""
    sp = policy.for_severity(state.severity)
    respond_by = sp.respond_within.after(state.severity_since, policy.business_calendar)
    _, first_due, _ = next_update(policy, state)
    return respond_by, first_due


def next_update(policy: Policy, state: IncidentState) -> tuple[datetime, datetime, bool]:
    """(anchor, when the next update is first due, whether a promise set it).

    The severity's cadence is the most that may pass (runbook: "Communication: updates
    every …"); an update's `Next Update:` earlier than that moves the next one forward,
    a later one never stretches it.
    """
    sp = policy.for_severity(state.severity)
    anchor = max(state.severity_since, state.last_update_at or state.severity_since)
    due = sp.update_every.after(anchor, policy.business_calendar)
    latest = state.updates[-1] if state.updates else None
    promised = latest.promised if latest is not None and latest.at == anchor else None
    if promised is not None and anchor < promised < due:
        return anchor, promised, True
    return anchor, due, False


def announced(state: IncidentState) -> tuple[Severity | None, set[str]]:
    """The severity the app last announced, and the severities whose checklist it posted."""
    last: Severity | None = None
    lists: set[str] = set()
    for note in state.notes:
        if isinstance(note.marker, markers.Brief | markers.SeverityNote):
            try:
                last = Severity(note.marker.severity)
            except ValueError:
                continue
            if note.marker.checklist:
                lists.add(note.marker.checklist)
    return last, lists


def severity_change(s: Situation) -> list[Action]:
    """A severity other than the one last announced: the new roles assigned, and a note with
    the new deadlines (and the severity's checklist, the first time)."""
    state, policy = s.state, s.policy
    if not briefed(state):
        return []
    last, lists = announced(state)
    if last is None or last is state.severity:
        return []
    if state.breach is not None and not state.notes_of(markers.BreachNote):
        return []  # the breach note says it, in one comment
    wanted = unassigned(s.snapshot, assignees_for(policy, state, state.severity))
    respond_by, first_update = deadlines(policy, state)
    body = messages.severity_changed(
        policy=policy,
        old=last,
        new=state.severity,
        by=state.severity_changes[-1].by,
        respond_by=respond_by,
        next_update=first_update,
        assigned=[f"@{login}" for login in wanted],
        with_checklist=state.severity.value not in lists,
    )
    actions: list[Action] = [AddAssignees(tuple(wanted))] if wanted else []
    return [*actions, PostComment(body, "severity")]
