"""The marker kinds of the issues the tick opens by the calendar: the month's review, scheduled
drills. Registered in `app.core.markers.KINDS`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from app.core.markers.base import Marker


@dataclass(frozen=True)
class MonthlyReview(Marker):
    """In the body of the month's review issue the app opened (`2019-05`)."""

    KIND: ClassVar[str] = "monthly-review"
    month: str


@dataclass(frozen=True)
class ScheduledDrill(Marker):
    """In the body of a drill the tick opened: its severity and period (`2019-05`, `2019-Q2`)."""

    KIND: ClassVar[str] = "scheduled-drill"
    severity: str
    period: str
