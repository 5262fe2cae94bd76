"""Cluster mode: what replicas share through Redis (REDIS_URL), and per-process fallbacks.

Shared, each for a guarantee the single process keeps in memory:
- one lock per issue (SET NX PX with a random token), renewed while working and checked
  before every GitHub write, so a paused replica whose lock expired and was taken over
  writes nothing (fencing);
- the delivery GUIDs a worker has taken on, for a day (SET NX EX 86400): a redelivery or a
  retry landing on another replica is processed once;
- each installation's next free write slot (a Lua script): GitHub's secondary limit counts
  an installation's writes, not a process's;
- one tick at a time;
- the wake-ups (app/runtime/wakeups.py), built on the client and the availability here.

Keys of one issue share a hash tag (`{…}`), so the claim script, which reads the lock and
writes the GUIDs, touches one Redis Cluster slot. When Redis is unreachable every call here
answers "go ahead" and the app is one process per replica again (logged once per outage);
the markers and the tick make what runs twice meanwhile a no-op.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import math
import secrets
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from app.core.keys import IssueKey
from app.github.errors import GitHubError

log = logging.getLogger(__name__)

DELIVERY_SECONDS = 86400  # GitHub redelivers for three days; retries come within minutes

# Renew the lock's expiry if it is still ours; 0 when another replica holds it now.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

# Release the lock only if it is still ours.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""

# While holding the issue's lock (KEYS[1]), take on the deliveries KEYS[2..]: 1 for each
# not seen before, 0 for each seen; -1 alone when the lock is no longer ours.
_CLAIM = """
if ARGV[1] ~= '' and redis.call('GET', KEYS[1]) ~= ARGV[1] then
    return {-1}
