"""POST $WEBHOOK_PATH as bare ASGI: verify, decide relevance, enqueue, answer (behaviour §1).

Every delivery of every repository passes here, almost none of them incidents, so this path
does the minimum before answering and skips the framework: no routing, no Request object,
headers read once, the body read with a bound, a pre-encoded answer.

The door is open to anyone, so nothing is read that could not be a delivery: a request
without `X-Hub-Signature-256: sha256=…` is refused before its body; a body has a size cap, a
time limit for all of it, and a share of a budget common to all requests (bodies being read,
bytes held), beyond which the answer is 503 without reading on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs

import orjson

from app.web.metrics import Metrics
from app.web.webhooks import Job, router, signature_ok

log = logging.getLogger(__name__)

MAX_BODY = 25 * 1024 * 1024  # GitHub caps payloads at 25 MB
BODY_TIMEOUT = 10.0  # seconds for a whole body (GitHub gives up on an answer after 10 s)
MAX_READERS = 32  # bodies being read at once, all connections together
MAX_BUFFERED = 64 * 1024 * 1024  # bytes of bodies held at once, all connections together
MAX_FORM_FIELDS = 10  # the form content type carries one field, `payload`
KNOWN_EVENTS = frozenset(
    {
        "issues",
        "issue_comment",
        "pull_request",
        "ping",
        "installation",
        "installation_repositories",
    }
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


class _Busy(Exception):
    pass


Headers = tuple[tuple[bytes, bytes], ...]
# An answer that leaves a body unread closes the connection: the rest of it is not drained
# from a client that may never finish sending it.
_CLOSE: Headers = ((b"connection", b"close"),)
_RETRY: Headers = ((b"connection", b"close"), (b"retry-after", b"5"))
_UNSIGNED = {"error": "missing or wrong X-Hub-Signature-256"}
_NO_SECRET = {"error": "WEBHOOK_SECRET is not configured; deliveries cannot be verified"}
_TOO_LARGE = {"error": "payload larger than GitHub's 25 MB cap"}
_BUSY = {"error": "too many deliveries being received at once; retry later"}


class Deadlines:
    """One timer for all the bodies being read: a read registers its task, and one watcher
    task cancels the reads past their deadline. (An `asyncio.timeout` per request would arm
    and cancel a timer for every delivery; this costs a dict entry.)"""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        # Every read gets the same `seconds`, so insertion order is deadline order.
        self._due: dict[asyncio.Task[Any], float] = {}
        self._expired: set[asyncio.Task[Any]] = set()
        self._watcher: asyncio.Task[None] | None = None

    def start(self) -> asyncio.Task[Any]:
        """Start the clock for the current task's read."""
        task = asyncio.current_task()
        assert task is not None, "a body is read inside a task"
        loop = task.get_loop()
        self._due[task] = loop.time() + self.seconds
        if self._watcher is None:
            self._watcher = loop.create_task(self._watch())
        return task

    def stop(self, task: asyncio.Task[Any]) -> None:
        self._due.pop(task, None)
        self._expired.discard(task)

    def expired(self, task: asyncio.Task[Any]) -> bool:
        """Whether the CancelledError `task` caught is this clock's alone (then it is undone)."""
        if task not in self._expired:
            return False
        self._expired.discard(task)
        return task.uncancel() == 0

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._due:
                task, deadline = next(iter(self._due.items()))
                wait = deadline - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                    continue
                del self._due[task]
                self._expired.add(task)
                task.cancel("body not received in time")
        finally:
            self._watcher = None


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
        body_timeout: float = BODY_TIMEOUT,
        max_readers: int = MAX_READERS,
        max_buffered: int = MAX_BUFFERED,
    ) -> None:
        self.app = app
        self.state = app.state
        self.path = path
        self._secret = secret
        self._submit = submit  # None: no credentials yet (setup mode), nothing is queued
        self._metrics = metrics
        self._seen = seen
        self._deadlines = Deadlines(body_timeout)
        self._max_readers = max_readers
        self._max_buffered = max_buffered
        self._readers = 0  # bodies being read now
        self._buffered = 0  # bytes they hold, or declared they will (whichever is more)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path:
            await self.app(scope, receive, send)
            return
        if scope["method"] != "POST":
            await _answer(send, 405, {"error": "POST only"})
            return
        headers = {k: v for k, v in scope["headers"] if k in _WANTED}
        event = headers.get(b"x-github-event", b"").decode("latin-1")
        reserved = _declared(headers.get(b"content-length"))
        found = self._refusal(headers, reserved)
        if found is None:
            found = await self._received(receive, event, headers, reserved)
        if found is None:
            return  # the sender is gone: nobody to answer
        status, answer, extra = found
        self._metrics.delivery(
            event if event in KNOWN_EVENTS else "other", answer.pop("outcome", None) or str(status)
        )
        await _answer(send, status, answer, extra)

    def _refusal(
        self, headers: dict[bytes, bytes], reserved: int
    ) -> tuple[int, dict[str, Any], Headers] | None:
        """The answer refusing a delivery before its body is read, or None."""
        if not self._secret:
            return 401, dict(_NO_SECRET), _CLOSE
        if not headers.get(b"x-hub-signature-256", b"").startswith(b"sha256="):
            return 401, dict(_UNSIGNED), _CLOSE
        if reserved > MAX_BODY:
            return 413, dict(_TOO_LARGE), _CLOSE
        if self._readers >= self._max_readers or (self._buffered + reserved > self._max_buffered):
            return 503, dict(_BUSY), _RETRY
        return None

    async def _received(
        self, receive: Receive, event: str, headers: dict[bytes, bytes], reserved: int
    ) -> tuple[int, dict[str, Any], Headers] | None:
        """The answer to a delivery whose body is read within the shared budget and the
        deadline; None when the sender left before sending it all."""
        self._readers += 1
        self._buffered += reserved
        task = self._deadlines.start()
        try:
            body = await self._body(receive, reserved)
            status, answer = self.handle(event, headers, body)
            return status, answer, ()
        except _TooLarge:
            return 413, dict(_TOO_LARGE), _CLOSE
        except _Busy:
            return 503, dict(_BUSY), _RETRY
        except asyncio.CancelledError:
            if not self._deadlines.expired(task):
                raise
            return 408, {"error": f"body not received within {self._deadlines.seconds:g} s"}, _CLOSE
        except _Gone:
            return None
        finally:
            self._deadlines.stop(task)
            self._readers -= 1
            self._buffered -= reserved

    async def _body(self, receive: Receive, reserved: int) -> bytes:
        """The whole body. Bytes past the `reserved` (declared) length are added to the
        shared budget as they come; the caller gives back `reserved`, this gives back the
        rest, whatever happens."""
        chunks: list[bytes] = []
        size = extra = 0
        try:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise _Gone
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > MAX_BODY:
                    raise _TooLarge
                if size > reserved + extra:
                    grow = size - reserved - extra
                    if self._buffered + grow > self._max_buffered:
                        raise _Busy
                    self._buffered += grow
                    extra += grow
                chunks.append(chunk)
                if not message.get("more_body"):
                    return chunks[0] if len(chunks) == 1 else b"".join(chunks)
        finally:
            self._buffered -= extra

    def handle(
        self, event: str, headers: dict[bytes, bytes], body: bytes
    ) -> tuple[int, dict[str, Any]]:
        """The answer to one delivery; queues the work it asks for."""
        if not self._secret:
            return 401, dict(_NO_SECRET)
        signature = headers.get(b"x-hub-signature-256", b"").decode("latin-1")
        if not signature_ok(self._secret, body, signature):
            return 401, dict(_UNSIGNED)
        if not event:
            return 400, {"error": "missing X-GitHub-Event header"}
        ctype = headers.get(b"content-type", b"application/json").split(b";")[0].strip()
        if ctype == b"application/x-www-form-urlencoded":
            # A webhook set to the form content type sends the JSON as `payload=`.
            try:
                form = parse_qs(body.decode("utf-8", "replace"), max_num_fields=MAX_FORM_FIELDS)
            except ValueError:
                return 400, {"error": f"a form body has at most {MAX_FORM_FIELDS} fields"}
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


def _declared(length: bytes | None) -> int:
    """Content-Length as a number: 0 when absent or not one, past the cap when too long to
    convert (int() refuses more than 4300 digits)."""
    if length is None or not length.isdigit():
        return 0
    return int(length) if len(length) < 16 else MAX_BODY + 1


async def _answer(send: Send, status: int, body: dict[str, Any], extra: Headers = ()) -> None:
    data = orjson.dumps(body)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode()),
                *extra,
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})
