"""The incident's state, folded from GitHub's record in GitHub's time order (pure).

Facts are label events, closing and reopening, and authorised command comments, each at
its GitHub timestamp. The app's own label events are consequences of facts, so they count
only when their cause is gone (a deleted command comment): deleting a command never undoes
it, and deliveries arriving out of order cannot reorder facts. See README "State machine".
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import IntEnum
from typing import Any, Generic, NamedTuple, TypeVar

from app.core import commands as cmd
from app.core import markers
from app.core.commands import Status
from app.core.labels import (
    BREACH,
    DRILL,
    FLAGS,
    INCIDENT,
    SECURITY,
    SEVERITIES,
    STATUSES,
    is_incident,
)
from app.core.policy import Confirm, Policy, Severity
from app.core.snapshot import Comment, Event, Snapshot

T = TypeVar("T")


class Change(NamedTuple, Generic[T]):
    """A moment the incident's severity or status changed: when, to what, and by whom
    (empty for the value at declaration, "alerts" for alerts that all resolved)."""

    at: datetime
    value: T
    by: str


@dataclass(frozen=True)
class CommandUse:
    """A command as given in a comment, and whether its author may give it."""

    comment: Comment
    command: cmd.Command
    authorized: bool


@dataclass(frozen=True)
class Update:
    """A status update: a `/status` command or a comment in the runbook's template, with
    every field it gave; numbered #1, #2, … in GitHub's order, whatever number was typed."""

    at: datetime
    author: str
    status: Status
    text: str
    url: str
    number: int = 0
    fields: cmd.UpdateFields = field(default_factory=cmd.UpdateFields)
    promised: datetime | None = None  # its `Next Update:` as a time, when it gives one

    @property
    def impact(self) -> str:
        return self.fields.impact or self.text


M = TypeVar("M", bound=markers.Marker)


@dataclass(frozen=True)
class OwnNote(Generic[M]):
    """One of the app's own comments and the marker it carries."""

    marker: M
    comment: Comment


@dataclass(frozen=True)
class BreachRecord:
    """A confirmed data breach: when and by whom, and when legal was told (runbook "Data
    Breach Response": notify legal team within 1 hour of confirmed breach)."""

    at: datetime
    by: str
    text: str = ""
    legal_at: datetime | None = None
    legal_by: str = ""
    reference: str = ""


@dataclass
class IncidentState:
    declared_at: datetime
    # Every change, the value at declaration first: never empty.
    severity_changes: list[Change[Severity]]
    status_changes: list[Change[Status]]
    acked_at: datetime | None = None
    acked_by: str | None = None
    updates: list[Update] = field(default_factory=list)
    roles: dict[str, list[str]] = field(default_factory=dict)
    uses: list[CommandUse] = field(default_factory=list)
    notes: list[OwnNote[markers.Marker]] = field(default_factory=list)
    # Changes by people without authority: not facts; the app puts things back and says why.
    undone: list[Event] = field(default_factory=list)
    breach: BreachRecord | None = None
    # The flag labels (`breach`, `drill`, `security`) the issue should carry: the last change
    # of each by someone entitled to make it.
    flags: frozenset[str] = frozenset()
    # Sensitivity is sticky: once `security` counted, the incident stays a security incident
    # for its review and its notifiers, whoever removes the label later.
    security_ever: bool = False
    # When someone with authority first touched the incident (a command, a label, a close);
    # the declaration itself when no confirmation is needed (behaviour §8).
    confirmed_at: datetime | None = None
    confirmed_by: str = ""

    @property
    def severity(self) -> Severity:
        return self.severity_changes[-1].value

    @property
    def severity_since(self) -> datetime:
        return self.severity_changes[-1].at

    @property
    def status(self) -> Status:
        return self.status_changes[-1].value

    @property
    def status_since(self) -> datetime:
        return self.status_changes[-1].at

    @property
    def drill(self) -> bool:
        return DRILL in self.flags

    @property
    def security(self) -> bool:
        return SECURITY in self.flags

    @property
    def sensitive(self) -> bool:
        """A security incident or a data breach, now or ever."""
        return self.security_ever or self.breach is not None

    @property
    def confirmed(self) -> bool:
        return self.confirmed_at is not None

    @property
    def paged(self) -> bool:
        """Did the app's record reach everyone: a brief posted confirmed, or a `Confirmed`
        note? Until then no notifier hears of the incident (behaviour §8)."""
        return bool(self.notes_of(markers.Confirmed)) or any(
            not n.marker.unconfirmed for n in self.notes_of(markers.Brief)
        )

    @property
    def last_update_at(self) -> datetime | None:
        return self.updates[-1].at if self.updates else None

    def notes_of(self, kind: type[M]) -> list[OwnNote[M]]:
        return [OwnNote(n.marker, n.comment) for n in self.notes if isinstance(n.marker, kind)]


