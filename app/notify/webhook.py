"""Signed webhooks: the event as JSON, with HMAC-SHA256 signatures of the body (GitHub's scheme)
and of the timestamp and body (so a receiver can refuse a replayed delivery)."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx

from app.core.notify import Event
from app.notify.attempts import Attempts, Permanent, Transient
from app.notify.operator import WebhookNotifier

SIGNATURE_HEADER = "X-Incident-Signature-256"  # of the body alone: today's receivers
TIMESTAMP_HEADER = "X-Incident-Timestamp"  # unix seconds of this attempt
SIGNATURE_V2_HEADER = "X-Incident-Signature-v2"  # of f"{timestamp}.{body}"


def payload(event: Event) -> dict[str, Any]:
    """The JSON a webhook receives."""
    return {
        "kind": event.kind.value,
        "key": event.key,
        "incident": event.incident,
        "repo": event.repo,
        "number": event.number,
        "title": event.title,
        "severity": event.severity.value,
        "status": event.status,
        "url": event.url,
        "issue_url": event.issue_url,
        "text": event.text,
        "at": event.at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
    }


def signature(secret: str, body: bytes) -> str:
    """`sha256=<hex>`: what X-Incident-Signature-256 carries (GitHub's scheme, our header)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_v2(secret: str, timestamp: int, body: bytes) -> str:
    """`sha256=<hex>` of `<timestamp>.<body>`: what X-Incident-Signature-v2 carries."""
    signed = str(timestamp).encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


class Webhook:
    """One endpoint of the operator's."""

    kind = "webhook"
    public = False

    def __init__(
        self,
        config: WebhookNotifier,
        *,
        http: httpx.AsyncClient,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._url = config.url
        self._secret = config.secret.get_secret_value()
        self._http = http
        self._clock = clock

    def wants(self, event: Event) -> bool:
        return True

    async def send(self, event: Event, attempts: Attempts) -> None:
        body = json.dumps(payload(event), ensure_ascii=False, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "incident-app",
            "X-Incident-Event": event.kind.value,
            # The same on every attempt: receivers drop a delivery they have seen.
            "X-Incident-Delivery": event.key,
            SIGNATURE_HEADER: signature(self._secret, body),
        }
        await attempts.run(lambda: self._post(body, headers))

    async def _post(self, body: bytes, headers: dict[str, str]) -> None:
        # Dated per attempt: a retry is as fresh as the first try for a replay window.
        timestamp = int(self._clock().timestamp())
        headers = {
            **headers,
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_V2_HEADER: signature_v2(self._secret, timestamp, body),
        }
        try:
            reply = await self._http.post(self._url, content=body, headers=headers)
        except httpx.TimeoutException:
            raise Transient("the webhook did not answer in time") from None
        except httpx.TransportError as exc:
            raise Transient(f"the webhook is unreachable ({type(exc).__name__})") from None
        if reply.is_success:
            return
        if reply.status_code == 429 or reply.status_code >= 500:
            raise Transient(f"the webhook answered {reply.status_code}")
        raise Permanent(f"the webhook refused the event ({reply.status_code})")

    async def sweep(self, now: datetime, attempts: Attempts) -> list[str]:
        return []
