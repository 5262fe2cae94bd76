"""`derive`: the record folded into the incident's state, in GitHub's time order."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any, TypeVar

from app.core import markers
from app.core.commands import Status
from app.core.labels import (
    BREACH,
    FLAGS,
    SECURITY,
    SEVERITIES,
    STATUSES,
    is_incident,
)
from app.core.policy import Policy
from app.core.snapshot import Snapshot
from app.core.state.authority import (
    briefed_at,
    command_uses,
    confirmation,
)
from app.core.state.facts import (
    Fact,
    Fold,
    Phase,
    Said,
    alert_facts,
    breach_record,
    command_facts,
    label_facts,
    own_label_facts,
)
from app.core.state.model import Change, IncidentState, OwnNote

T = TypeVar("T")


def declared_at(snapshot: Snapshot) -> datetime:
    """When GitHub recorded the first incident label, or the issue's creation."""
    times = [
        e.at
        for e in snapshot.events
        if e.kind == "labeled" and not e.ours and e.label is not None and is_incident([e.label])
    ]
    return min(times) if times else snapshot.issue.created_at


def derive(snapshot: Snapshot, policy: Policy) -> IncidentState | None:
    """Fold the record into the incident's state; None when the issue is no incident."""
    issue = snapshot.issue
    if issue.is_pull_request:
        return None
    if not is_incident(issue.labels) and not (issue.state == "open" and briefed_at(snapshot)):
        # An open issue that carries the app's brief stays an incident whatever its labels,
        # so they can be put back (behaviour §8): only closing or resolving ends it.
        return None
    start = declared_at(snapshot)
    fold = Fold()
    seed = (Phase.SEED, 0)
    fold.severity.add(start, seed, _seed(snapshot, SEVERITIES, policy.default_severity), "")
    fold.status.add(start, seed, _seed(snapshot, STATUSES, Status.INVESTIGATING), "")
    label_facts(fold, snapshot, policy)
    uses = command_uses(snapshot, policy)
    roles = {role: policy.holders(role) for role in policy.roles}
    undone_ids = {id(e) for e in fold.undone}
    fold.breaches = [
        Said(e.at, e.actor, "")
        for e in snapshot.events
        if e.kind == "labeled" and e.label == BREACH and not e.ours and id(e) not in undone_ids
    ]
    flags, security_ever = _flags(snapshot, undone_ids)
    command_facts(fold, uses, roles, policy)
    alert_facts(fold, snapshot)
    breach = breach_record(fold, roles, policy, start)
    own_label_facts(fold)

    first_ack = min(fold.acks, key=lambda a: a.at) if fold.acks else None
    notes = [
        OwnNote(marker, comment)
        for comment in snapshot.comments
        if comment.ours
        for marker in markers.parse(comment.body)
    ]
    return IncidentState(
        declared_at=start,
        acked_at=first_ack.at if first_ack else None,
        acked_by=first_ack.by if first_ack else None,
        updates=[
            replace(u, number=n) for n, u in enumerate(sorted(fold.updates, key=lambda u: u.at), 1)
        ],
        roles=roles,
        uses=uses,
        notes=sorted(notes, key=lambda n: (n.comment.created_at, n.comment.id)),
        severity_changes=_changes(fold.severity.sorted()),
        status_changes=_changes(fold.status.sorted()),
        undone=fold.undone,
        breach=breach,
        flags=flags,
        security_ever=security_ever,
        **confirmation(snapshot, policy, uses, start),
    )


def _flags(snapshot: Snapshot, undone: set[int]) -> tuple[frozenset[str], bool]:
    """(the flag labels the issue should carry, whether `security` ever counted).

    Each flag follows its label events but those put back; the app's own label events count
    too (it labels a scheduled drill, and puts back what was changed without authority). A
    flag without any event on record (an unread timeline) is as the labels show it.
    """
    wanted: set[str] = set()
    security_ever = False
    for label in FLAGS:
        changes = [
            e
            for e in snapshot.events
            if e.label == label and e.kind in ("labeled", "unlabeled") and id(e) not in undone
        ]
        recorded = any(e.label == label for e in snapshot.events)
        present = label in snapshot.issue.labels if not recorded else False
        ever = present
        for event in changes:
            present = event.kind == "labeled"
            ever = ever or present
        if present:
            wanted.add(label)
        if label == SECURITY:
            security_ever = ever
    return frozenset(wanted), security_ever


def _seed(snapshot: Snapshot, labels: dict[str, T], default: T) -> T:
    """The value at declaration: the default, unless the record has no event for a label the
    issue carries (a truncated or unread timeline): then the current label, most severe first."""
    if any(e.label in labels for e in snapshot.events if e.kind == "labeled"):
        return default
    current = sorted(label for label in snapshot.issue.labels if label in labels)
    return labels[current[0]] if current else default


def _changes(facts: list[Fact]) -> list[Change[Any]]:
    """The moments the value changed, the first fact included."""
    out: list[Change[Any]] = []
    for at, _, value, who in facts:
        if out and out[-1].at == at:
            out.pop()  # facts of the same instant: the last one is what GitHub shows
        if not out or out[-1].value != value:
            out.append(Change(at, value, who))
    return out
