"""POST $WEBHOOK_PATH as bare ASGI: verify, decide relevance, enqueue, answer (SPEC §1).

Every delivery of every repository passes here, almost none of them incidents, so this path
does the minimum before answering and skips the framework: no routing, no Request object,
headers read once, the body read with a bound, a pre-encoded answer.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs

import orjson

from app.metrics import Metrics
from app.webhooks import Job, router, signature_ok

log = logging.getLogger(__name__)

MAX_BODY = 25 * 1024 * 1024  # GitHub caps payloads at 25 MB
KNOWN_EVENTS = frozenset(
    {"issues", "issue_comment", "ping", "installation", "installation_repositories"}
)
_WANTED = frozenset(
    {
        b"x-hub-signature-256",
        b"x-github-event",
        b"x-github-delivery",
        b"content-type",
        b"content-length",
    }
)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class _TooLarge(Exception):
    pass


class _Gone(Exception):
    pass


class WebhookEndpoint:
    """Serves the webhook path itself and hands every other request (and the lifespan) to the
    wrapped Starlette app, whose `state` it shares."""

    def __init__(
        self,
        app: Any,
        *,
        path: str,
        secret: bytes,
        submit: Callable[[Job], bool] | None,
        metrics: Metrics,
        seen: Callable[[], None],
    ) -> None:
        self.app = app
        self.state = app.state
        self.path = path
        self._secret = secret
        self._submit = submit  # None: no credentials yet (setup mode), nothing is queued
        self._metrics = metrics
        self._seen = seen

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path:
            await self.app(scope, receive, send)
            return
        if scope["method"] != "POST":
            await _answer(send, 405, {"error": "POST only"})
            return
        headers = {k: v for k, v in scope["headers"] if k in _WANTED}
        event = headers.get(b"x-github-event", b"").decode("latin-1")
        try:
            body = await _body(receive, headers.get(b"content-length"))
            status, answer = self.handle(event, headers, body)
        except _TooLarge:
            status, answer = 413, {"error": "payload larger than GitHub's 25 MB cap"}
        except _Gone:
            return
        self._metrics.delivery(
            event if event in KNOWN_EVENTS else "other", answer.get("outcome") or str(status)
        )
        answer.pop("outcome", None)
        await _answer(send, status, answer)

    def handle(
        self, event: str, headers: dict[bytes, bytes], body: bytes
    ) -> tuple[int, dict[str, Any]]:
        """The answer to one delivery; queues the work it asks for."""
        if not self._secret:
            return 401, {"error": "WEBHOOK_SECRET is not configured; deliveries cannot be verified"}
        signature = headers.get(b"x-hub-signature-256", b"").decode("latin-1")
        if not signature_ok(self._secret, body, signature):
            return 401, {"error": "missing or wrong X-Hub-Signature-256"}
        if not event:
            return 400, {"error": "missing X-GitHub-Event header"}
        ctype = headers.get(b"content-type", b"application/json").split(b";")[0].strip()
        if ctype == b"application/x-www-form-urlencoded":
            # A webhook set to the form content type sends the JSON as `payload=`.
            form = parse_qs(body.decode("utf-8", "replace"), max_num_fields=10)
            body = form.get("payload", [""])[0].encode()
        elif ctype not in (b"application/json", b""):
            return 415, {
                "error": f"content type {ctype.decode('latin-1')!r}: send application/json"
            }
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            return 400, {"error": "body is not JSON (or not UTF-8, or nested too deeply)"}
        if type(payload) is not dict:
            return 400, {"error": "body is not a JSON object"}
        self._seen()
        if event == "ping":
            return 200, {"ok": True, "zen": payload.get("zen"), "outcome": "ok"}
        delivery_id = headers.get(b"x-github-delivery", b"").decode("latin-1")
        found = router.route(event, payload, delivery_id)
        if not isinstance(found, Job):
            if log.isEnabledFor(logging.DEBUG):
                log.debug("ignored %s: %s", event, found, extra={"delivery_id": delivery_id})
            return 202, {"ignored": found, "outcome": "ignored"}
        if self._submit is None:
            return 202, {
                "ignored": "no GitHub App credentials yet (setup mode)",
                "outcome": "ignored",
            }
        if not self._submit(found):
            return 503, {"error": "shutting down; GitHub will show this delivery as failed"}
        log.info("queued %s", found.key, extra={"delivery_id": delivery_id})
        return 202, {"queued": str(found.key), "outcome": "queued"}


async def _body(receive: Receive, declared: bytes | None) -> bytes:
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY:
        raise _TooLarge
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Gone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise _TooLarge
        chunks.append(chunk)
        if not message.get("more_body"):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def _answer(send: Send, status: int, body: dict[str, Any]) -> None:
    data = orjson.dumps(body)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})
