"""Slack channels per incident: remembered, found again by name, created, and archived
once resolved long enough ago (Slack holds the state, in each channel's topic)."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from app.core.notify import Event
from app.notify.attempts import Attempts, Permanent
from app.notify.slack_text import PREFIX, belongs, channel_name, channel_names, resolved_at

log = logging.getLogger(__name__)

CACHED_CHANNELS = 1000

# One Web API method, tried again while it fails transiently: its JSON answer (SlackApp.call).
Call = Callable[..., Awaitable[dict[str, Any]]]


@dataclass
class Channel:
    """One incident's channel as the bot last saw it."""

    id: str
    archived: bool = False
    created: bool = False
    name: str = ""
    private: bool = False


class Channels:
    """The incident channels this process knows of, and finding, creating, archiving them."""

    def __init__(self, call: Call, bot_id: Callable[[Attempts], Awaitable[str]]) -> None:
        self._call = call
        self._bot_id = bot_id
        self._known: OrderedDict[str, Channel] = OrderedDict()  # incident → channel

    def forget(self, incident: str) -> None:
        """The incident's channel is gone (archived or deleted): look again next time."""
        self._known.pop(incident, None)

    async def of(self, event: Event, attempts: Attempts, *, create: bool) -> Channel | None:
        """The incident's channel: remembered, found by name, or (with `create`) created.
        A name another incident holds is passed over for the next (`channel_names`)."""
        found = self._known.get(event.incident)
        if found is not None and (found.private or not event.confidential):
            self._known.move_to_end(event.incident)
            return found
        # Not remembered, or public and the incident has become confidential since.
        found = None
        for name in channel_names(event):
            if create:
                try:
                    data = await self._call(
                        "conversations.create",
                        attempts,
                        name=name,
                        is_private=event.confidential,
                    )
                    found = Channel(
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
            self._known[event.incident] = found
            while len(self._known) > CACHED_CHANNELS:
                self._known.popitem(last=False)
        return found

    async def _find(self, name: str, event: Event, attempts: Attempts) -> Channel | None:
        """The channel named `name`, if it is this incident's (`belongs`, on what
        conversations.info says of it)."""
        async for listed in self._list(attempts, exclude_archived=False):
            if listed.get("name") != name:
                continue
            data = await self._call("conversations.info", attempts, channel=listed["id"])
            info = data.get("channel")
            channel: dict[str, Any] = info if isinstance(info, dict) else listed
            if not belongs(channel, event, await self._bot_id(attempts)):
                return None
            return Channel(
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
            data = await self._call(
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

    async def sweep(
        self, now: datetime, attempts: Attempts, *, archive_after: timedelta
    ) -> list[str]:
        """Archive the incident channels resolved more than `archive_after` ago."""
        archived: list[str] = []
        async for channel in self._list(attempts, exclude_archived=True):
            name = str(channel.get("name", ""))
            if not name.startswith(PREFIX) or channel.get("is_archived"):
                continue
            when = resolved_at(str((channel.get("topic") or {}).get("value") or ""))
            if when is None or now - when < archive_after:
                continue
            try:
                await self._call("conversations.archive", attempts, channel=channel["id"])
            except Permanent as exc:
                if exc.error != "already_archived":
                    log.warning("slack: archiving #%s: %s", name, exc.reason)
                    continue
            archived.append(name)
            self._known = OrderedDict(
                (k, v) for k, v in self._known.items() if v.id != channel["id"]
            )
        return archived
