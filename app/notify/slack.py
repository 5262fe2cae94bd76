"""Slack: a channel per P0/P1 incident (`#incident-<repo>-<number>`), announcements, archiving.

With a bot token every P0/P1 event goes to the incident's channel, created on its first event
(found again by name after a restart or on another replica: Slack holds the state, including
when the channel was resolved, in its topic, so `sweep` needs no memory of its own). P2/P3
events go to the notifier's `channel`. With an incoming webhook every event goes to it.

A confidential incident (a private repository's, or one ever labelled `security` or `breach`)
gets a private channel, and in shared places (the notifier's `channel`, an incoming webhook)
only a link: never its title or text. A channel is the incident's only when the bot created
it and its topic ends with the issue's URL: a name someone else took, or another incident's
channel, is passed over for the next name.

slack-sdk's async client needs aiohttp, a second HTTP stack beside httpx; its sync client
needs nothing more, so it runs here in a small thread pool of our own, one request per call
with the SDK's own retries off: the retries are ours (`Attempts`).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import urllib.error
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from http.client import HTTPException
from typing import Any, TypeVar

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from app.core.notify import Event, Kind
from app.notify.attempts import Attempts, Permanent, SendError, Transient
from app.notify.operator import SlackNotifier
from app.notify.slack_text import (
    PREFIX,
    announcement,
    belongs,
    channel_name,
    channel_names,
    message,
    open_topic,
    resolved_at,
    resolved_topic,
    shared,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

# slack-sdk logs each request at DEBUG, an incoming webhook's URL (a secret) among them.
_SDK_LOG = logging.getLogger("app.notify.slack.sdk")
_SDK_LOG.setLevel(logging.INFO)

CACHED_CHANNELS = 1000
# Slack's `error` codes that say "try again later".
_TRANSIENT = {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "timeout"}


def _failure(exc: BaseException, what: str) -> SendError:
    """A slack-sdk or urllib error as ours: transient or a refusal with Slack's code."""
    if isinstance(exc, SlackApiError):
        status = exc.response.status_code
        data = exc.response.data
        error = str(data.get("error", "")) if isinstance(data, dict) else ""
        if status == 429 or error == "ratelimited":
            after = exc.response.headers.get("retry-after") or exc.response.headers.get(
                "Retry-After"
            )
            retry = float(after) if isinstance(after, str) and after.isdigit() else None
            return Transient(f"Slack {what}: rate limited", retry)
        if status >= 500 or error in _TRANSIENT:
            return Transient(f"Slack {what}: {error or status}")
        return Permanent(f"Slack {what}: {error or status}", error)
    if isinstance(exc, TimeoutError | socket.timeout):
        return Transient(f"Slack {what}: no answer in time")
    # urllib's errors name the reason, never the URL (an incoming webhook's is a secret).
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else type(exc).__name__
    return Transient(f"Slack {what}: unreachable ({reason})")


class _Threads:
    """Runs the SDK's blocking calls in our thread pool, its errors turned into ours."""

    def __init__(self, pool: ThreadPoolExecutor) -> None:
        self._pool = pool

    async def run(self, what: str, call: Callable[[], T]) -> T:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool, call)
        except (SlackApiError, OSError, HTTPException) as exc:
            raise _failure(exc, what) from None


@dataclass
class _Channel:
    id: str
    archived: bool = False
    created: bool = False
    name: str = ""
    private: bool = False


@dataclass(frozen=True)
class Identity:
    """Who the bot token is (auth.test)."""

    user: str
    team: str
    user_id: str
    scopes: frozenset[str] | None  # from `x-oauth-scopes`; None when Slack did not say


# What the bot token needs: channels (public and private) made, read, topics set, invites,
# archiving; messages posted.
SCOPES = ("channels:manage", "channels:read", "groups:write", "groups:read", "chat:write")


