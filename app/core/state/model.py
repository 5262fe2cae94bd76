"""The incident's state as the folds leave it: its changes, updates, roles, notes, breach."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, NamedTuple, TypeVar

from app.core import commands as cmd
from app.core import markers
from app.core.commands import Status
from app.core.labels import (
    DRILL,
    SECURITY,
)
from app.core.policy import Severity
from app.core.snapshot import Comment, Event

T = TypeVar("T")


M = TypeVar("M", bound=markers.Marker)


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


@dataclass(frozen=True)
class OwnNote(Generic[M]):
    """One of the app's own comments and the marker it carries."""

    marker: M
    comment: Comment


@dataclass(frozen=True)
class BreachRecord:
    """A confirmed data breach: when and by whom, and when legal and the regulator were told
    (runbook "Data Breach Response": notify legal team within 1 hour of confirmed breach),
    as the first `/legal notified` and `/regulator notified` of a recorder since."""

    at: datetime
    by: str
    text: str = ""
    legal_at: datetime | None = None
    legal_by: str = ""
    reference: str = ""
    regulator_at: datetime | None = None
    regulator_by: str = ""
    regulator_reference: str = ""


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
