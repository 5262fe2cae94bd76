"""What the edge hands the schedule: the operator's calendars as fetched, and the covers
recorded in the repository's "On-call" issue. Plain frozen data, no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType


@dataclass(frozen=True)
class Shift:
    """One event of a calendar: a shift from `start` until `end`, with the people it names
    (attendees' e-mails and names, and the summary, as the export wrote them)."""

    start: datetime
    end: datetime
    summary: str = ""
    attendees: tuple[str, ...] = ()


@dataclass(frozen=True)
class CalendarFeed:
    """A calendar as the edge last read it: its shifts in a window, or why it could not be
    read (then nobody holds its seats, and their backups are reached)."""

    name: str
    shifts: tuple[Shift, ...] = ()
    problem: str | None = None


@dataclass(frozen=True)
class Cover:
    """`/oncall cover @login [until …]`: someone holding a rotation's turn from `start`;
    `until` None ends it at the rotation's next handoff."""

    rotation: str
    login: str
    start: datetime
    until: datetime | None = None
    by: str = ""


@dataclass(frozen=True)
class OnCallRecord:
    """Everything beyond the config that decides who is on call."""

    calendars: Mapping[str, CalendarFeed] = field(default_factory=lambda: MappingProxyType({}))
    covers: tuple[Cover, ...] = ()
    # The "On-call" issue the covers are recorded in (its number), when there is one.
    issue: int | None = None

    def problems(self) -> list[str]:
        """Why a calendar could not be read, one line each."""
        return [
            f"calendar `{feed.name}`: {feed.problem}"
            for feed in self.calendars.values()
            if feed.problem
        ]


EMPTY = OnCallRecord()
