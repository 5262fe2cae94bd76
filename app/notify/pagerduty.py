"""PagerDuty's Events API v2: one alert per incident (`dedup_key`), triggered, acked, resolved."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx

from app.core.notify import Event, Kind
from app.core.policy import Severity
from app.notify.attempts import Attempts, Permanent, Transient
from app.notify.operator import PagerDutyNotifier

ACTIONS: dict[Kind, str] = {
    Kind.DECLARED: "trigger",
    Kind.ESCALATED: "trigger",
    Kind.REOPENED: "trigger",
    Kind.BREACH: "trigger",
    Kind.SEVERITY: "trigger",
    Kind.ACKNOWLEDGED: "acknowledge",
    Kind.RESOLVED: "resolve",
}  # status updates and the review are for people reading, not for paging
SEVERITIES: dict[Severity, str] = {
    Severity.P0: "critical",
    Severity.P1: "error",
    Severity.P2: "warning",
    Severity.P3: "info",
}
SUMMARY_LIMIT = 1024  # PagerDuty's limit on payload.summary


def summary(event: Event) -> str:
    """`[P0] title — what happened`, on one line, at most 1024 characters."""
    what = " ".join(event.text.split())
    text = f"[{event.severity.value}] {event.title}" + (f" — {what}" if what else "")
    return text if len(text) <= SUMMARY_LIMIT else text[: SUMMARY_LIMIT - 1] + "…"


def enqueue_body(event: Event, routing_key: str) -> dict[str, Any]:
    """The Events API v2 body for `event` (one of ACTIONS' kinds)."""
    action = ACTIONS[event.kind]
    body: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": action,
        "dedup_key": event.incident,
    }
    if action != "trigger":
        return body
    body["payload"] = {
        "summary": summary(event),
        "source": event.repo,
        "severity": SEVERITIES[event.severity],
        "timestamp": event.at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "class": event.kind.value,
        "custom_details": {
            "incident": event.incident,
            "event": event.kind.value,
            "severity": event.severity.value,
            "status": event.status,
            "title": event.title,
            "text": event.text,
            "url": event.url,
        },
    }
    body["links"] = [{"href": event.issue_url, "text": f"{event.incident} on GitHub"}]
    body["client"] = "incident-app"
    body["client_url"] = event.issue_url
    return body


class PagerDuty:
    """One PagerDuty service (its integration's routing key)."""

    kind = "pagerduty"
    public = False

    def __init__(self, config: PagerDutyNotifier, *, http: httpx.AsyncClient, events_url: str):
        self._routing_key = config.routing_key.get_secret_value()
        self._http = http
        self._url = events_url.rstrip("/") + "/v2/enqueue"

    def wants(self, event: Event) -> bool:
        return event.kind in ACTIONS

    async def send(self, event: Event, attempts: Attempts) -> None:
        body = enqueue_body(event, self._routing_key)
        await attempts.run(lambda: self._enqueue(body))

    async def _enqueue(self, body: dict[str, Any]) -> None:
        try:
            reply = await self._http.post(self._url, json=body)
        except httpx.TimeoutException:
            raise Transient("PagerDuty did not answer in time") from None
        except httpx.TransportError as exc:
            raise Transient(f"PagerDuty unreachable ({type(exc).__name__})") from None
        if reply.status_code == 202:
            return
        if reply.status_code == 429 or reply.status_code >= 500:
            raise Transient(f"PagerDuty answered {reply.status_code}")
        raise Permanent(f"PagerDuty refused the event ({reply.status_code}): {_message(reply)}")

    async def sweep(self, now: datetime, attempts: Attempts) -> list[str]:
        return []


def _message(reply: httpx.Response) -> str:
    """PagerDuty's own words for a refusal: `message` and `errors` of its JSON body."""
    try:
        data = reply.json()
    except ValueError:
        return "no details"
    if not isinstance(data, dict):
        return "no details"
    errors = data.get("errors")
    details = "; ".join(str(e) for e in errors) if isinstance(errors, list) else ""
    return (str(data.get("message") or "") + (f" ({details})" if details else ""))[:300]