class SlackApp:
    """A workspace through a bot token: channels per incident, announcements, archiving."""

    kind = "slack"

    def __init__(
        self,
        config: SlackNotifier,
        *,
        people: Mapping[str, str],
        api_url: str,
        timeout: float,
        pool: ThreadPoolExecutor,
    ) -> None:
        assert config.bot_token is not None
        self.config = config
        self._people = people
        self._client = WebClient(
            token=config.bot_token.get_secret_value(),
            base_url=api_url,
            timeout=max(1, round(timeout)),
            retry_handlers=[],
            logger=_SDK_LOG,
        )
        self._threads = _Threads(pool)
        self._channels: OrderedDict[str, _Channel] = OrderedDict()  # incident → channel
        self._invited: dict[str, set[str]] = {}  # channel id → user IDs invited by us
        self._bot = ""  # the bot's user ID, from auth.test when first needed

    def wants(self, event: Event) -> bool:
        return True

    async def call(
        self, method: str, attempts: Attempts, *, json: bool = False, **params: Any
    ) -> dict[str, Any]:
        """One Web API method, tried again while it fails transiently; its JSON answer."""

        def once() -> dict[str, Any]:
            if json:
                reply = self._client.api_call(method, json=params)
            else:
                reply = self._client.api_call(method, params=params)
            return reply.data if isinstance(reply.data, dict) else {}

        return await attempts.run(lambda: self._threads.run(method, once))

    async def whoami(self, attempts: Attempts | None = None) -> Identity:
        """auth.test: the bot's user, team and the token's scopes, or a SendError."""

        def once() -> Identity:
            reply = self._client.api_call("auth.test")
            data = reply.data if isinstance(reply.data, dict) else {}
            headers = {str(k).lower(): v for k, v in (reply.headers or {}).items()}
            scopes = headers.get("x-oauth-scopes")
            if isinstance(scopes, list):  # some transports keep every value of a header
                scopes = ",".join(scopes)
            return Identity(
                user=str(data.get("user") or "?"),
                team=str(data.get("team") or "?"),
                user_id=str(data.get("user_id") or ""),
                scopes=None
                if scopes is None
                else frozenset(p.strip() for p in str(scopes).split(",") if p.strip()),
            )

        tries = attempts or Attempts(attempts=1)
        return await tries.run(lambda: self._threads.run("auth.test", once))

    async def _bot_id(self, attempts: Attempts) -> str:
        if not self._bot:
            self._bot = (await self.whoami(attempts)).user_id
        return self._bot

    async def send(self, event: Event, attempts: Attempts) -> None:
        if event.severity.rank > 1:
            await self._post(self.config.channel, shared(event), attempts)
            return
        create = event.kind not in (Kind.RESOLVED, Kind.REVIEW)
        channel = await self._channel(event, attempts, create=create)
        if channel is None or channel.archived:
            if channel is not None:
                log.warning(
                    "slack: %s's channel #%s is archived (a bot cannot unarchive it): "
                    "posting to %s",
                    event.incident,
                    channel.name,
                    self.config.channel,
                )
            await self._post(self.config.channel, shared(event), attempts)
            return
        if channel.created:
            await self._topic(channel, open_topic(event), attempts)
        await self._invite(channel, event, attempts)
        try:
            await self._post(channel.id, message(event, in_channel=True), attempts)
        except Permanent as exc:
            if exc.error not in ("is_archived", "channel_not_found"):
                raise
            # Archived (or deleted) since we last looked: say it where everyone reads.
            log.warning(
                "slack: #%s: %s: posting to %s", channel.name, exc.error, self.config.channel
            )
            self._channels.pop(event.incident, None)
            await self._post(self.config.channel, shared(event), attempts)
            return
        if event.kind is Kind.RESOLVED:
            await self._topic(channel, resolved_topic(event), attempts)
        elif event.kind is Kind.REOPENED:
            await self._topic(channel, open_topic(event), attempts)
        if channel.created or event.kind is Kind.DECLARED:
            await self._post(self.config.channel, announcement(event, channel.id), attempts)
            channel.created = False

    async def _post(self, channel: str, text: str, attempts: Attempts) -> None:
        await self.call(
            "chat.postMessage",
            attempts,
            json=True,
            channel=channel,
            text=text,
            unfurl_links=False,
            unfurl_media=False,
        )

    async def _topic(self, channel: _Channel, topic: str, attempts: Attempts) -> None:
        await self.call("conversations.setTopic", attempts, channel=channel.id, topic=topic)

    async def _invite(self, channel: _Channel, event: Event, attempts: Attempts) -> None:
        """Invite the role holders Slack knows; someone unknown or unable to join is skipped."""
        ids = {**{k.lower(): v for k, v in event.slack_ids.items()}, **self._people}
        invited = self._invited.setdefault(channel.id, set())
        users = [ids[p.lower()] for p in event.people if p.lower() in ids]
        users = [u for u in dict.fromkeys(users) if u not in invited]
        if not users:
            return
        try:
            await self.call(
                "conversations.invite",
                attempts,
                channel=channel.id,
                users=",".join(users),
                force=True,
            )
        except Permanent as exc:
            if exc.error != "already_in_channel":
                log.warning("slack: inviting to #%s: %s", channel_name(event), exc.reason)
        invited.update(users)

    async def _channel(self, event: Event, attempts: Attempts, *, create: bool) -> _Channel | None:
        """The incident's channel: remembered, found by name, or (with `create`) created.
        A name another incident holds is passed over for the next (`channel_names`)."""
        found = self._channels.get(event.incident)
        if found is not None and (found.private or not event.confidential):
            self._channels.move_to_end(event.incident)
            return found
        # Not remembered, or public and the incident has become confidential since.
        found = None
        for name in channel_names(event):
            if create:
                try:
                    data = await self.call(
                        "conversations.create",
                        attempts,
                        name=name,
                        is_private=event.confidential,
                    )
                    found = _Channel(
                        str(data["channel"]["id"]),
                        created=True,
                        name=name,
                        private=event.confidential,
                    )
                except Permanent as exc:
                    if exc.error != "name_taken":
                        raise
                    # Another replica or an earlier run made it, another incident has it,
                    # or someone else took the name.
                    found = await self._find(name, event, attempts)
            else:
                found = await self._find(name, event, attempts)
            if found is not None:
                break
        else:
            if create:
                raise Permanent(
                    f"Slack: #{channel_name(event)} and the names after it are taken, and "
                    f"none of them is a channel the bot made for {event.incident}"
                )
        if found is not None:
            self._channels[event.incident] = found
            while len(self._channels) > CACHED_CHANNELS:
                self._channels.popitem(last=False)
        return found

    async def _find(self, name: str, event: Event, attempts: Attempts) -> _Channel | None:
        """The channel named `name`, if it is this incident's (`belongs`, on what
        conversations.info says of it)."""
        async for listed in self._list(attempts, exclude_archived=False):
            if listed.get("name") != name:
                continue
            data = await self.call("conversations.info", attempts, channel=listed["id"])
            info = data.get("channel")
            channel: dict[str, Any] = info if isinstance(info, dict) else listed
            if not belongs(channel, event, await self._bot_id(attempts)):
                return None
            return _Channel(
                str(channel["id"]),
                archived=bool(channel.get("is_archived")),
                name=name,
                private=bool(channel.get("is_private")),
            )
        return None

    async def _list(
        self, attempts: Attempts, *, exclude_archived: bool
    ) -> AsyncIterator[dict[str, Any]]:
        """Every public channel, and the private ones the bot is in, page by page."""
        cursor = ""
        while True:
            page: dict[str, Any] = {"cursor": cursor} if cursor else {}
            data = await self.call(
                "conversations.list",
                attempts,
                types="public_channel,private_channel",
                exclude_archived=exclude_archived,
                limit=1000,
                **page,
            )
            for channel in data.get("channels") or []:
                if isinstance(channel, dict):
                    yield channel
            cursor = str((data.get("response_metadata") or {}).get("next_cursor") or "")
            if not cursor:
                return

    async def sweep(self, now: datetime, attempts: Attempts) -> list[str]:
        """Archive the incident channels resolved more than `archive_after` ago."""
        archived: list[str] = []
        async for channel in self._list(attempts, exclude_archived=True):
            name = str(channel.get("name", ""))
            if not name.startswith(PREFIX) or channel.get("is_archived"):
                continue
            when = resolved_at(str((channel.get("topic") or {}).get("value") or ""))
            if when is None or now - when < self.config.archive_after:
                continue
            try:
                await self.call("conversations.archive", attempts, channel=channel["id"])
            except Permanent as exc:
                if exc.error != "already_archived":
                    log.warning("slack: archiving #%s: %s", name, exc.reason)
                    continue
            archived.append(name)
            self._channels = OrderedDict(
                (k, v) for k, v in self._channels.items() if v.id != channel["id"]
            )
        return archived