class _Phase(IntEnum):
    """Which facts of one instant come first (the last is what GitHub shows)."""

    SEED = 0  # the value at declaration
    LABELS = 1  # people's label events, closes and reopens, in the record's order
    COMMANDS = 2  # authorised commands, in the order of their comments
    OWN = 3  # the app's own label events no fact explains, and a confirmed breach's P0
    ALERTS = 4  # the app's notes that every alert of the group resolved


# A confirmed breach's P0 ranks among the app's own label events of its instant, after the
# first of them and before the second, where it always ranked; kept so no state changes.
_BREACH_RANK = (_Phase.OWN, 0.5)


class _Fact(NamedTuple):
    at: datetime
    rank: tuple[_Phase, float]
    value: Any
    who: str


class _Track:
    """Facts of one dimension (severity or status), ordered by time, then by rank."""

    def __init__(self) -> None:
        self.facts: list[_Fact] = []

    def add(self, at: datetime, rank: tuple[_Phase, float], value: Any, who: str) -> None:
        self.facts.append(_Fact(at, rank, value, who))

    def sorted(self) -> list[_Fact]:
        return sorted(self.facts, key=lambda f: (f.at, f.rank))

    def value_at(self, at: datetime) -> Any:
        facts = self.sorted()
        i = bisect.bisect_right([f.at for f in facts], at)
        return facts[i - 1].value if i else None


class _Ack(NamedTuple):
    at: datetime
    by: str


class _Said(NamedTuple):
    """A `/breach` or `/legal-notified` as given: when, by whom, and its text or reference."""

    at: datetime
    by: str
    text: str


@dataclass
class _Fold:
    """The facts folded so far."""

    severity: _Track = field(default_factory=_Track)
    status: _Track = field(default_factory=_Track)
    acks: list[_Ack] = field(default_factory=list)
    own_events: list[Event] = field(default_factory=list)
    undone: list[Event] = field(default_factory=list)
    updates: list[Update] = field(default_factory=list)
    breaches: list[_Said] = field(default_factory=list)
    legal: list[_Said] = field(default_factory=list)


def authorized(comment: Comment, snapshot: Snapshot, policy: Policy) -> bool:
    """May this comment's author give commands? (behaviour §3: write access, or the roster)."""
    if comment.ours or comment.author_is_bot:
        return False
    login = comment.author.lower()
    return login in snapshot.authorized or login in policy.roster_logins


def may_act(login: str, snapshot: Snapshot, policy: Policy) -> bool:
    """May this person change an incident's severity or status? (as for commands)"""
    return login.lower() in snapshot.authorized or login.lower() in policy.roster_logins


def briefed_at(snapshot: Snapshot) -> datetime | None:
    """When the app posted its brief (its own comment with the brief's marker), if it did."""
    return min(
        (c.created_at for c in snapshot.comments if c.ours and markers.of(markers.Brief, c.body)),
        default=None,
    )


_CONTESTED_ADDS = frozenset({*SEVERITIES, *STATUSES, *FLAGS})
# Labels whose putting on by someone with authority confirms a declaration: the incident's
# own labels too (a maintainer labelling `incident` has touched it), never a removal.
_CONFIRMING = frozenset({INCIDENT, *_CONTESTED_ADDS})
_CONTESTED_REMOVALS = frozenset({*FLAGS, INCIDENT})


def contested_events(snapshot: Snapshot) -> list[Event]:
    """What only responders may do: people's closes and reopens, and after the app's brief
    their `sev:`, `status:` and flag labels, and removing `incident`, the last `sev:` label or
    a flag label.

    Labels set until the app's brief are the declaration, whoever set them (an issue form
    may label for its author); only later changes need authority.
    """
    briefed = briefed_at(snapshot)
    found = []
    present: set[str] = set()
    for event in snapshot.events:
        label = event.label
        if label is not None and event.kind == "labeled":
            present.add(label)
        elif label is not None and event.kind == "unlabeled":
            present.discard(label)
        if event.ours:
            continue
        if event.kind in ("closed", "reopened"):
            found.append(event)
        elif briefed is None or event.at <= briefed or label is None:
            continue
        elif (event.kind == "labeled" and label in _CONTESTED_ADDS) or (
            event.kind == "unlabeled"
            and (
                label in _CONTESTED_REMOVALS
                or (label in SEVERITIES and not present & SEVERITIES.keys())
            )
        ):
            found.append(event)
    return found


