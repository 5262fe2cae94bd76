"""Loopback stand-ins for Slack's Web API, PagerDuty's Events API v2, Atlassian Statuspage's
REST API v1 and a webhook receiver.

Each is a real HTTP/1.1 server on 127.0.0.1 in the test's event loop (one request per
connection), so slack-sdk and httpx really talk HTTP to it. Each records every request it
received, can answer the next N requests with 500 (`fail`), or hold them (`hang`) until
`release`. They speak the documented wire formats: Slack's `{"ok": true, …}` or
`{"ok": false, "error": "name_taken"}` with HTTP 200, PagerDuty's 202 `{"status": "success",
"message": "Event processed", "dedup_key": …}` and its 400 for an invalid event.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Received:
    """One request as the stand-in read it, and the status it answered."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int = 0  # 0 while it is held (hang)

    def json(self) -> Any:
        return json.loads(self.body)

    def params(self) -> dict[str, Any]:
        """The body's fields: JSON or a form, as Slack accepts either."""
        if "json" in self.headers.get("content-type", ""):
            data = self.json()
            return data if isinstance(data, dict) else {}
        return dict(parse_qsl(self.body.decode()))


Answer = tuple[int, Any]  # status, JSON body (or text)


@dataclass
class StandIn:
    """The HTTP server and its controls; subclasses answer in `answer`."""

    requests: list[Received] = field(default_factory=list)
    _failures: deque[int] = field(default_factory=deque)
    _gate: asyncio.Event | None = None
    _holding: asyncio.Event = field(default_factory=asyncio.Event)
    _server: asyncio.Server | None = None
    url: str = ""

    async def start(self) -> StandIn:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def close(self) -> None:
        self.release()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def fail(self, times: int, status: int = 500) -> None:
        """Answer the next `times` requests with `status`."""
        self._failures.extend([status] * times)

    def hang(self) -> None:
        """Hold every request from now on until `release`."""
        self._gate = asyncio.Event()

    async def holding(self) -> None:
        """Wait until a request is held (after `hang`)."""
        await self._holding.wait()

    def release(self) -> None:
        if self._gate is not None:
            self._gate.set()
            self._gate = None

    def answer(self, request: Received) -> Answer:
        return 200, "ok"

    def failure(self, status: int) -> Any:
        return {"error": "stand-in failure"}

    def headers_for(self, request: Received) -> dict[str, str]:
        """Response headers beside Content-Type and Content-Length."""
        return {}

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await reader.readline()
            if not line:
                return
            method, target, _ = line.decode().split(" ", 2)
            headers: dict[str, str] = {}
            while (raw := await reader.readline()) not in (b"\r\n", b"\n", b""):
                name, _, value = raw.decode().partition(":")
                headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length") or 0))
            request = Received(method, urlsplit(target).path, headers, body)
            self.requests.append(request)
            if self._gate is not None:
                self._holding.set()
                await self._gate.wait()
            if self._failures:
                request.status = self._failures.popleft()
                content: Any = self.failure(request.status)
            else:
                request.status, content = self.answer(request)
            text = content if isinstance(content, str) else json.dumps(content)
            kind = "text/plain" if isinstance(content, str) else "application/json; charset=utf-8"
            data = text.encode()
            extra = "".join(f"{k}: {v}\r\n" for k, v in self.headers_for(request).items())
            # 420 (Statuspage's rate limit) is in no RFC, so not in HTTPStatus.
            phrase = (
                "Enhance Your Calm" if request.status == 420 else HTTPStatus(request.status).phrase
            )
            writer.write(
                f"HTTP/1.1 {request.status} {phrase}\r\n"
                f"Content-Type: {kind}\r\nContent-Length: {len(data)}\r\n{extra}"
                "Connection: close\r\n\r\n".encode()
                + data
            )
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


BOT = "UBOT"  # the bot's user ID (auth.test's user_id)
PERSON = "U0PERSON"  # a workspace member


@dataclass
class Channel:
    id: str
    name: str
    topic: str = ""
    is_archived: bool = False
    members: list[str] = field(default_factory=list)
    is_private: bool = False
    creator: str = PERSON

    def json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "is_channel": True,
            "is_private": self.is_private,
            "is_archived": self.is_archived,
            "creator": self.creator,
            "topic": {"value": self.topic, "creator": self.creator, "last_set": 0},
        }


