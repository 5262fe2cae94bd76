"""Background work after the answer: serialised and coalesced per issue (or repository)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from app.core.keys import Hints, IssueKey
from app.runtime.cluster import Busy

log = logging.getLogger(__name__)

V = TypeVar("V")
Runner = Callable[[IssueKey, Hints], Awaitable[object]]
SharedLock = Callable[[IssueKey], contextlib.AbstractAsyncContextManager[object]]


@dataclass
class _Slot(Generic[V]):
    pending: V | None = None
    task: asyncio.Task[None] | None = None
    runs: int = field(default=0)


class KeyedQueue(Generic[V]):
    """One worker per key at a time; work that arrives meanwhile merges into one rerun.

    A burst waits `delay` seconds and then runs once. Work for different keys runs
    concurrently, up to `concurrency`.
    """

    def __init__(
        self,
        run: Callable[[IssueKey, V], Awaitable[object]],
        merge: Callable[[V, V], V],
        *,
        delay: float = 0.5,
        concurrency: int = 8,
        shared: SharedLock | None = None,
        on_busy: Callable[[IssueKey, V], None] | None = None,
    ) -> None:
        self._run = run
        self._merge = merge
        self._on_busy = on_busy
        self._shared = shared
        self._delay = delay
        self._slots: dict[IssueKey, _Slot[V]] = {}
        self._limit = asyncio.Semaphore(concurrency)
        self._locks: dict[IssueKey, tuple[asyncio.Lock, int]] = {}
        self.accepting = True

    @contextlib.asynccontextmanager
    async def exclusive(self, key: IssueKey) -> AsyncIterator[None]:
        """Hold the issue: webhook work and the tick never reconcile one issue at once.

        In cluster mode the issue's lock in Redis is taken too, inside this process's: a
        replica's workers queue here rather than each polling Redis.
        """
        lock, users = self._locks.get(key) or (asyncio.Lock(), 0)
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                if self._shared is None:
                    yield
                else:
                    async with self._shared(key):
                        yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    def submit(self, key: IssueKey, work: V) -> bool:
        """Queue work for a key; False when shutting down."""
        if not self.accepting:
            return False
        slot = self._slots.setdefault(key, _Slot())
        slot.pending = work if slot.pending is None else self._merge(slot.pending, work)
        if slot.task is None:
            slot.task = asyncio.get_running_loop().create_task(self._worker(key, slot))
        return True

    async def _worker(self, key: IssueKey, slot: _Slot[V]) -> None:
        try:
            while slot.pending is not None:
                if self._delay:
                    await asyncio.sleep(self._delay)
                work, slot.pending = slot.pending, None
                try:
                    async with self._limit, self.exclusive(key):
                        await self._run(key, work)
                except Busy:
                    # Another replica has held the key for long. An issue's holder reads
                    # GitHub afresh, and the tick heals whatever this delivery would have
                    # added; other work may ask to be tried again later (`on_busy`).
                    log.warning("%s is busy on another replica: left to it", key)
                    if self._on_busy is not None:
                        self._on_busy(key, work)
                except Exception:
                    log.exception("work for %s failed", key, extra={"issue": str(key)})
                slot.runs += 1
        finally:
            slot.task = None
            if self._slots.get(key) is slot and slot.pending is None:
                del self._slots[key]

    @property
    def busy(self) -> int:
        return len(self._slots)

    async def drain(self) -> None:
        """Wait until every queued and running piece of work is done."""
        while True:
            tasks = [s.task for s in self._slots.values() if s.task is not None]
            if not tasks:
                return
            await asyncio.gather(*tasks, return_exceptions=True)

    async def close(self, timeout: float) -> int:
        """Stop accepting, finish what we can within `timeout`; return how many were abandoned.

        Abandoned work is not lost: the next tick reconciles every open incident.
        """
        self.accepting = False
        tasks = [s.task for s in self._slots.values() if s.task is not None]
        if not tasks:
            return 0
        # asyncio.wait, unlike wait_for, does not cancel what is still running at the timeout.
        _, pending = await asyncio.wait(tasks, timeout=timeout)
        for task in pending:
            task.cancel()
        return len(pending)


class IssueQueue(KeyedQueue[Hints]):
    """One worker per issue at a time; deliveries that arrive meanwhile merge into one rerun.

    A burst (opened + labeled + labeled within milliseconds) waits `delay` seconds and then
    runs once: the deliveries' hints merged (the freshest issue, the earliest declaration).
    """

    def __init__(
        self,
        run: Runner,
        *,
        delay: float = 0.5,
        concurrency: int = 8,
        shared: SharedLock | None = None,
    ) -> None:
        super().__init__(run, Hints.merge, delay=delay, concurrency=concurrency, shared=shared)