def needs_confirmation(snapshot: Snapshot, policy: Policy) -> bool:
    """Does a declaration here wait for someone with authority before it pages? Issues the
    app opened itself (alerts, scheduled drills) never do."""
    confirm = policy.declarations.confirm
    if snapshot.issue.ours or confirm is Confirm.NEVER:
        return False
    return confirm is Confirm.ALWAYS or not snapshot.repo.private


def label_actors(snapshot: Snapshot) -> set[str]:
    """People whose label changes may confirm a declaration (their authority is read)."""
    return {e.actor for e in snapshot.events if not e.ours and e.actor and e.label is not None}


def command_uses(snapshot: Snapshot, policy: Policy) -> list[CommandUse]:
    """Every command in every human comment as first posted, oldest first."""
    uses: list[CommandUse] = []
    for comment in sorted(snapshot.comments, key=lambda c: (c.created_at, c.id)):
        if comment.ours or comment.author_is_bot or comment.edited:
            continue
        ok = authorized(comment, snapshot, policy)
        uses.extend(CommandUse(comment, c, ok) for c in cmd.parse(comment.body))
    return uses


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
    fold = _Fold()
    seed = (_Phase.SEED, 0)
    fold.severity.add(start, seed, _seed(snapshot, SEVERITIES, policy.default_severity), "")
    fold.status.add(start, seed, _seed(snapshot, STATUSES, Status.INVESTIGATING), "")
    _label_facts(fold, snapshot, policy)
    uses = command_uses(snapshot, policy)
    roles = {role: policy.holders(role) for role in policy.roles}
    undone_ids = {id(e) for e in fold.undone}
    fold.breaches = [
        _Said(e.at, e.actor, "")
        for e in snapshot.events
        if e.kind == "labeled" and e.label == BREACH and not e.ours and id(e) not in undone_ids
    ]
    flags, security_ever = _flags(snapshot, undone_ids)
    _command_facts(fold, uses, roles, policy)
    _alert_facts(fold, snapshot)
    breach = _breach(fold, roles, policy, start)
    _own_label_facts(fold)

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
        **_confirmation(snapshot, policy, uses, start),
    )


def _label_facts(fold: _Fold, snapshot: Snapshot, policy: Policy) -> None:
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
        at, rank, who, label = event.at, (_Phase.LABELS, index), event.actor, event.label
        match event.kind:
            case "labeled" if label in SEVERITIES:
                fold.severity.add(at, rank, SEVERITIES[label], who)
            case "labeled" if label in STATUSES:
                fold.status.add(at, rank, STATUSES[label], who)
                fold.acks.append(_Ack(at, who))
            case "closed":
                fold.status.add(at, rank, Status.RESOLVED, who)
                fold.acks.append(_Ack(at, who))
            case "reopened":
                fold.status.add(at, rank, Status.INVESTIGATING, who)


def _command_facts(
    fold: _Fold, uses: list[CommandUse], roles: dict[str, list[str]], policy: Policy
) -> None:
    """What the authorised commands say, in the order of their comments."""
    for index, use in enumerate(uses):
        if not use.authorized:
            continue
        c, at, who = use.command, use.comment.created_at, use.comment.author
        rank = (_Phase.COMMANDS, index)
        match c:
            case cmd.Ack():
                fold.acks.append(_Ack(at, who))
            case cmd.SetStatus():
                _status_command(fold, rank, use, c, policy)
            case cmd.SetSeverity():
                fold.severity.add(at, rank, c.severity, who)
            case cmd.AssignRole():
                roles[c.role] = [f"@{c.login}"]
            case cmd.Breach():
                fold.breaches.append(_Said(at, who, c.text))
            case cmd.LegalNotified():
                fold.legal.append(_Said(at, who, c.reference))


def _status_command(
    fold: _Fold, rank: tuple[_Phase, float], use: CommandUse, c: cmd.SetStatus, policy: Policy
) -> None:
    """A `/status` (or a template update): the status, an acknowledgement, an update, and
    the severity when it gives one."""
    at, who = use.comment.created_at, use.comment.author
    fold.status.add(at, rank, c.status, who)
    fold.acks.append(_Ack(at, who))
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


def _alert_facts(fold: _Fold, snapshot: Snapshot) -> None:
    """`alerts.auto_resolve`: the app's note that every alert of the group resolved is the
    fact that resolves the incident (docs/behaviour.md §9)."""
    for index, comment in enumerate(snapshot.comments):
        if comment.ours and any(n.auto for n in markers.of(markers.AlertNote, comment.body)):
            fold.status.add(comment.created_at, (_Phase.ALERTS, index), Status.RESOLVED, "alerts")


