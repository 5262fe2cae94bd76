"""The facts of the record, each at its GitHub timestamp and ranked within its instant: labels,
closes and reopens, commands, the app's own label events, alerts resolving, a breach's P0."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from typing import Any, NamedTuple

from app.core import commands as cmd
from app.core import markers
from app.core.commands import Status
from app.core.labels import (
    SEVERITIES,
    STATUSES,
)
from app.core.policy import Policy, Severity
from app.core.snapshot import Event, Snapshot
from app.core.state.authority import (
    contested_events,
    may_act,
    recorders,
)
from app.core.state.model import BreachRecord, CommandUse, Update


class Phase(IntEnum):
    """Which facts of one instant come first (the last is what GitHub shows)."""

    SEED = 0  # the value at declaration
    LABELS = 1  # people's label events, closes and reopens, in the record's order
    COMMANDS = 2  # authorised commands, in the order of their comments
    OWN = 3  # the app's own label events no fact explains, and a confirmed breach's P0
    ALERTS = 4  # the app's notes that every alert of the group resolved


# A confirmed breach's P0 ranks among the app's own label events of its instant, after the
# first of them and before the second, where it always ranked; kept so no state changes.
_BREACH_RANK = (Phase.OWN, 0.5)


class Fact(NamedTuple):
    at: datetime
    rank: tuple[Phase, float]
    value: Any
    who: str


class Track:
    """Facts of one dimension (severity or status), ordered by time, then by rank."""

    def __init__(self) -> None:
        self.facts: list[Fact] = []

    def add(self, at: datetime, rank: tuple[Phase, float], value: Any, who: str) -> None:
        self.facts.append(Fact(at, rank, value, who))

    def sorted(self) -> list[Fact]:
        return sorted(self.facts, key=lambda f: (f.at, f.rank))

    def value_at(self, at: datetime) -> Any:
        facts = self.sorted()
        i = bisect.bisect_right([f.at for f in facts], at)
        return facts[i - 1].value if i else None


class Ack(NamedTuple):
    at: datetime
    by: str


class Said(NamedTuple):
    """A `/breach`, `/legal notified` or `/regulator notified` as given: when, by whom, and its
    text or reference."""

    at: datetime
    by: str
    text: str


@dataclass
class Fold:
    """The facts folded so far."""

    severity: Track = field(default_factory=Track)
    status: Track = field(default_factory=Track)
    acks: list[Ack] = field(default_factory=list)
    own_events: list[Event] = field(default_factory=list)
    undone: list[Event] = field(default_factory=list)
    updates: list[Update] = field(default_factory=list)
    breaches: list[Said] = field(default_factory=list)
    legal: list[Said] = field(default_factory=list)
    regulator: list[Said] = field(default_factory=list)


def label_facts(fold: Fold, snapshot: Snapshot, policy: Policy) -> None:
    """People's `sev:` and `status:` labels, closes and reopens; the app's own events set
    aside for later, changes without authority set aside to be put back."""
    contested = {id(e) for e in contested_events(snapshot)}
    for index, event in enumerate(snapshot.events):
        if event.ours:
            fold.own_events.append(event)
            continue
        if id(event) in contested and not may_act(event.actor, snapshot, policy):
            fold.undone.append(event)
            continue
        at, rank, who, label = event.at, (Phase.LABELS, index), event.actor, event.label
        match event.kind:
            case "labeled" if label in SEVERITIES:
                fold.severity.add(at, rank, SEVERITIES[label], who)
            case "labeled" if label in STATUSES:
                fold.status.add(at, rank, STATUSES[label], who)
                fold.acks.append(Ack(at, who))
            case "closed":
                fold.status.add(at, rank, Status.RESOLVED, who)
                fold.acks.append(Ack(at, who))
            case "reopened":
                fold.status.add(at, rank, Status.INVESTIGATING, who)


def command_facts(
    fold: Fold, uses: list[CommandUse], roles: dict[str, list[str]], policy: Policy
) -> None:
    """What the authorised commands say, in the order of their comments."""
    for index, use in enumerate(uses):
        if not use.authorized:
            continue
        c, at, who = use.command, use.comment.created_at, use.comment.author
        rank = (Phase.COMMANDS, index)
        match c:
            case cmd.Ack():
                fold.acks.append(Ack(at, who))
            case cmd.SetStatus():
                _status_command(fold, rank, use, c, policy)
            case cmd.SetSeverity():
                fold.severity.add(at, rank, c.severity, who)
            case cmd.AssignRole():
                roles[c.role] = [f"@{c.login}"]
            case cmd.Breach():
                fold.breaches.append(Said(at, who, c.text))
            case cmd.LegalNotified():
                fold.legal.append(Said(at, who, c.reference))
            case cmd.RegulatorNotified():
                fold.regulator.append(Said(at, who, c.reference))


def _status_command(
    fold: Fold, rank: tuple[Phase, float], use: CommandUse, c: cmd.SetStatus, policy: Policy
) -> None:
    """A `/status` (or a template update): the status, an acknowledgement, an update, and
    the severity when it gives one."""
    at, who = use.comment.created_at, use.comment.author
    fold.status.add(at, rank, c.status, who)
    fold.acks.append(Ack(at, who))
    fold.updates.append(_update(use, c, policy))
    if c.severity is not None:
        fold.severity.add(at, rank, c.severity, who)


def _update(use: CommandUse, c: cmd.SetStatus, policy: Policy) -> Update:
    """The status update a `/status` command gives (numbered later)."""
    at = use.comment.created_at
    promised = (
        cmd.promised_time(c.fields.next_update, at, policy.business_calendar.zone)
        if c.fields.next_update
        else None
    )
    return Update(at, use.comment.author, c.status, c.text, use.comment.url, 0, c.fields, promised)


def alert_facts(fold: Fold, snapshot: Snapshot) -> None:
    """`alerts.auto_resolve`: the app's note that every alert of the group resolved is the
    fact that resolves the incident (docs/behaviour.md §9)."""
    for index, comment in enumerate(snapshot.comments):
        if comment.ours and any(n.auto for n in markers.of(markers.AlertNote, comment.body)):
            fold.status.add(comment.created_at, (Phase.ALERTS, index), Status.RESOLVED, "alerts")


def breach_record(
    fold: Fold, roles: dict[str, list[str]], policy: Policy, start: datetime
) -> BreachRecord | None:
    """The first confirmed breach, and the first time a recorder told legal of it since."""
    if not fold.breaches:
        return None
    at, who, text = min(fold.breaches, key=lambda b: b.at)
    legal = _first_told(fold.legal, recorders(policy, roles), at)
    regulator = _first_told(fold.regulator, recorders(policy, roles), at)
    # A confirmed breach is P0 (runbook: "Data breach with confirmed PII/PHI exposure").
    # Labelled before the declaration (an issue form): P0 from the declaration on.
    raised_at = max(at, start)
    if fold.severity.value_at(raised_at) is not Severity.P0:
        fold.severity.add(raised_at, _BREACH_RANK, Severity.P0, who)
    return BreachRecord(
        at,
        who,
        text,
        legal_at=legal.at if legal else None,
        legal_by=legal.by if legal else "",
        reference=legal.text if legal else "",
        regulator_at=regulator.at if regulator else None,
        regulator_by=regulator.by if regulator else "",
        regulator_reference=regulator.text if regulator else "",
    )


def _first_told(said: list[Said], logins: set[str], since: datetime) -> Said | None:
    """The first recording by one of `logins` since the breach: later ones change nothing."""
    told = [x for x in said if x.by.lower() in logins and x.at >= since]
    return min(told, key=lambda x: x.at) if told else None


def own_label_facts(fold: Fold) -> None:
    """The app's own label events stand only where no fact explains them (cause deleted)."""
    for index, event in enumerate(fold.own_events):
        if event.kind != "labeled":
            continue
        rank, label = (Phase.OWN, index), event.label
        if label in SEVERITIES and fold.severity.value_at(event.at) != SEVERITIES[label]:
            fold.severity.add(event.at, rank, SEVERITIES[label], event.actor)
        if label in STATUSES and fold.status.value_at(event.at) != STATUSES[label]:
            fold.status.add(event.at, rank, STATUSES[label], event.actor)
            fold.acks.append(Ack(event.at, event.actor))  # someone's status command, deleted
