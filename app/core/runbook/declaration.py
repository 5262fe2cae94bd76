"""Declaration: the labels, the brief, confirming a report, the security note, config problems."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from app.core import markers, messages
from app.core.actions import (
    Action,
    AddAssignees,
    AddLabels,
    DeleteComment,
    PostComment,
    RemoveLabel,
)
from app.core.commands import Status
from app.core.labels import ALERT, FLAGS, INCIDENT, SEVERITIES, STATUSES, is_incident
from app.core.policy import Policy
from app.core.runbook.roles import assignees_for, logins, unassigned
from app.core.runbook.severity import deadlines
from app.core.runbook.situation import Situation, briefed
from app.core.snapshot import Snapshot, normalised
from app.core.state import OwnNote


def labels(s: Situation) -> list[Action]:
    """The labels the state calls for put on, and stale severity, status and flag labels
    taken off."""
    present = s.snapshot.issue.labels
    wanted = {INCIDENT, s.state.severity.label, s.state.status.label}
    if s.snapshot.issue.ours and markers.of(markers.AlertIssue, s.snapshot.issue.body):
        # The label by which the next notification finds this issue again (§9).
        wanted.add(ALERT)
    wanted |= s.state.flags
    stale = sorted(
        label
        for label in present
        if (label in SEVERITIES or label in STATUSES or label in FLAGS) and label not in wanted
    )
    missing = tuple(sorted(wanted - present))
    actions: list[Action] = [AddLabels(missing)] if missing else []
    return actions + [RemoveLabel(label) for label in stale]


def declare(s: Situation) -> list[Action]:
    """The brief, once: who is assigned, the deadlines, the checklist (behaviour §2)."""
    snapshot, policy, state = s.snapshot, s.policy, s.state
    if briefed(state):
        return []
    # Unconfirmed (behaviour §8): only the incident commander is reached until someone with
    # authority confirms; the rest is assigned and told by the confirmation.
    assign = (
        assignees_for(policy, state, state.severity)
        if state.confirmed
        else logins(state.roles.get("incident_commander", []))
    )
    wanted = unassigned(snapshot, assign)
    actions: list[Action] = [AddAssignees(tuple(wanted))] if wanted else []
    respond_by, next_update = deadlines(policy, state)
    defaulted = not any(label in SEVERITIES for label in snapshot.issue.labels) and all(
        change.by == "" for change in state.severity_changes
    )
    body = messages.brief(
        policy=policy,
        severity=state.severity,
        declared_at=state.declared_at,
        respond_by=respond_by,
        next_update=next_update,
        roles=state.roles,
        defaulted=defaulted,
        security=state.security,
        public=not snapshot.repo.private,
        recurs=recurs_of(snapshot, policy, state.declared_at),
        reported_by=None if state.confirmed else _reporter(snapshot),
    )
    actions.append(PostComment(body, "brief"))
    return actions


def _reporter(snapshot: Snapshot) -> str:
    """Who declared: the first person to put an incident label on, or the issue's author."""
    for event in snapshot.events:
        label, person = event.label, not event.ours and event.actor
        if event.kind == "labeled" and label is not None and is_incident([label]) and person:
            return event.actor
    return snapshot.issue.author


def duplicate_briefs(s: Situation) -> list[Action]:
    """Every brief but the first deleted (two runs raced to declare)."""
    briefs = s.state.notes_of(markers.Brief)
    return [DeleteComment(n.comment.id, "duplicate brief") for n in briefs[1:]]


def confirmation(s: Situation) -> list[Action]:
    """A declaration that waited for someone with authority is confirmed: the severity's
    roles are assigned and reached, once (the note is what notifiers hear as the
    declaration, behaviour §8/§10)."""
    state, policy = s.state, s.policy
    if not briefed(state):
        return []
    brief = state.notes_of(markers.Brief)[0].marker
    if not brief.unconfirmed or not state.confirmed or state.notes_of(markers.Confirmed):
        return []
    if state.status is Status.RESOLVED:
        return []  # resolved before anyone confirmed it: a report dismissed, nobody paged
    wanted = unassigned(s.snapshot, assignees_for(policy, state, state.severity))
    respond_by, _ = deadlines(policy, state)
    body = messages.confirmed(
        policy=policy,
        severity=state.severity,
        by=state.confirmed_by,
        roles=state.roles,
        respond_by=respond_by,
    )
    actions: list[Action] = [AddAssignees(tuple(wanted))] if wanted else []
    return [*actions, PostComment(body, "confirmed")]


def security(s: Situation) -> list[Action]:
    """An incident flagged `security` after its brief: one note of what that changes."""
    state = s.state
    if not briefed(state) or not state.security or state.notes_of(markers.SecurityNote):
        return []
    if any(_said_security(n) for n in state.notes_of(markers.Brief)):
        return []
    body = messages.security_flagged(policy=s.policy, public=not s.snapshot.repo.private)
    return [PostComment(body, "security")]


def _said_security(brief: OwnNote[markers.Brief]) -> bool:
    """Did the brief tell responders this is a security incident? Its marker says so; a
    brief posted before the marker had the field says so only in its text."""
    return brief.marker.security or "Security incident" in brief.comment.body


def recurs_of(snapshot: Snapshot, policy: Policy, declared_at: datetime) -> list[int]:
    """Earlier incidents this one repeats: the same title or a shared `component:` label
    within `recurrence_days` before its declaration."""
    title = normalised(snapshot.issue.title)
    components = {x for x in snapshot.issue.labels if x.startswith("component:")}
    window = timedelta(days=policy.recurrence_days)
    return sorted(
        r.number
        for r in snapshot.recent
        if r.number != snapshot.issue.number
        and declared_at - window <= r.created_at <= declared_at
        and (normalised(r.title) == title or components & r.labels)
    )


def config_problems(s: Situation) -> list[Action]:
    """The repository's config problems, told once per distinct set of them."""
    problems = s.snapshot.config_problems
    if not problems:
        return []
    text = "\n".join(str(p) for p in problems)
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    if any(n.marker.digest == digest for n in s.state.notes_of(markers.ConfigProblem)):
        return []
    return [PostComment(messages.config_problem(problems, digest), "config-error")]
