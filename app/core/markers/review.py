"""The post-incident review's marker kinds: the review issue, its link, the fallback, its
reminders. Registered in `app.core.markers.KINDS`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from app.core.markers.base import Marker


@dataclass(frozen=True)
class PirIssue(Marker):
    """In the body of a review issue the app opened."""

    KIND: ClassVar[str] = "pir-issue"
    incident: int
    round: int
    due: str
    repo: str | None = None  # the incident's repository, when the review is held elsewhere


@dataclass(frozen=True)
class PirLink(Marker):
    """On the incident: its review of `round` is linked (the round is done)."""

    KIND: ClassVar[str] = "pir"
    round: int
    issue: int | None = None
    pull: int | None = None


@dataclass(frozen=True)
class PirFallback(Marker):
    KIND: ClassVar[str] = "pir-fallback"


@dataclass(frozen=True)
class PirReminder(Marker):
    KIND: ClassVar[str] = "pir-reminder"
    day: str
