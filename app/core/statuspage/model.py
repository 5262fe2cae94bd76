"""The public status site's data: components, public incidents and their updates (pure).

Everything here is what customers may read. Nothing internal has a field: no repository,
no issue number, no internal status text, no login.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from app.core.commands import ComponentState, Status
from app.core.policy import Severity

HISTORY_VERSION = 1

__all__ = [
    "ComponentState",
    "History",
    "PublicIncident",
    "PublicStatus",
    "PublicUpdate",
    "SiteConfig",
]


class PublicStatus(StrEnum):
    """An incident's status as customers read it (Statuspage's incident statuses)."""

    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MONITORING = "monitoring"
    RESOLVED = "resolved"

    @classmethod
    def of(cls, status: Status) -> PublicStatus:
        """The internal status's public name: mitigating reads `identified`."""
        return _PUBLIC_STATUS[status]

    @property
    def label(self) -> str:
        return self.value.capitalize()


_PUBLIC_STATUS = {
    Status.INVESTIGATING: PublicStatus.INVESTIGATING,
    Status.MITIGATING: PublicStatus.IDENTIFIED,
    Status.MONITORING: PublicStatus.MONITORING,
    Status.RESOLVED: PublicStatus.RESOLVED,
}

# Statuspage's incident impact per severity.
IMPACT = {
    Severity.P0: "critical",
    Severity.P1: "major",
    Severity.P2: "minor",
    Severity.P3: "minor",
}


@dataclass(frozen=True)
class PublicUpdate:
    """One customer-facing update: when, the public status then, and its text."""

    at: datetime
    status: PublicStatus
    text: str
    automatic: bool = False  # the app's final entry at resolution (no `/public resolved`)
    # The id of the comment that gave it, for the notifiers' events (never on the site).
    comment: int = field(default=0, compare=False)

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"at": _iso(self.at), "status": self.status.value, "text": self.text}
        if self.automatic:
            data["automatic"] = True
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PublicUpdate:
        return cls(
            _time(data["at"]),
            PublicStatus(str(data["status"])),
            str(data["text"]),
            automatic=data.get("automatic") is True,
        )


@dataclass(frozen=True)
class PublicIncident:
    """An incident as the status site shows it, under its opaque id."""

    id: str
    title: str
    impact: str  # none | minor | major | critical
    created_at: datetime
    updates: tuple[PublicUpdate, ...]
    components: tuple[tuple[str, ComponentState], ...] = ()
    resolved_at: datetime | None = None

    @property
    def status(self) -> PublicStatus:
        if self.resolved_at is not None:
            return PublicStatus.RESOLVED
        return self.updates[-1].status if self.updates else PublicStatus.INVESTIGATING

    @property
    def open(self) -> bool:
        return self.resolved_at is None

    @property
    def updated_at(self) -> datetime:
        times = [self.created_at, *(u.at for u in self.updates)]
        if self.resolved_at is not None:
            times.append(self.resolved_at)
        return max(times)

    def limited_to(self, names: Iterable[str]) -> PublicIncident:
        """This incident with only the components of a site that lists `names` (matched
        whatever their case, spelled as the site does); a site that lists none shows every
        component its incidents name."""
        spelled = {name.lower(): name for name in names}
        if not spelled:
            return self
        kept = tuple(
            (spelled[name.lower()], state)
            for name, state in self.components
            if name.lower() in spelled
        )
        return self if kept == self.components else replace(self, components=kept)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "impact": self.impact,
            "created_at": _iso(self.created_at),
            "resolved_at": _iso(self.resolved_at) if self.resolved_at else None,
            "components": {name: state.value for name, state in self.components},
            "updates": [u.as_json() for u in self.updates],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PublicIncident:
        components = data.get("components") or {}
        return cls(
            id=str(data["id"]),
            title=str(data["title"]),
            impact=str(data.get("impact") or "minor"),
            created_at=_time(data["created_at"]),
            resolved_at=_time(data["resolved_at"]) if data.get("resolved_at") else None,
            components=tuple((str(k), ComponentState(str(v))) for k, v in components.items()),
            updates=tuple(PublicUpdate.from_json(u) for u in data.get("updates") or ()),
        )


@dataclass(frozen=True)
class SiteConfig:
    """The site as its status repository's config describes it, and where it is served."""

    title: str
    url: str  # ends with "/"
    components: tuple[str, ...] = ()


@dataclass(frozen=True)
class History:
    """Every incident the site ever showed, by id: kept as JSON in the Pages branch."""

    incidents: Mapping[str, PublicIncident] = field(default_factory=dict)

    def merged(self, incidents: Iterable[PublicIncident]) -> History:
        """This history with `incidents` in place of their older versions."""
        found = dict(self.incidents)
        for incident in incidents:
            found[incident.id] = incident
        return History(found)

    def ordered(self) -> list[PublicIncident]:
        """Newest first (by creation, then id, so the order is stable)."""
        return sorted(self.incidents.values(), key=lambda i: (i.created_at, i.id), reverse=True)

    def as_json(self) -> dict[str, Any]:
        return {
            "version": HISTORY_VERSION,
            "incidents": [i.as_json() for i in sorted(self.ordered(), key=lambda i: i.id)],
        }

    @classmethod
    def from_json(cls, data: Any) -> History:
        """A history read back from the branch; entries of a shape no release wrote are
        dropped (the next render writes them no more)."""
        if not isinstance(data, Mapping) or not isinstance(data.get("incidents"), list):
            return cls()
        found: dict[str, PublicIncident] = {}
        for item in data["incidents"]:
            try:
                incident = PublicIncident.from_json(item)
            except (KeyError, TypeError, ValueError):
                continue
            found[incident.id] = incident
        return cls(found)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _time(value: Any) -> datetime:
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def iso(moment: datetime) -> str:
    """A UTC time as the site writes it: `2019-05-15T15:20:18Z`."""
    return _iso(moment)
