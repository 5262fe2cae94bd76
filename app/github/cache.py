"""A small in-process cache with a time to live: hints only, GitHub is the record."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")

MAX_ENTRIES = 10_000


class TtlCache:
    """A small in-process cache: a hint, never the record (GitHub is the record)."""

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl, self._clock = ttl, clock
        self._data: dict[Any, tuple[float, Any]] = {}

    def get(self, key: Any) -> Any:
        hit = self._data.get(key)
        if hit is None or self._clock() - hit[0] >= self.ttl:
            self._data.pop(key, None)
            return None
        return hit[1]

    def put(self, key: Any, value: Any) -> None:
        if len(self._data) > MAX_ENTRIES:
            self._data.clear()
        self._data[key] = (self._clock(), value)


class SingleFlight:
    """Concurrent callers asking for the same key share one call: a burst of 100 deliveries
    for one repository reads its config once, not 100 times (the result is not kept: the
    callers' caches keep it)."""

    def __init__(self) -> None:
        self._running: dict[Any, asyncio.Future[Any]] = {}

    async def run(self, key: Any, call: Callable[[], Awaitable[T]]) -> T:
        running = self._running.get(key)
        if running is None:
            running = asyncio.ensure_future(call())
            self._running[key] = running
            running.add_done_callback(lambda _: self._running.pop(key, None))
        # shield: one caller's cancellation (its answer's deadline) leaves the call running
        # for the others and for the cache.
        return await asyncio.shield(running)
