"""The declaration's marker kinds: the brief, its confirmation, severity and security notes, the
breach announcement. Registered in `app.core.markers.KINDS`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from app.core.markers.base import Marker


@dataclass(frozen=True)
class Brief(Marker):
    """The incident's one brief: the severity announced and whose checklist it carried."""

    KIND: ClassVar[str] = "brief"
    severity: str
    checklist: str | None = None
    recurs: tuple[str, ...] = ()  # earlier incidents this one repeats (issue numbers)
    # Declared by someone without authority where that needs confirming (behaviour §8): only
    # the incident commander was reached; a `Confirmed` note reaches the rest.
    unconfirmed: bool = False
    # The brief said it is a security incident (rendered only then). Briefs posted before
    # this field existed say so only in their text.
    security: bool = False


@dataclass(frozen=True)
class Confirmed(Marker):
    """An unconfirmed declaration confirmed by someone with authority: the roles reached."""

    KIND: ClassVar[str] = "confirmed"
    by: str


@dataclass(frozen=True)
class SeverityNote(Marker):
    """A severity change announced; `checklist` when the new severity's list was posted."""

    KIND: ClassVar[str] = "severity"
    severity: str
    checklist: str | None = None


@dataclass(frozen=True)
class SecurityNote(Marker):
    KIND: ClassVar[str] = "security"


@dataclass(frozen=True)
class BreachNote(Marker):
    """A confirmed data breach was announced to legal and the security officer."""

    KIND: ClassVar[str] = "breach"