end
local fresh = {}
for i = 2, #KEYS do
    if redis.call('SET', KEYS[i], '1', 'NX', 'EX', ARGV[2]) then
        fresh[#fresh + 1] = 1
    else
        fresh[#fresh + 1] = 0
    end
end
return fresh
"""

# The next free write slot of one installation, in ms: max(now, last + interval), kept as
# the new last. Returns how long the caller waits for it. `now` is the caller's clock when
# given, else Redis's own (one clock for every replica).
_SLOT = """
local now = tonumber(ARGV[2])
if not now then
    local t = redis.call('TIME')
    now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local interval = tonumber(ARGV[1])
local last = tonumber(redis.call('GET', KEYS[1]))
local slot = now
if last and last + interval > now then
    slot = last + interval
end
redis.call('SET', KEYS[1], slot, 'PX', math.floor(slot - now + interval + 1000))
return math.floor(slot - now)
"""


class Busy(Exception):
    """Another replica holds the lock and did not let go in time."""


TAKEN_OVER = "the issue's lock was taken over: not writing"


class LockLost(GitHubError):
    """The issue's lock expired and another replica took it: this run must write nothing.

    A GitHubError, so the executor stops at it like at any refused write and the reconciler
    reports it; the other replica re-plans from GitHub's record."""

    def __init__(self, key: str) -> None:
        super().__init__("—", key, 0, TAKEN_OVER)


@dataclass
class Lease:
    """One held lock: its key, our token, and whether we know it is gone."""

    cluster: Cluster
    key: str
    token: str
    ttl: float
    lost: bool = False
    _renewer: asyncio.Task[None] | None = field(default=None, repr=False)

    async def check(self) -> None:
        """Raise LockLost unless the lock is still ours; renew its expiry while at it."""
        if self.lost:
            raise LockLost(self.key)
        held = await self.cluster.script(
            _RENEW, [self.key], [self.token, int(self.ttl * 1000)], fallback=1
        )
        if not held:
            self.lost = True
            log.warning("lock %s was taken over: this replica stops writing", self.key)
            raise LockLost(self.key)

    async def _renew(self) -> None:
        # Renew three times per TTL; a replica too paused to do so loses the lock, and
        # `check` before its next write tells it.
        while not self.lost:
            await asyncio.sleep(self.ttl / 3)
            with contextlib.suppress(LockLost):
                await self.check()


# The lease of the issue the current task works on, for the write guard.
_LEASE: contextvars.ContextVar[Lease | None] = contextvars.ContextVar("lease", default=None)


class Cluster:
    """Coordination across replicas in one Redis (or Redis Cluster)."""

    def __init__(
        self,
        redis: Any,
        *,
        lock_ttl: float = 30.0,
        lock_wait: float | None = None,
        prefix: str = "incident-app",
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._redis = redis
        self.lock_ttl = lock_ttl
        self.lock_wait = lock_ttl + 5 if lock_wait is None else lock_wait
        self._prefix = prefix
        self._clock = clock
        self.available = True
        self._scripts: dict[str, Any] = {}

    @classmethod
    def from_url(cls, url: str, **options: Any) -> Cluster:
        """A Redis client for `url`; `?cluster=1` (or `cluster=true`) means Redis Cluster."""
        parts = urlsplit(url)
        query = parse_qsl(parts.query)
        cluster = any(k == "cluster" and v.lower() in ("1", "true", "yes") for k, v in query)
        clean = urlunsplit(parts._replace(query=urlencode([q for q in query if q[0] != "cluster"])))
        common: dict[str, Any] = {
            "socket_connect_timeout": 2.0,
            "socket_timeout": 2.0,
            # Fail fast: while Redis is away, work goes on per process (module docstring).
            "retry": Retry(NoBackoff(), 1),
        }
        client: Any = (
            RedisCluster.from_url(clean, **common) if cluster else Redis.from_url(clean, **common)
        )
        return cls(client, **options)

    async def close(self) -> None:
        await self._redis.aclose()

    @property
    def redis(self) -> Any:
        """The client, for the layers built on it (app/runtime/wakeups.py)."""
        return self._redis

    @property
    def prefix(self) -> str:
        return self._prefix

    def down(self, exc: BaseException) -> None:
        """A call failed: per process until Redis answers again."""
        self._down(exc)

    def up(self) -> None:
        self._up()

    # --- availability ---

    def _down(self, exc: BaseException) -> None:
        if self.available:
            # Once per outage; the type only, never the URL (it may hold a password).
            log.warning("redis unreachable (%s): coordinating per process", type(exc).__name__)
        self.available = False

    def _up(self) -> None:
        if not self.available:
            log.info("redis reachable again: coordinating across replicas")
        self.available = True

    async def ping(self) -> bool:
        """Ask Redis; say whether it answered (and log a change)."""
        try:
            await self._redis.ping()
        except (RedisError, OSError) as exc:
            self._down(exc)
            return False
        self._up()
        return True

    async def script(
        self, source: str, keys: Sequence[str], args: Sequence[Any], *, fallback: Any
    ) -> Any:
        """Run a Lua script; `fallback` when Redis is unreachable."""
        runner = self._scripts.get(source)
        if runner is None:
            runner = self._scripts[source] = self._redis.register_script(source)
        try:
            found = await runner(keys=list(keys), args=list(args))
        except (RedisError, OSError) as exc:
            self._down(exc)
            return fallback
        self._up()
        return found

    # --- keys ---

    def issue_key(self, key: IssueKey) -> str:
        """The hash tag every key of one issue shares."""
        return f"{self._prefix}:{{{key.installation_id}/{key.owner}/{key.repo}#{key.number}}}"

    # --- locks ---

    @contextlib.asynccontextmanager
    async def lock(self, name: str, *, wait: float | None = None) -> AsyncIterator[Lease | None]:
        """Hold `name` across replicas, renewed while inside; None when Redis is away.

        Raises Busy when another replica holds it longer than `wait` seconds. A holder that
        is cancelled (shut down, or killed mid-write) leaves the lock to expire rather than
        awaiting Redis while being torn down.
        """
        lease = await self._acquire(name, self.lock_wait if wait is None else wait)
        if lease is None:
            yield None
            return
        lease._renewer = asyncio.get_running_loop().create_task(lease._renew())
        token = _LEASE.set(lease)
        cancelled = False
        try:
            yield lease
        except asyncio.CancelledError:
            cancelled = True
            raise
        finally:
            _LEASE.reset(token)
            lease._renewer.cancel()
            if not cancelled and not lease.lost:
                await self.script(_RELEASE, [lease.key], [lease.token], fallback=0)

    async def _acquire(self, name: str, wait: float) -> Lease | None:
        token = secrets.token_hex(16)
        deadline = time.monotonic() + wait
        pause = 0.02
        while True:
            try:
                got = await self._redis.set(name, token, nx=True, px=int(self.lock_ttl * 1000))
            except (RedisError, OSError) as exc:
                self._down(exc)
                return None
            self._up()
            if got:
                return Lease(self, name, token, self.lock_ttl)
            if time.monotonic() >= deadline:
                raise Busy(name)
            # The holder is working; it usually lets go within seconds, or its lock expires.
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.5)

    def issue(self, key: IssueKey) -> contextlib.AbstractAsyncContextManager[Lease | None]:
        """The lock of one issue: webhook work and ticks of every replica, one at a time."""
        return self.lock(self.issue_key(key) + ":lock")

    def site(self, name: str) -> contextlib.AbstractAsyncContextManager[Lease | None]:
        """The lock of one public status site: its commits, one replica at a time."""
        return self.lock(f"{self._prefix}:{{{name}}}:lock")

    def tick(self) -> contextlib.AbstractAsyncContextManager[Lease | None]:
        """The lock of the tick: one at a time across replicas; Busy at once if held."""
        return self.lock(f"{self._prefix}:tick", wait=0)

    # --- deliveries ---

    async def claim(self, key: IssueKey, delivery_ids: Sequence[str]) -> list[str]:
        """Take on the deliveries not seen before by any replica in the last day.

        Call while holding the issue's lock: the script checks the lock is still ours, so a
        replica that lost it claims nothing. Without Redis every delivery is new.
        """
        if not delivery_ids:
            return []
        lease = _LEASE.get()
        base = self.issue_key(key)
        found = await self.script(
            _CLAIM,
            [base + ":lock", *(f"{base}:delivery:{d}" for d in delivery_ids)],
            [lease.token if lease else "", DELIVERY_SECONDS],
            fallback=[1] * len(delivery_ids),
        )
        if list(found) == [-1]:
            raise LockLost(base + ":lock")
        return [d for d, fresh in zip(delivery_ids, found, strict=True) if fresh]

    async def forget(self, key: IssueKey, delivery_ids: Sequence[str]) -> None:
        """Let deliveries be taken on again (their work failed: a retry should run)."""
        if not delivery_ids:
            return
        base = self.issue_key(key)
        for d in delivery_ids:
            try:
                await self._redis.delete(f"{base}:delivery:{d}")
            except (RedisError, OSError) as exc:
                self._down(exc)
                return

    # --- once across replicas ---

    async def once(self, key: str, ttl: float) -> bool:
        """True for the first caller of any replica to name `key` within `ttl` seconds
        (SET NX EX); True as well while Redis is away: the caller keeps its own record."""
        try:
            got = await self._redis.set(
                f"{self._prefix}:{{once:{key}}}", "1", nx=True, ex=max(1, math.ceil(ttl))
            )
        except (RedisError, OSError) as exc:
            self._down(exc)
            return True
        self._up()
        return bool(got)

    # --- what app/github's Pacer plugs in ---

    async def reserve(self, scope: str, interval: float) -> float | None:
        """The installation's next free write slot: seconds to wait; None without Redis."""
        now = "" if self._clock is None else int(self._clock() * 1000)
        found = await self.script(
            _SLOT,
            [f"{self._prefix}:{{pace:{scope}}}"],
            [int(interval * 1000), now],
            fallback=None,
        )
        return None if found is None else int(found) / 1000

    async def guard(self) -> None:
        """Before each GitHub write: raise LockLost if this task's issue lock is not ours."""
        lease = _LEASE.get()
        if lease is not None:
            await lease.check()
