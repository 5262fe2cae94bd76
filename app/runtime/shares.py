"""Cluster mode: one sweep, its installations shared out to whichever replicas are free.

The replica holding the sweep's lock puts the installations in a Redis list and works
through it itself; every other replica's clock loop takes one when it checks its wake-ups
(every few seconds) and sweeps that installation. The holder returns once the list is empty
and none is still being worked on (or after `wait`: a helper that died leaves its
installation to the next sweep). Both keys share the hash tag `{sweep}`. While Redis is
away the holder sweeps everything itself.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

from redis.exceptions import RedisError

from app.runtime.cluster import Cluster

log = logging.getLogger(__name__)


class Shares:
    """The installations of the sweep under way, for replicas to take."""

    def __init__(self, cluster: Cluster, *, wait: float | None = None) -> None:
        self._cluster = cluster
        self._wait = cluster.lock_ttl * 4 if wait is None else wait
        base = f"{cluster.prefix}:{{sweep}}"
        self._todo, self._pending = f"{base}:todo", f"{base}:pending"

    async def offer(self, installations: list[dict[str, Any]]) -> bool:
        """Put the sweep's installations up for taking; False when Redis is away."""
        redis = self._cluster.redis
        try:
            await redis.delete(self._todo)
            await redis.set(self._pending, 0)
            if installations:
                await redis.rpush(self._todo, *(json.dumps(i) for i in installations))
        except (RedisError, OSError) as exc:
            self._cluster.down(exc)
            return False
        return True

    async def take(self) -> dict[str, Any] | None:
        """One installation to sweep, counted as being worked on; None when none is left."""
        redis = self._cluster.redis
        try:
            found = await redis.lpop(self._todo)
            if found is None:
                return None
            await redis.incr(self._pending)
        except (RedisError, OSError) as exc:
            self._cluster.down(exc)
            return None
        data = json.loads(found)
        return data if isinstance(data, dict) else None

    async def done(self) -> None:
        try:
            await self._cluster.redis.decr(self._pending)
        except (RedisError, OSError) as exc:
            self._cluster.down(exc)

    async def finished(self) -> bool:
        """Wait until no installation is left or being worked on; False after `wait`."""
        deadline = time.monotonic() + self._wait
        while time.monotonic() < deadline:
            try:
                left = await self._cluster.redis.llen(self._todo)
                busy = int(await self._cluster.redis.get(self._pending) or 0)
            except (RedisError, OSError) as exc:
                self._cluster.down(exc)
                return False
            if not left and busy <= 0:
                return True
            await asyncio.sleep(0.05)
        log.warning("sweep: a replica did not finish its installation; the next sweep heals it")
        return False
