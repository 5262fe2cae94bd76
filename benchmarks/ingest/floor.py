"""The floor: the least a webhook endpoint can do, to compare the app's ingest path against.

A bare ASGI app (no framework) that reads the body, checks `X-Hub-Signature-256` in constant
time, parses the JSON with orjson and answers 202. `GET /healthz` answers 200. The secret
comes from the `WEBHOOK_SECRET` environment variable. Run it as the benchmark does:

    WEBHOOK_SECRET=... python -m uvicorn benchmarks.ingest.floor:app --loop uvloop \
        --http httptools --lifespan off --no-access-log --port 3001
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

SECRET = os.environ.get("WEBHOOK_SECRET", "").encode()
SIGNATURE_HEADER = b"x-hub-signature-256"
JSON_HEADERS = [(b"content-type", b"application/json")]


async def _answer(send: Send, status: int, body: bytes) -> None:
    headers = [*JSON_HEADERS, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """Verify, parse, answer 202; nothing else."""
    if scope["type"] != "http":
        return
    if scope["method"] == "GET" and scope["path"] == "/healthz":
        await _answer(send, 200, b'"ok"')
        return
    chunks: list[bytes] = []
    more = True
    while more:
        message = await receive()
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    body = b"".join(chunks)
    given = next((v for k, v in scope["headers"] if k == SIGNATURE_HEADER), b"")
    expected = b"sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest().encode()
    if not SECRET or not hmac.compare_digest(expected, given):
        await _answer(send, 401, b'{"error":"bad signature"}')
        return
    try:
        orjson.loads(body)
    except orjson.JSONDecodeError:
        await _answer(send, 400, b'{"error":"not JSON"}')
        return
    await _answer(send, 202, b'{"ok":true}')
