"""A small in-process cache with a time to live: hints only, GitHub is the record."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

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