@dataclass
class SlackStandIn(StandIn):
    """Slack's Web API (at `<url>/api/<method>`) and incoming webhooks (`/services/…`)."""

    token: str = "xoxb-stand-in"
    page_size: int = 2  # conversations.list pages this small: the client must follow cursors
    channels: dict[str, Channel] = field(default_factory=dict)
    messages: list[tuple[str, str]] = field(default_factory=list)  # (channel id, text)
    webhook_messages: list[dict[str, Any]] = field(default_factory=list)
    # What auth.test's `x-oauth-scopes` header says the token may do (None: no header).
    scopes: tuple[str, ...] | None = (
        "channels:manage", "channels:read", "chat:write", "groups:read", "groups:write",
    )  # fmt: skip
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        self.add_channel("incidents")
        self.add_channel("general")

    @property
    def api_url(self) -> str:
        return self.url + "/api/"

    def add_channel(self, name: str, **fields: Any) -> Channel:
        channel = Channel(f"C{next(self._ids):04d}", name, **fields)
        self.channels[channel.id] = channel
        return channel

    def named(self, name: str) -> Channel | None:
        return next((c for c in self.channels.values() if c.name == name), None)

    def calls(self, method: str | None = None) -> list[Received]:
        """The Web API requests received (of one method), in order."""
        return [
            r
            for r in self.requests
            if r.path.startswith("/api/") and (method is None or r.path == f"/api/{method}")
        ]

    def posted(self, channel: str) -> list[str]:
        """The texts posted to a channel (by name or ID)."""
        found = self.named(channel.lstrip("#"))
        cid = found.id if found is not None else channel
        return [text for where, text in self.messages if where == cid]

    def failure(self, status: int) -> Any:
        return {"ok": False, "error": "internal_error"}

    def headers_for(self, request: Received) -> dict[str, str]:
        if request.path == "/api/auth.test" and self.scopes is not None:
            return {"x-oauth-scopes": ",".join(self.scopes)}
        return {}

    def answer(self, request: Received) -> Answer:
        if request.path.startswith("/services/"):
            self.webhook_messages.append(request.json())
            return 200, "ok"
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return 200, {"ok": False, "error": "invalid_auth"}
        method = request.path.removeprefix("/api/")
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        if handler is None:
            return 404, {"ok": False, "error": "unknown_method"}
        result: dict[str, Any] = handler(request.params())
        return 200, result

    def _channel(self, ref: str) -> Channel | None:
        """A channel the bot can see: public, or private with the bot in it."""
        found = self.channels.get(ref) or self.named(ref.lstrip("#"))
        if found is None or (found.is_private and BOT not in found.members):
            return None
        return found

    def _auth_test(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": "https://acme.slack.com/", "team": "Acme", "user": "incident-bot",
                "team_id": "T0001", "user_id": BOT}  # fmt: skip

    def _conversations_create(self, p: dict[str, Any]) -> dict[str, Any]:
        name = str(p.get("name", ""))
        if self.named(name) is not None:
            return {"ok": False, "error": "name_taken"}
        if not name or len(name) > 80 or name != name.lower() or " " in name:
            return {"ok": False, "error": "invalid_name"}
        private = str(p.get("is_private")).lower() in ("1", "true")
        made = self.add_channel(name, members=[BOT], is_private=private, creator=BOT)
        return {"ok": True, "channel": made.json()}

    def _conversations_info(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(str(p.get("channel", "")))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        return {"ok": True, "channel": channel.json()}

    def _conversations_list(self, p: dict[str, Any]) -> dict[str, Any]:
        # Slack's default is public channels only; private ones only those the bot is in.
        types = str(p.get("types") or "public_channel").split(",")
        every = [
            c
            for c in self.channels.values()
            if not (c.is_archived and str(p.get("exclude_archived")) in ("1", "true", "True"))
            and ("private_channel" if c.is_private else "public_channel") in types
            and self._channel(c.id) is not None
        ]
        start = int(p.get("cursor") or 0)
        page = every[start : start + self.page_size]
        more = start + self.page_size < len(every)
        return {
            "ok": True,
            "channels": [c.json() for c in page],
            "response_metadata": {"next_cursor": str(start + self.page_size) if more else ""},
        }

    def _conversations_invite(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(str(p.get("channel", "")))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        if channel.is_archived:
            return {"ok": False, "error": "is_archived"}
        users = [u for u in str(p.get("users", "")).split(",") if u]
        new = [u for u in users if u not in channel.members]
        if not new:
            return {"ok": False, "error": "already_in_channel"}
        channel.members += new
        return {"ok": True, "channel": channel.json()}

    def _conversations_setTopic(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(str(p.get("channel", "")))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        if channel.is_archived:
            return {"ok": False, "error": "is_archived"}
        channel.topic = str(p.get("topic", ""))
        return {"ok": True, "channel": channel.json()}

    def _conversations_archive(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(str(p.get("channel", "")))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        if channel.is_archived:
            return {"ok": False, "error": "already_archived"}
        channel.is_archived = True
        return {"ok": True}

    def _chat_postMessage(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(str(p.get("channel", "")))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        if channel.is_archived:
            return {"ok": False, "error": "is_archived"}
        self.messages.append((channel.id, str(p.get("text", ""))))
        return {"ok": True, "channel": channel.id, "ts": f"{len(self.messages)}.000100"}


@dataclass
class PagerDutyStandIn(StandIn):
    """PagerDuty's Events API v2: `POST /v2/enqueue`."""

    routing_keys: frozenset[str] = frozenset({"pd-routing-key-for-tests"})
    events: list[dict[str, Any]] = field(default_factory=list)

    def answer(self, request: Received) -> Answer:
        if request.method != "POST" or request.path != "/v2/enqueue":
            return 404, {"status": "not found"}
        try:
            event = request.json()
        except ValueError:
            return 400, {"status": "invalid event", "message": "Event object is invalid"}
        errors = []
        if event.get("routing_key") not in self.routing_keys:
            errors.append("Invalid routing key")
        if event.get("event_action") not in ("trigger", "acknowledge", "resolve"):
            errors.append("'event_action' is invalid")
        payload = event.get("payload") or {}
        if event.get("event_action") == "trigger":
            for name in ("summary", "source", "severity"):
                if not payload.get(name):
                    errors.append(f"'payload.{name}' is missing or blank")
            if payload.get("severity") not in (None, "critical", "error", "warning", "info"):
                errors.append("'payload.severity' is invalid")
            if len(str(payload.get("summary", ""))) > 1024:
                errors.append("'payload.summary' is longer than 1024")
        if errors:
            return 400, {"status": "invalid event", "message": "Event object is invalid",
                         "errors": errors}  # fmt: skip
        self.events.append(event)
        return 202, {
            "status": "success",
            "message": "Event processed",
            "dedup_key": event.get("dedup_key") or "generated",
        }


INCIDENT_STATUSES = ("investigating", "identified", "monitoring", "resolved")
COMPONENT_STATUSES = (
    "operational", "degraded_performance", "partial_outage", "major_outage", "under_maintenance",
)  # fmt: skip


@dataclass
class StatuspageStandIn(StandIn):
    """Statuspage's REST API v1 for one page: `GET /v1/pages/{page}/incidents/unresolved`,
    `POST /v1/pages/{page}/incidents`, `PATCH /v1/pages/{page}/incidents/{id}`, with
    `Authorization: OAuth <key>`; 401 for another key, 404 for another page or incident,
    422 for a body it would refuse (an unknown status, a component not on the page)."""

    page_id: str = "kctbh9vrtdwd"
    api_key: str = "statuspage-api-key-for-tests"
    component_ids: frozenset[str] = frozenset({"cmpapi000001", "cmpweb000002"})
    incidents: dict[str, dict[str, Any]] = field(default_factory=dict)
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    def writes(self) -> list[Received]:
        return [r for r in self.requests if r.method in ("POST", "PATCH")]

    def answer(self, request: Received) -> Answer:
        if request.headers.get("authorization") != f"OAuth {self.api_key}":
            return 401, {"error": "Could not authenticate"}
        base = f"/v1/pages/{self.page_id}/incidents"
        if request.method == "GET" and request.path == base + "/unresolved":
            return 200, [i for i in self.incidents.values() if i["status"] != "resolved"]
        if request.method == "POST" and request.path == base:
            return self._write(None, request)
        found = self.incidents.get(request.path.removeprefix(base + "/"))
        if request.method == "PATCH" and request.path.startswith(base + "/") and found:
            return self._write(found, request)
        return 404, {"error": "The requested resource could not be found."}

    def _write(self, found: dict[str, Any] | None, request: Received) -> Answer:
        body = (request.json() or {}).get("incident")
        if not isinstance(body, dict):
            return 400, {"error": "incident is missing"}
        components = body.get("components") or {}
        errors = [
            *(["name can't be blank"] if found is None and not body.get("name") else []),
            *([] if body.get("status", "investigating") in INCIDENT_STATUSES else ["bad status"]),
            *(f"component {c} is not on this page" for c in components
              if c not in self.component_ids),
            *(f"{s} is not a component status" for s in components.values()
              if s not in COMPONENT_STATUSES),
        ]  # fmt: skip
        if errors:
            return 422, {"error": errors}
        created = found is None
        if found is None:
            found = {"id": f"inc{next(self._ids):09d}", "incident_updates": [], "components": {}}
            self.incidents[found["id"]] = found
        for name in ("name", "status", "metadata"):
            if name in body:
                found[name] = body[name]
        found["components"] = {**found["components"], **components}
        if "body" in body or "status" in body:
            found["incident_updates"].append(
                {"status": found["status"], "body": body.get("body", "")}
            )
        return (201 if created else 200), found


@dataclass
class WebhookStandIn(StandIn):
    """Any receiver of the operator's: answers 200 to whatever it is sent."""


@contextlib.contextmanager
def in_a_thread(standin: StandIn) -> Iterator[StandIn]:
    """Serve `standin` from an event loop of its own, for code that runs `asyncio.run`."""
    loop = asyncio.new_event_loop()
    started = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(standin.start())
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    started.wait(10)
    try:
        yield standin
    finally:
        asyncio.run_coroutine_threadsafe(standin.close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
