"""The three payloads (Alertmanager, Grafana, generic) read into one `AlertGroup`, or a
`BadPayload` with the reason (docs/behaviour.md §9)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from app.core.labels import ALERT
from app.core.policy import AlertsPolicy, Severity

ALERT_LABEL = ALERT  # the label by which notifications find their issue again
SOURCES = ("alertmanager", "grafana", "generic")
SOURCE_NAMES = {"alertmanager": "Alertmanager", "grafana": "Grafana", "generic": "monitoring"}
MAX_ALERTS = 1000  # more in one notification is refused (Alertmanager's max_alerts caps it)
MAX_REMEMBERED = 100  # fingerprints kept in a marker; the digest covers them all
MAX_TEXT = 2000  # one label value or annotation, as shown
CAP_WINDOW = timedelta(hours=1)  # `alerts.max_new_per_hour` counts the issues opened in it


class BadPayload(ValueError):
    """A notification that is not what its endpoint takes: the 400's reason."""


@dataclass(frozen=True)
class Alert:
    fingerprint: str
    status: str  # firing | resolved
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    links: tuple[tuple[str, str], ...] = ()  # (text, url): the source, a silence, a dashboard

    @property
    def name(self) -> str:
        return self.labels.get("alertname") or self.annotations.get("summary") or "alert"

    @property
    def firing(self) -> bool:
        return self.status == "firing"


@dataclass(frozen=True)
class AlertGroup:
    """One notification: a group of alerts as its source sent it."""

    source: str
    key: str  # the source's group key
    status: str  # firing | resolved
    alerts: tuple[Alert, ...]
    common_labels: Mapping[str, str] = field(default_factory=dict)
    common_annotations: Mapping[str, str] = field(default_factory=dict)
    external_url: str = ""
    truncated: int = 0  # alerts the source left out (Alertmanager's `truncatedAlerts`)
    title: str = ""  # a title the source gave (Grafana's, the generic payload's)

    @property
    def group(self) -> str:
        """The group's name on GitHub: a digest of source and key (16 hex digits)."""
        return hashlib.sha256(f"{self.source}\n{self.key}".encode()).hexdigest()[:16]

    @property
    def firing(self) -> list[Alert]:
        return [a for a in self.alerts if a.firing]

    @property
    def fingerprints(self) -> tuple[str, ...]:
        return tuple(sorted({a.fingerprint for a in self.firing}))

    @property
    def digest(self) -> str:
        return digest(self.fingerprints)

    @property
    def resolved(self) -> bool:
        return self.status == "resolved" or not self.firing


def digest(fingerprints: Sequence[str]) -> str:
    if not fingerprints:
        return "none"
    return hashlib.sha256("\n".join(sorted(fingerprints)).encode()).hexdigest()[:16]


# --- reading the three payloads ----------------------------------------------------------


def parse(source: str, data: Any) -> AlertGroup:
    """The notification as an AlertGroup; BadPayload says what is wrong with it."""
    if not isinstance(data, dict):
        raise BadPayload("the body must be a JSON object")
    if source == "generic":
        return _generic(data)
    if source == "alertmanager":
        version = data.get("version")
        if version != "4":
            raise BadPayload(f'unsupported version {version!r}: Alertmanager\'s webhook sends "4"')
    return _grouped(source, data)


def _text(value: Any, where: str, *, required: bool = False) -> str:
    if value is None or value == "":
        if required:
            raise BadPayload(f"{where} is missing")
        return ""
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise BadPayload(f"{where} must be a string")
    return str(value)[:MAX_TEXT]


