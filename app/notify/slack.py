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

The SDK runs in our threads (`slack_client`); the channels are kept by `slack_channels`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.webhook import WebhookClient

from app.core.notify import Event, Kind
from app.notify.attempts import Attempts, Permanent, Transient
from app.notify.operator import SlackNotifier
from app.notify.slack_channels import Channel, Channels
from app.notify.slack_client import SDK_LOG, Threads
from app.notify.slack_text import (
    announcement,
    channel_name,
    message,
    open_topic,
    resolved_topic,
    shared,
)

log = logging.getLogger(__name__)


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
    public = False

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
            logger=SDK_LOG,
        )
        self._threads = Threads(pool)
        self._channels = Channels(self.call, self._bot_id)
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
        channel = await self._channels.of(event, attempts, create=create)
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
            self._channels.forget(event.incident)
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

    async def _topic(self, channel: Channel, topic: str, attempts: Attempts) -> None:
        await self.call("conversations.setTopic", attempts, channel=channel.id, topic=topic)

    async def _invite(self, channel: Channel, event: Event, attempts: Attempts) -> None:
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

    async def sweep(self, now: datetime, attempts: Attempts) -> list[str]:
        """Archive the incident channels resolved more than `archive_after` ago."""
        return await self._channels.sweep(now, attempts, archive_after=self.config.archive_after)


class SlackWebhook:
    """An incoming webhook: every event's message, posted to the one channel it is bound to."""

    kind = "slack"
    public = False

    def __init__(self, config: SlackNotifier, *, timeout: float, pool: ThreadPoolExecutor):
        assert config.webhook_url is not None
        self._client = WebhookClient(
            config.webhook_url.get_secret_value(),
            timeout=max(1, round(timeout)),
            retry_handlers=[],
            logger=SDK_LOG,
        )
        self._threads = Threads(pool)

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
