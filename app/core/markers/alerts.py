"""The marker kinds of alert-opened incidents: the alert group's issue and its change notes.
Registered in `app.core.markers.KINDS`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from app.core.markers.base import Marker


@dataclass(frozen=True)
class AlertIssue(Marker):
    """In the body of an incident issue an alert opened: the group it belongs to (a digest of
    its source and group key), the alerts firing when it opened (fingerprints, at most 100)
    and their digest."""

    KIND: ClassVar[str] = "alert"
    group: str
    source: str
    digest: str
    firing: tuple[str, ...] = ()


@dataclass(frozen=True)
class AlertNote(Marker):
    """A change of the group's firing alerts told on the incident: the new set's digest (and
    fingerprints); `resolved` when every alert resolved, `auto` when that resolved the
    incident (`alerts.auto_resolve`)."""

    KIND: ClassVar[str] = "alert-note"
    group: str
    digest: str
    firing: tuple[str, ...] = ()
    resolved: bool = False
    auto: bool = False
