"""What an operator sees at GET /metrics (Prometheus text format)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["CONTENT_TYPE_LATEST", "Metrics"]


class Metrics:
    """The app's metrics, in a registry of its own (one per app, so tests stay apart)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._delivery_children: dict[tuple[str, str], Any] = {}
        self.deliveries = Counter(
            "incident_app_deliveries",
            "Webhook deliveries by event and outcome.",
            ["event", "outcome"],
            registry=self.registry,
        )
        self.actions = Counter(
            "incident_app_actions",
            "GitHub writes the app made, by kind.",
            ["kind"],
            registry=self.registry,
        )
        self.github_requests = Counter(
            "incident_app_github_requests",
            "GitHub requests by method and status.",
            ["method", "status"],
            registry=self.registry,
        )
        self.rate_limit_remaining = Gauge(
            "incident_app_rate_limit_remaining",
            "GitHub's x-ratelimit-remaining, per installation, from the last answer.",
            ["installation"],
            registry=self.registry,
        )
        self.tick_duration = Histogram(
            "incident_app_tick_duration_seconds",
            "How long ticks take.",
            buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300),
            registry=self.registry,
        )
        self.ticks = Counter(
            "incident_app_ticks",
            "Ticks by result (ok, errors).",
            ["result"],
            registry=self.registry,
        )
        self.open_incidents = Gauge(
            "incident_app_open_incidents",
            "Open incidents by severity, as of the last tick.",
            ["severity"],
            registry=self.registry,
        )
        self.notifications = Counter(
            "incident_app_notifications",
            "Events to the operator's notifiers by notifier, event kind and result "
            "(sent, failed, retried, skipped).",
            ["notifier", "kind", "result"],
            registry=self.registry,
        )

        self.alerts = Counter(
            "incident_app_alerts",
            "Alert notifications received, by source and what they did (opened, changed, "
            "resolved, no change, …, failed); refused ones by HTTP status.",
            ["source", "result"],
            registry=self.registry,
        )

    def delivery(self, event: str, outcome: str) -> None:
        """Count a delivery; the labelled child is cached (this runs for every delivery)."""
        child = self._delivery_children.get((event, outcome))
        if child is None:
            child = self._delivery_children[(event, outcome)] = self.deliveries.labels(
                event, outcome
            )
        child.inc()

    def observe_github(
        self, scope: str, method: str, status: int, headers: Mapping[str, str]
    ) -> None:
        """Called for every GitHub answer."""
        self.github_requests.labels(method, str(status)).inc()
        remaining = headers.get("x-ratelimit-remaining")
        if remaining is not None and remaining.isdigit():
            self.rate_limit_remaining.labels(scope).set(int(remaining))

    def count_actions(self, counts: Mapping[str, int]) -> None:
        for kind, n in counts.items():
            self.actions.labels(kind).inc(n)

    def set_open_incidents(self, severities: Iterable[str]) -> None:
        seen: dict[str, int] = {"P0": 0, "P1": 0, "P2": 0, "P3": 0, "unknown": 0}
        for sev in severities:
            seen[sev if sev in seen else "unknown"] += 1
        for sev, n in seen.items():
            self.open_incidents.labels(sev).set(n)

    def render(self) -> bytes:
        return generate_latest(self.registry)
