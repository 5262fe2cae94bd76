"""The on-call marker kinds: handovers, `/oncall` replies, the On-call issue and its covers,
calendar problems (docs/behaviour.md §12). Registered in `app.core.markers.KINDS`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from app.core.markers.base import Marker


@dataclass(frozen=True)
class Handover(Marker):
    """An open incident told of a rotation's handoff (`at`: the handoff, ISO in UTC)."""

    KIND: ClassVar[str] = "handover"
    rotation: str
    at: str


@dataclass(frozen=True)
class HandoverIssue(Marker):
    """In the body of the handover issue the tick opened for a rotation's handoff."""

    KIND: ClassVar[str] = "handover-issue"
    rotation: str
    at: str


@dataclass(frozen=True)
class OnCallReply(Marker):
    """`/oncall` (or `/oncall cover`) of comment `comment` answered."""

    KIND: ClassVar[str] = "oncall-reply"
    comment: int


@dataclass(frozen=True)
class OnCallLog(Marker):
    """In the body of the repository's "On-call" issue, where covers are recorded."""

    KIND: ClassVar[str] = "oncall-log"


@dataclass(frozen=True)
class CoverNote(Marker):
    """A cover recorded in the "On-call" issue (times ISO in UTC; no `until`: to the next
    handoff), asked for by `by` in comment `comment` of issue `issue`."""

    KIND: ClassVar[str] = "cover"
    rotation: str
    login: str
    start: str
    by: str
    until: str | None = None
    issue: int | None = None
    comment: int | None = None


@dataclass(frozen=True)
class CalendarProblem(Marker):
    """An incident told that an on-call calendar could not be read (once per calendar)."""

    KIND: ClassVar[str] = "calendar-problem"
    calendar: str
