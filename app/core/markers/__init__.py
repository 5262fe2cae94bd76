"""Hidden markers in the app's own comments and issues: a typed, versioned protocol.

Every comment or issue the app writes ends with one HTML comment GitHub does not show:

    <!-- incident-app {"k":"brief","v":1,"sev":"P0","checklist":"P0"} -->

`k` names the kind, `v` the version of its fields. The next snapshot reads them back, so
planning again after a plan was carried out yields nothing new. Markers outlive releases: an
incident declared last year still carries last year's markers, so

- each kind is one frozen dataclass, in this package's module of its concern (declaration,
  replies, escalation, resolution, review, actions, schedule, alerts, public, oncall), with
  the wire name of every field (`_KEYS` below);
- `render` writes the current version; `parse` reads every version ever written (the first
  release wrote no `v`, which reads as version 0) and skips what it cannot read;
- renaming a wire key or changing its meaning needs a new version and a reader for the old
  one — otherwise the app posts duplicates on every open incident. tests/core/test_markers.py
  parses markers recorded from each release.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from app.core.markers.actions import ActionItem, ActionList, ActionReminder
from app.core.markers.alerts import AlertIssue, AlertNote
from app.core.markers.base import Marker
from app.core.markers.declaration import BreachNote, Brief, Confirmed, SecurityNote, SeverityNote
from app.core.markers.escalation import Escalation, Reminder
from app.core.markers.oncall import (
    CalendarProblem,
    CoverNote,
    Handover,
    HandoverIssue,
    OnCallLog,
    OnCallReply,
)
from app.core.markers.public import PublicRecord, PublicReminder
from app.core.markers.replies import ConfigProblem, Denied, HelpReply, InvalidReply, Undone
from app.core.markers.resolution import AllClear, PhaseNote, Recurrence
from app.core.markers.review import PirFallback, PirIssue, PirLink, PirReminder
from app.core.markers.schedule import MonthlyReview, ScheduledDrill

PREFIX = "incident-app"
VERSION = 1
_RE = re.compile(r"<!--\s*incident-app\s+(\{.*?\})\s*-->", re.S)

# The kinds live in modules of their concern, re-exported: `markers.Brief`, `markers.Handover`, …
__all__ = ["ActionItem", "ActionList", "ActionReminder", "AlertIssue", "AlertNote", "AllClear"]
__all__ += ["BreachNote", "Brief", "CalendarProblem", "ConfigProblem", "Confirmed", "CoverNote"]
__all__ += ["Denied", "Escalation", "Handover", "HandoverIssue", "HelpReply", "InvalidReply"]
__all__ += ["Marker", "MonthlyReview", "OnCallLog", "OnCallReply", "PhaseNote", "PirFallback"]
__all__ += ["PirIssue", "PirLink", "PirReminder", "PublicRecord", "PublicReminder", "Recurrence"]
__all__ += ["Reminder", "ScheduledDrill", "SecurityNote", "SeverityNote", "Undone"]
__all__ += ["KINDS", "PREFIX", "VERSION", "of", "parse", "render"]


# Field name → wire key, for the fields whose key is not their name.
_KEYS: dict[type[Marker], dict[str, str]] = {
    Brief: {"severity": "sev"},
    SeverityNote: {"severity": "sev"},
    HelpReply: {"comment": "c"},
    InvalidReply: {"comment": "c"},
    Denied: {"login": "u"},
    Undone: {"login": "u"},
    Escalation: {"comment": "c"},
    ConfigProblem: {"digest": "h"},
    Reminder: {"anchor": "a", "number": "n"},
    PirLink: {"pull": "pr"},
    OnCallReply: {"comment": "c"},
}
KINDS: dict[str, type[Marker]] = {
    cls.KIND: cls
    for cls in (
        Brief,
        Confirmed,
        SeverityNote,
        SecurityNote,
        HelpReply,
        InvalidReply,
        Denied,
        Undone,
        Escalation,
        ConfigProblem,
        Reminder,
        PirIssue,
        PirLink,
        PirFallback,
        PirReminder,
        BreachNote,
        PhaseNote,
        AllClear,
        Recurrence,
        ActionItem,
        ActionList,
        ActionReminder,
        MonthlyReview,
        ScheduledDrill,
        AlertIssue,
        AlertNote,
        PublicRecord,
        PublicReminder,
        Handover,
        HandoverIssue,
        OnCallReply,
        OnCallLog,
        CoverNote,
        CalendarProblem,
    )
}


def render(marker: Marker) -> str:
    """The marker as the HTML comment the app appends to what it writes."""
    keys = _KEYS.get(type(marker), {})
    payload: dict[str, Any] = {"k": marker.KIND, "v": VERSION}
    for name, value in vars(marker).items():
        if value is not None and value != () and value is not False:
            payload[keys.get(name, name)] = list(value) if isinstance(value, tuple) else value
    return f"<!-- {PREFIX} {json.dumps(payload, sort_keys=True, separators=(',', ':'))} -->"


def _v0_escalation(data: dict[str, Any]) -> dict[str, Any]:
    """Version 0 wrote a manual escalation's one step as `step`, the tick's as `steps`."""
    if "steps" not in data and "step" in data:
        data = {**data, "steps": [data["step"]]}
    data.pop("step", None)
    return data


# Readers of older versions: (kind, version) → the raw fields in today's wire keys.
_UPGRADES: dict[tuple[str, int], Callable[[dict[str, Any]], dict[str, Any]]] = {
    ("escalation", 0): _v0_escalation,
}


def _build(cls: type[Marker], data: Mapping[str, Any]) -> Marker:
    keys = _KEYS.get(cls, {})
    fields: dict[str, Any] = {}
    for name, annotation in cls.__annotations__.items():
        key = keys.get(name, name)
        if name != "KIND" and key in data:
            fields[name] = _field(name, str(annotation), data[key])
    return cls(**fields)


def _field(name: str, annotation: str, value: Any) -> Any:
    """A marker field's value as its annotation (a string: annotations are postponed) says;
    ValueError where it cannot be."""
    if "tuple" in annotation:
        if not isinstance(value, list):
            raise ValueError(name)
        return tuple(str(v) for v in value)
    if annotation == "bool":
        if not isinstance(value, bool):
            raise ValueError(name)
        return value
    if "int" in annotation:
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            return int(str(value))
        return value
    return str(value) if value is not None else None


def parse(body: str | None) -> list[Marker]:
    """Every marker in a body that this release can read, of any version, in order."""
    found: list[Marker] = []
    for match in _RE.finditer(body or ""):
        try:
            data = json.loads(match[1])
        except ValueError:
            continue
        if not isinstance(data, dict):
            continue
        cls = KINDS.get(str(data.get("k")))
        version = data.get("v", 0)
        if cls is None or not isinstance(version, int) or version > VERSION:
            continue
        for old in range(version, VERSION):
            upgrade = _UPGRADES.get((cls.KIND, old))
            if upgrade is not None:
                data = upgrade(dict(data))
        try:
            found.append(_build(cls, data))
        except (TypeError, ValueError):
            continue  # a marker of a shape no release wrote: no evidence of anything
    return found


M = TypeVar("M", bound=Marker)


def of(kind: type[M], body: str | None) -> list[M]:
    """The markers of one kind in a body."""
    return [m for m in parse(body) if isinstance(m, kind)]
