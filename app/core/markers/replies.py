"""The marker kinds of the app's answers to people: help, an invalid command, no authority
(denied, undone), a configuration problem. Registered in `app.core.markers.KINDS`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from app.core.markers.base import Marker


@dataclass(frozen=True)
class HelpReply(Marker):
    KIND: ClassVar[str] = "help"
    comment: int


@dataclass(frozen=True)
class InvalidReply(Marker):
    KIND: ClassVar[str] = "invalid"
    comment: int


@dataclass(frozen=True)
class Denied(Marker):
    """A person without authority was told their commands change nothing."""

    KIND: ClassVar[str] = "denied"
    login: str


@dataclass(frozen=True)
class Undone(Marker):
    """A person without authority was told their label or close was put back."""

    KIND: ClassVar[str] = "undone"
    login: str


@dataclass(frozen=True)
class ConfigProblem(Marker):
    KIND: ClassVar[str] = "config-error"
    digest: str