class SlackWebhook:
    """An incoming webhook: every event's message, posted to the one channel it is bound to."""

    kind = "slack"

    def __init__(self, config: SlackNotifier, *, timeout: float, pool: ThreadPoolExecutor):
        assert config.webhook_url is not None
        self._client = WebhookClient(
            config.webhook_url.get_secret_value(),
            timeout=max(1, round(timeout)),
            retry_handlers=[],
            logger=_SDK_LOG,
        )
        self._threads = _Threads(pool)

    def wants(self, event: Event) -> bool:
        return True

    async def send(self, event: Event, attempts: Attempts) -> None:
        # The webhook's channel is whatever the operator bound it to: a shared place.
        text = shared(event)
        await attempts.run(lambda: self._post(text))

    async def _post(self, text: str) -> None:
        reply = await self._threads.run(
            "webhook",
            lambda: self._client.send(text=text, unfurl_links=False, unfurl_media=False),
        )
        if reply.status_code == 200:
            return
        # Slack's error bodies are codes (`invalid_payload`, `no_service`): safe to show.
        body = (reply.body or "")[:100]
        if reply.status_code == 429 or reply.status_code >= 500:
            raise Transient(f"Slack webhook answered {reply.status_code}")
        raise Permanent(f"Slack webhook refused the message ({reply.status_code} {body})", body)

    async def sweep(self, now: datetime, attempts: Attempts) -> list[str]:
        return []
