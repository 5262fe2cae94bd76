"""The marker kinds of the tick's chasing: escalation steps and missed-update reminders.
Registered in `app.core.markers.KINDS`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from app.core.markers.base import Marker


@dataclass(frozen=True)
class Escalation(Marker):
    """Escalation steps posted (`manual-<comment>` for `/escalate`) and the level reached."""

    KIND: ClassVar[str] = "escalation"
    steps: tuple[str, ...]
    level: int
    comment: int | None = None


@dataclass(frozen=True)
class Reminder(Marker):
    """The `number`-th missed update interval counted from `anchor` (ISO time)."""

    KIND: ClassVar[str] = "reminder"
    anchor: str
    number: int
