"""The follow-through's marker kinds: action-item issues, the incident's list of them, overdue
reminders. Registered in `app.core.markers.KINDS`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from app.core.markers.base import Marker


@dataclass(frozen=True)
class ActionItem(Marker):
    """In the body of an action-item issue the app opened: which incident's item it is
    (`key`: `r<round>:<horizon>-<place>` from a review document, `c<comment>` from `/action`)."""

    KIND: ClassVar[str] = "action-item"
    incident: int
    key: str
    due: str


@dataclass(frozen=True)
class ActionList(Marker):
    """The incident's one comment listing its action items (edited in place)."""

    KIND: ClassVar[str] = "action-list"
    keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class ActionReminder(Marker):
    """An overdue action item was reminded in ISO week `week` (`2019-W22`)."""

    KIND: ClassVar[str] = "action-reminder"
    week: str
