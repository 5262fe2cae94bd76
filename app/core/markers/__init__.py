"""Hidden markers in the app's own comments and issues: a typed, versioned protocol.

Every comment or issue the app writes ends with one HTML comment GitHub does not show:

    <!-- incident-app {"k":"brief","v":1,"sev":"P0","checklist":"P0"} -->

`k` names the kind, `v` the version of its fields. The next snapshot reads them back, so
planning again after a plan was carried out yields nothing new. Markers outlive releases: an
incident declared last year still carries last year's markers, so

- each kind is one frozen dataclass below, with the wire name of every field;
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
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from app.core.markers.base import Marker
from app.core.markers.oncall import (
    CalendarProblem,
    CoverNote,
    Handover,
    HandoverIssue,
    OnCallLog,
    OnCallReply,
)

PREFIX = "incident-app"
VERSION = 1
_RE = re.compile(r"<!--\s*incident-app\s+(\{.*?\})\s*-->", re.S)

# The kinds kept in modules of their own, re-exported: `markers.Handover`, …
__all__ = ["CalendarProblem", "CoverNote", "Handover", "HandoverIssue", "Marker", "OnCallLog"]
__all__ += ["OnCallReply"]


@dataclass(frozen=True)
class Brief(Marker):
    """The incident's one brief: the severity announced and whose checklist it carried."""

    KIND: ClassVar[str] = "brief"
    severity: str
    checklist: str | None = None
    recurs: tuple[str, ...] = ()  # earlier incidents this one repeats (issue numbers)
    # Declared by someone without authority where that needs confirming (behaviour §8): only
    # the incident commander was reached; a `Confirmed` note reaches the rest.
    unconfirmed: bool = False
    # The brief said it is a security incident (rendered only then). Briefs posted before
    # this field existed say so only in their text.
    security: bool = False


@dataclass(frozen=True)
class Confirmed(Marker):
    """An unconfirmed declaration confirmed by someone with authority: the roles reached."""

    KIND: ClassVar[str] = "confirmed"
    by: str


@dataclass(frozen=True)
class SeverityNote(Marker):
    """A severity change announced; `checklist` when the new severity's list was posted."""

    KIND: ClassVar[str] = "severity"
    severity: str
    checklist: str | None = None


@dataclass(frozen=True)
class SecurityNote(Marker):
    KIND: ClassVar[str] = "security"


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
class Escalation(Marker):
    """Escalation steps posted (`manual-<comment>` for `/escalate`) and the level reached."""

    KIND: ClassVar[str] = "escalation"
    steps: tuple[str, ...]
    level: int
    comment: int | None = None


@dataclass(frozen=True)
class ConfigProblem(Marker):
    KIND: ClassVar[str] = "config-error"
    digest: str


@dataclass(frozen=True)
class Reminder(Marker):
    """The `number`-th missed update interval counted from `anchor` (ISO time)."""

    KIND: ClassVar[str] = "reminder"
    anchor: str
    number: int


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


@dataclass(frozen=True)
class BreachNote(Marker):
    """A confirmed data breach was announced to legal and the security officer."""

    KIND: ClassVar[str] = "breach"


@dataclass(frozen=True)
class PhaseNote(Marker):
    """The checklist of a phase (`mitigating`, `monitoring`) was posted."""

    KIND: ClassVar[str] = "phase"
    phase: str


@dataclass(frozen=True)
class AllClear(Marker):
    """The all-clear of resolution `round` was posted."""

    KIND: ClassVar[str] = "all-clear"
    round: int


@dataclass(frozen=True)
class Recurrence(Marker):
    """The reopen that started `round` came inside the enhanced monitoring window."""

    KIND: ClassVar[str] = "recurrence"
    round: int


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