def _breach(
    fold: _Fold, roles: dict[str, list[str]], policy: Policy, start: datetime
) -> BreachRecord | None:
    """The first confirmed breach, and the first time a recorder told legal of it since."""
    if not fold.breaches:
        return None
    at, who, text = min(fold.breaches, key=lambda b: b.at)
    recorders = {m[1:].lower() for role in policy.breach.recorders for m in roles.get(role, [])}
    told = [x for x in fold.legal if x.by.lower() in recorders and x.at >= at]
    first = min(told, key=lambda x: x.at) if told else None
    # A confirmed breach is P0 (runbook: "Data breach with confirmed PII/PHI exposure").
    # Labelled before the declaration (an issue form): P0 from the declaration on.
    raised_at = max(at, start)
    if fold.severity.value_at(raised_at) is not Severity.P0:
        fold.severity.add(raised_at, _BREACH_RANK, Severity.P0, who)
    return BreachRecord(
        at,
        who,
        text,
        legal_at=first.at if first else None,
        legal_by=first.by if first else "",
        reference=first.text if first else "",
    )


def _own_label_facts(fold: _Fold) -> None:
    """The app's own label events stand only where no fact explains them (cause deleted)."""
    for index, event in enumerate(fold.own_events):
        if event.kind != "labeled":
            continue
        rank, label = (_Phase.OWN, index), event.label
        if label in SEVERITIES and fold.severity.value_at(event.at) != SEVERITIES[label]:
            fold.severity.add(event.at, rank, SEVERITIES[label], event.actor)
        if label in STATUSES and fold.status.value_at(event.at) != STATUSES[label]:
            fold.status.add(event.at, rank, STATUSES[label], event.actor)
            fold.acks.append(_Ack(event.at, event.actor))  # someone's status command, deleted


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


def _confirmation(
    snapshot: Snapshot, policy: Policy, uses: list[CommandUse], declared: datetime
) -> dict[str, Any]:
    """When and by whom the declaration was confirmed (behaviour §8): the declaration itself
    where no confirmation is needed; the app's own record of it (a brief posted confirmed, a
    `Confirmed` note), which stays whatever happens to its cause; else the first command, or
    `sev:`, `status:` or flag label put on, by someone with authority since the declaration.
    Closing it or taking its labels off dismisses a report rather than confirming it."""
    if not needs_confirmation(snapshot, policy):
        return {"confirmed_at": declared, "confirmed_by": ""}
    for comment in sorted(snapshot.comments, key=lambda c: (c.created_at, c.id)):
        if not comment.ours:
            continue
        for marker in markers.parse(comment.body):
            if isinstance(marker, markers.Confirmed):
                return {"confirmed_at": comment.created_at, "confirmed_by": marker.by}
            if isinstance(marker, markers.Brief) and not marker.unconfirmed:
                return {"confirmed_at": comment.created_at, "confirmed_by": ""}
    found = [
        (e.at, e.actor)
        for e in snapshot.events
        if not e.ours
        and e.actor
        and e.at >= declared
        and e.kind == "labeled"
        and e.label in _CONFIRMING
        and may_act(e.actor, snapshot, policy)
    ]
    found += [
        (use.comment.created_at, use.comment.author)
        for use in uses
        if use.authorized
        and use.comment.created_at >= declared
        and not isinstance(use.command, cmd.Invalid | cmd.Help)
    ]
    if not found:
        return {"confirmed_at": None, "confirmed_by": ""}
    at, who = min(found, key=lambda f: f[0])
    return {"confirmed_at": at, "confirmed_by": who}


def _seed(snapshot: Snapshot, labels: dict[str, T], default: T) -> T:
    """The value at declaration: the default, unless the record has no event for a label the
    issue carries (a truncated or unread timeline): then the current label, most severe first."""
    if any(e.label in labels for e in snapshot.events if e.kind == "labeled"):
        return default
    current = sorted(label for label in snapshot.issue.labels if label in labels)
    return labels[current[0]] if current else default


def _changes(facts: list[_Fact]) -> list[Change[Any]]:
    """The moments the value changed, the first fact included."""
    out: list[Change[Any]] = []
    for at, _, value, who in facts:
        if out and out[-1].at == at:
            out.pop()  # facts of the same instant: the last one is what GitHub shows
        if not out or out[-1].value != value:
            out.append(Change(at, value, who))
    return out
