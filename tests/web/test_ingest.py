"""The webhook door under hostile clients: unsigned, slow, large and many bodies.

The endpoint is driven as ASGI directly, with hand-made `receive` and `send`: a client that
withholds the rest of its body waits on an event the test holds, so nothing here sleeps.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import MutableMapping
from typing import Any
from urllib.parse import urlencode

import pytest
from starlette.applications import Starlette

from app.web.ingest import MAX_BODY, MAX_BUFFERED, MAX_READERS, WebhookEndpoint
from app.web.metrics import Metrics
from app.web.webhooks import sign
from tests.conftest import SECRET, Harness, load

pytestmark = pytest.mark.anyio

PATH = "/api/github/webhooks"
PING = json.dumps(load("ping.json")).encode()
Message = MutableMapping[str, Any]


def endpoint(**limits: Any) -> WebhookEndpoint:
    """The webhook endpoint alone (setup mode: nothing is queued), with `limits` if given."""
    return WebhookEndpoint(
        Starlette(),
        path=PATH,
        secret=SECRET.encode(),
        submit=None,
        metrics=Metrics(),
        seen=lambda: None,
        **limits,
    )


class Client:
    """One request as the endpoint sees it: its body in `chunks`, then, with `gate`, a wait
    for the gate before the end of the body (forever if the gate is never opened)."""

    def __init__(
        self,
        chunks: list[bytes],
        *,
        signature: str | None = None,
        length: int | str | None = None,
        ctype: str = "application/json",
        gate: asyncio.Event | None = None,
    ) -> None:
        self.chunks = chunks
        self.gate = gate
        self.parked = asyncio.Event()  # set once it waits at the gate
        self.reads = 0
        self.sent: list[Message] = []
        body = b"".join(chunks)
        headers = [
            (b"x-github-event", b"ping"),
            (b"content-type", ctype.encode()),
            (b"x-hub-signature-256", (signature or sign(SECRET.encode(), body)).encode()),
        ]
        if length is not None:
            headers.append((b"content-length", str(length).encode()))
        self.scope: dict[str, Any] = {
            "type": "http",
            "method": "POST",
            "path": PATH,
            "headers": headers,
        }

    async def receive(self) -> Message:
        self.reads += 1
        if self.reads <= len(self.chunks):
            more = self.reads < len(self.chunks) or self.gate is not None
            return {"type": "http.request", "body": self.chunks[self.reads - 1], "more_body": more}
        assert self.gate is not None, "read past the end of the body"
        self.parked.set()
        await self.gate.wait()
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(self, message: Message) -> None:
        self.sent.append(message)

    async def to(self, app: WebhookEndpoint) -> Client:
        await app(self.scope, self.receive, self.send)
        return self

    @property
    def status(self) -> int:
        return int(self.sent[0]["status"])

    @property
    def headers(self) -> dict[bytes, bytes]:
        return dict(self.sent[0]["headers"])

    def json(self) -> Any:
        return json.loads(self.sent[1]["body"])


# --- refused on the headers alone ------------------------------------------------------


@pytest.mark.parametrize("signature", ["sha1=0123", "garbage", " sha256=" + "0" * 64])
async def test_a_signature_without_sha256_is_refused_before_the_body_is_read(
    signature: str,
) -> None:
    client = await Client([PING], signature=signature).to(endpoint())
    assert (client.status, client.reads) == (401, 0)
    assert client.headers[b"connection"] == b"close"


async def test_a_request_without_the_signature_header_reads_nothing() -> None:
    client = Client([PING])
    client.scope["headers"] = [h for h in client.scope["headers"] if h[0] != b"x-hub-signature-256"]
    await client.to(endpoint())
    assert (client.status, client.reads) == (401, 0)
    assert "X-Hub-Signature-256" in client.json()["error"]


@pytest.mark.parametrize("length", [str(MAX_BODY + 1), "9" * 5000])
async def test_a_declared_length_over_the_cap_reads_nothing(length: str) -> None:
    client = await Client([PING], length=length).to(endpoint())
    assert (client.status, client.reads) == (413, 0)


async def test_a_body_over_the_cap_stops_being_read_at_the_cap() -> None:
    megabyte = b" " * (1024 * 1024)
    client = Client([megabyte] * 40, signature="sha256=" + "0" * 64)
    await client.to(endpoint())
    assert client.status == 413
    assert client.reads == MAX_BODY // len(megabyte) + 1


# --- time ------------------------------------------------------------------------------


async def test_a_body_that_never_ends_is_answered_408() -> None:
    never = asyncio.Event()
    client = await Client([PING[:10]], gate=never).to(endpoint(body_timeout=0.01))
    assert client.status == 408
    assert client.headers[b"connection"] == b"close"
    assert "0.01 s" in client.json()["error"]


async def test_a_body_trickled_byte_by_byte_is_cut_off_at_the_time_limit() -> None:
    never = asyncio.Event()
    client = Client([PING[i : i + 1] for i in range(len(PING) - 1)], gate=never)
    await client.to(endpoint(body_timeout=0.01))
    assert client.status == 408


async def test_a_body_in_time_is_handled() -> None:
    gate = asyncio.Event()
    client = Client([PING[:10], PING[10:]], gate=gate)
    gate.set()
    await client.to(endpoint(body_timeout=5))
    assert client.status == 200


# --- many at once ----------------------------------------------------------------------


async def park(app: WebhookEndpoint, clients: list[Client]) -> list[asyncio.Task[Client]]:
    """Start `clients`, and return once each is waiting for the rest of its body."""
    tasks = [asyncio.create_task(c.to(app)) for c in clients]
    for client in clients:
        await client.parked.wait()
    return tasks


async def test_at_most_32_bodies_are_read_at_once() -> None:
    app, gate = endpoint(), asyncio.Event()
    slow = [Client([PING[:1]], gate=gate) for _ in range(MAX_READERS)]
    try:
        tasks = await park(app, slow)
        one_more = await Client([PING]).to(app)
        assert (one_more.status, one_more.reads) == (503, 0)
        assert one_more.headers[b"retry-after"].isdigit()
        assert one_more.headers[b"connection"] == b"close"
    finally:
        gate.set()
    await asyncio.gather(*tasks)
    # Their places free again once they finish.
    assert (await Client([PING]).to(app)).status == 200


async def test_declared_bytes_in_flight_are_capped_across_requests() -> None:
    app, gate = endpoint(), asyncio.Event()
    big = 24 * 1024 * 1024
    holding = [Client([PING[:1]], length=big, gate=gate) for _ in range(MAX_BUFFERED // big)]
    try:
        tasks = await park(app, holding)
        third = await Client([PING], length=big).to(app)
        assert (third.status, third.reads) == (503, 0)
        assert b"retry-after" in third.headers
        # A delivery of the usual size still fits in what is left.
        assert (await Client([PING], length=len(PING)).to(app)).status == 200
    finally:
        gate.set()
    await asyncio.gather(*tasks)
    assert (await Client([PING], length=big - 1).to(app)).status != 503


async def test_undeclared_bytes_in_flight_are_capped_while_reading() -> None:
    app, gate = endpoint(max_buffered=1000), asyncio.Event()
    try:
        tasks = await park(app, [Client([b" " * 600], gate=gate)])
        chunked = await Client([b" " * 100] * 10).to(app)
        assert chunked.status == 503
        assert chunked.reads == 5  # the chunk that would pass the budget is the last one read
    finally:
        gate.set()
    await asyncio.gather(*tasks)
    assert (await Client([b" " * 100] * 9).to(app)).status == 400  # room again; not JSON


async def test_a_client_that_leaves_gives_its_place_back() -> None:
    app = endpoint(max_readers=1, max_buffered=len(PING))
    leaving = Client([PING])

    async def gone() -> Message:
        return {"type": "http.disconnect"}

    await app(leaving.scope, gone, leaving.send)
    assert leaving.sent == []  # no one to answer
    assert (await Client([PING]).to(app)).status == 200
    assert (await Client([PING], length=len(PING)).to(app)).status == 200


# --- the form content type -------------------------------------------------------------


@pytest.mark.parametrize("fields", [11, 1000])
async def test_a_signed_form_with_too_many_fields_is_400(harness: Harness, fields: int) -> None:
    body = urlencode(
        [("payload", PING.decode())] + [(f"f{i}", "x") for i in range(fields)]
    ).encode()
    response = await harness.client.post(
        PATH,
        content=body,
        headers={
            "X-GitHub-Event": "ping",
            "X-Hub-Signature-256": sign(SECRET.encode(), body),
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert response.status_code == 400
    assert "fields" in response.json()["error"]
