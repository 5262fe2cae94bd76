"""The marker kinds of the public status site: an incident's public record and its update
reminders. Registered in `app.core.markers.KINDS`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from app.core.markers.base import Marker


@dataclass(frozen=True)
class PublicRecord(Marker):
    """On the incident: it is published on the public status site under the opaque `id`
    (kept here so the page stays where it is whatever happens to the comments)."""

    KIND: ClassVar[str] = "public"
    id: str


@dataclass(frozen=True)
class PublicReminder(Marker):
    """A public update was reminded for the window that fell due at `due` (ISO time)."""

    KIND: ClassVar[str] = "public-reminder"
    due: str
