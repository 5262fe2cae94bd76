"""The marker kinds of a resolution: phase checklists, the all-clear, a recurrence.
Registered in `app.core.markers.KINDS`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from app.core.markers.base import Marker


@dataclass(frozen=True)
class PhaseNote(Marker):
    """The checklist of a phase (`mitigating`, `monitoring`) was posted."""

    KIND: ClassVar[str] = "phase"
    phase: str


@dataclass(frozen=True)
class AllClear(Marker):
    """The all-clear of resolution `round` was posted."""

    KIND: ClassVar[str] = "all-clear"
    round: int


@dataclass(frozen=True)
class Recurrence(Marker):
    """The reopen that started `round` came inside the enhanced monitoring window."""

    KIND: ClassVar[str] = "recurrence"
    round: int
