"""Which (notifier, event) pairs were sent already: in memory, or shared by the replicas."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Protocol


class Ledger(Protocol):
    """Which (notifier, event) pairs were sent already."""

    async def first(self, key: str, ttl: float) -> bool:
        """True the first time `key` is named within `ttl` seconds, False after."""
        ...


class MemoryLedger:
    """The ledger of one process: the last `size` keys, each for its TTL."""

    def __init__(self, size: int = 10_000, clock: Callable[[], float] = time.monotonic) -> None:
        self._size = size
        self._clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()  # key → expiry

    async def first(self, key: str, ttl: float) -> bool:
        now = self._clock()
        expiry = self._seen.get(key)
        if expiry is not None and expiry > now:
            return False
        self._seen[key] = now + ttl
        self._seen.move_to_end(key)
        while len(self._seen) > self._size:
            self._seen.popitem(last=False)
        return True


class SharedLedger:
    """A ledger the replicas share (`Cluster.once`), with this process's own record in front:
    while Redis is away `once` says yes to everything, and the process still sends once."""

    def __init__(
        self, once: Callable[[str, float], Awaitable[bool]], local: Ledger | None = None
    ) -> None:
        self._once = once
        self._local = local or MemoryLedger()

    async def first(self, key: str, ttl: float) -> bool:
        if not await self._local.first(key, ttl):
            return False
        return await self._once(key, ttl)