def _pairs(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadPayload(f"{where} must be an object of strings")
    return {str(k)[:200]: _text(v, f"{where}.{k}") for k, v in list(value.items())[:100]}


def _time(value: Any, where: str) -> datetime | None:
    """An RFC 3339 time; Alertmanager's zero time (`0001-01-01T00:00:00Z`) is none."""
    if value in (None, "") or str(value).startswith("0001-01-01"):
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise BadPayload(f"{where} is not an RFC 3339 time: {str(value)[:40]!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _status(value: Any, where: str) -> str:
    if value not in ("firing", "resolved"):
        raise BadPayload(f'{where} must be "firing" or "resolved", not {str(value)[:40]!r}')
    return str(value)


def _fingerprint(labels: Mapping[str, str]) -> str:
    """For an alert that came without one: a digest of its labels, as Alertmanager's is."""
    return hashlib.sha256(json.dumps(labels, sort_keys=True).encode()).hexdigest()[:16]


_LINKS = (
    ("generatorURL", "Source"),
    ("dashboardURL", "Dashboard"),
    ("panelURL", "Panel"),
    ("silenceURL", "Silence"),
)


def _grouped(source: str, data: Mapping[str, Any]) -> AlertGroup:
    """Alertmanager's webhook (version 4) and Grafana's contact point, which extends it."""
    raw = data.get("alerts")
    if not isinstance(raw, list) or not raw:
        raise BadPayload("alerts must be a non-empty list")
    if len(raw) > MAX_ALERTS:
        raise BadPayload(f"more than {MAX_ALERTS} alerts in one notification")
    alerts = []
    for n, item in enumerate(raw):
        where = f"alerts[{n}]"
        if not isinstance(item, dict):
            raise BadPayload(f"{where} must be an object")
        labels = _pairs(item.get("labels"), f"{where}.labels")
        links = tuple(
            (text, url)
            for key, text in _LINKS
            if (url := _text(item.get(key), f"{where}.{key}")).startswith(("https://", "http://"))
        )
        alerts.append(
            Alert(
                fingerprint=_text(item.get("fingerprint"), f"{where}.fingerprint")
                or _fingerprint(labels),
                status=_status(item.get("status"), f"{where}.status"),
                labels=labels,
                annotations=_pairs(item.get("annotations"), f"{where}.annotations"),
                starts_at=_time(item.get("startsAt"), f"{where}.startsAt"),
                ends_at=_time(item.get("endsAt"), f"{where}.endsAt"),
                links=links,
            )
        )
    truncated = data.get("truncatedAlerts", 0)
    if not isinstance(truncated, int) or isinstance(truncated, bool) or truncated < 0:
        raise BadPayload("truncatedAlerts must be a whole number")
    common = _pairs(data.get("commonLabels"), "commonLabels")
    key = _text(data.get("groupKey"), "groupKey") or json.dumps(
        _pairs(data.get("groupLabels"), "groupLabels") or common, sort_keys=True
    )
    return AlertGroup(
        source=source,
        key=key,
        status=_status(data.get("status"), "status"),
        alerts=tuple(alerts),
        common_labels=common,
        common_annotations=_pairs(data.get("commonAnnotations"), "commonAnnotations"),
        external_url=_text(data.get("externalURL"), "externalURL"),
        truncated=truncated,
        title=_text(data.get("title"), "title") if source == "grafana" else "",
    )


def _generic(data: Mapping[str, Any]) -> AlertGroup:
    """`{"title", "severity", "key", "status", "description", "url"}` from anything else."""
    unknown = sorted(set(data) - {"title", "severity", "key", "status", "description", "url"})
    if unknown:
        raise BadPayload(
            f"unknown field {unknown[0]!r}: use title, severity, key, status, description, url"
        )
    title = _text(data.get("title"), "title", required=True)
    key = _text(data.get("key"), "key") or title
    url = _text(data.get("url"), "url")
    labels = {"alertname": title}
    if data.get("severity") not in (None, ""):
        labels["severity"] = _text(data.get("severity"), "severity")
    alert = Alert(
        fingerprint=hashlib.sha256(key.encode()).hexdigest()[:16],
        status=_status(data.get("status", "firing"), "status"),
        labels=labels,
        annotations={"description": _text(data.get("description"), "description")}
        if data.get("description")
        else {},
        links=(("Source", url),) if url.startswith(("https://", "http://")) else (),
    )
    return AlertGroup("generic", key, alert.status, (alert,), common_labels=labels, title=title)


# --- deciding -----------------------------------------------------------------------------


def severity(group: AlertGroup, policy: AlertsPolicy) -> Severity:
    """The most severe of what the firing alerts (or the group's common labels) ask for."""
    asked = [policy.severity(a.labels) for a in group.firing] or [
        policy.severity(group.common_labels)
    ]
    return min(asked, key=lambda s: s.value)
