"""Wake-ups: when each issue is next due, in this process (a heap) or shared by replicas.

A wake-up names an issue and a moment. `put` sets (or moves) it; `claim(now)` hands out the
ones due and leases them: a claimed wake-up comes back `lease` seconds later unless whoever
reconciles the issue puts its next moment (or drops it) first. So a replica that dies
between the claim and the reconciliation loses nothing: another claims it after the lease.

Shared (cluster mode): one sorted set per shard, scored by the due time in ms, each set under
its own hash tag so the one claim script touches one Redis Cluster slot. While Redis is away
the process's own heap serves (it shadows every `put`); when Redis answers again, the heap's
wake-ups are put back and `resweep` asks for a sweep to find what others scheduled meanwhile.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from redis.exceptions import RedisError

from app.core.keys import IssueKey
from app.runtime.cluster import Cluster

log = logging.getLogger(__name__)

Kind = Literal["incident", "reminder"]  # reminder: a review or an action item the app opened
SHARDS = 8
CLAIM_LIMIT = 100  # per shard and check; the rest come at the next check

# Take the members due by ARGV[1] (ms), at most ARGV[3], and lease them: their score moves
# ARGV[2] ms on, so a claimer that dies lets them come back.
_CLAIM = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local lease = tonumber(ARGV[1]) + tonumber(ARGV[2])
for _, member in ipairs(due) do
    redis.call('ZADD', KEYS[1], lease, member)
end
return due
"""


@dataclass(frozen=True, order=True)
class Wake:
    """What is woken: an issue, as an incident or as a reminder's issue."""

    kind: Kind
    key: IssueKey

    def member(self) -> str:
        k = self.key
        return f"{self.kind}|{k.installation_id}|{k.owner}/{k.repo}#{k.number}"

    @classmethod
    def parse(cls, member: str | bytes) -> Wake | None:
        text = member.decode() if isinstance(member, bytes) else member
        try:
            kind, installation, rest = text.split("|", 2)
            full, number = rest.rsplit("#", 1)
            owner, repo = full.split("/", 1)
            if kind not in ("incident", "reminder"):
                return None
            return cls(kind, IssueKey(int(installation), owner, repo, int(number)))  # type: ignore[arg-type]
        except ValueError:
            return None


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


class LocalWakeups:
    """The process's own wake-ups: a heap of (due, wake), stale entries skipped."""

    def __init__(self, *, lease: float = 60.0) -> None:
        self.lease = timedelta(seconds=lease)
        self._due: dict[Wake, datetime] = {}
        self._heap: list[tuple[datetime, int, Wake]] = []
        self._order = itertools.count()
        self.resweep = False

    async def put(self, wake: Wake, at: datetime) -> None:
        self._put(wake, at)

    def _put(self, wake: Wake, at: datetime) -> None:
        self._due[wake] = at
        heapq.heappush(self._heap, (at, next(self._order), wake))

    async def drop(self, wake: Wake) -> None:
        self._due.pop(wake, None)

    async def claim(self, now: datetime) -> list[Wake]:
        return self._claim(now)

    def _claim(self, now: datetime) -> list[Wake]:
        found: dict[Wake, None] = {}
        while self._heap and self._heap[0][0] <= now:
            at, _, wake = heapq.heappop(self._heap)
            if self._due.get(wake) == at:
                found[wake] = None
        for wake in found:
            self._put(wake, now + self.lease)
        return list(found)

    def next_at(self) -> datetime | None:
        """The earliest wake-up this process knows of."""
        while self._heap and self._due.get(self._heap[0][2]) != self._heap[0][0]:
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None

    def known(self) -> dict[Wake, datetime]:
        return dict(self._due)

    async def every(self) -> list[Wake]:
        """Every wake-up set (the sweep revisits them: search's index lags)."""
        return list(self._due)


class SharedWakeups(LocalWakeups):
    """Wake-ups in Redis, shared by the replicas; the local heap while Redis is away."""

    def __init__(self, cluster: Cluster, *, lease: float = 60.0, shards: int = SHARDS) -> None:
        super().__init__(lease=lease)
        self._cluster = cluster
        self._shards = shards
        self._was_up = True

    def _set(self, shard: int) -> str:
        return f"{self._cluster.prefix}:{{wake:{shard}}}"

    def _shard_of(self, member: str) -> int:
        return zlib.crc32(member.encode()) % self._shards

    async def put(self, wake: Wake, at: datetime) -> None:
        self._put(wake, at)
        member = wake.member()
        await self._call("zadd", self._set(self._shard_of(member)), {member: _ms(at)})

    async def drop(self, wake: Wake) -> None:
        await super().drop(wake)
        member = wake.member()
        await self._call("zrem", self._set(self._shard_of(member)), member)

    async def _call(self, command: str, *args: object) -> bool:
        try:
            await getattr(self._cluster.redis, command)(*args)
        except (RedisError, OSError) as exc:
            self._cluster.down(exc)
            return False
        self._cluster.up()
        return True

    async def claim(self, now: datetime) -> list[Wake]:
        """The wake-ups due by `now` across replicas, each handed to one claimer."""
        found: list[Wake] = []
        for shard in range(self._shards):
            members = await self._cluster.script(
                _CLAIM,
                [self._set(shard)],
                [_ms(now), int(self.lease.total_seconds() * 1000), CLAIM_LIMIT],
                fallback=None,
            )
            if members is None:
                self._was_up = False
                return self._claim(now)  # Redis is away: this process's own, as one process
            found += [w for m in members if (w := Wake.parse(m)) is not None]
        if not self._was_up:
            await self._restore()
        # What Redis serves, this process's heap need not: its due entries are let go.
        for wake in self._claim(now):
            self._due.pop(wake, None)
        return found

    async def _restore(self) -> None:
        """Redis is back: put this process's wake-ups there and ask for a sweep."""
        log.info("wake-ups: redis is back, restoring %d and sweeping", len(self._due))
        self._was_up = True
        self.resweep = True
        for wake, at in list(self._due.items()):
            member = wake.member()
            await self._call("zadd", self._set(self._shard_of(member)), {member: _ms(at)})

    async def every(self) -> list[Wake]:
        found: list[Wake] = []
        for shard in range(self._shards):
            try:
                members = await self._cluster.redis.zrange(self._set(shard), 0, -1)
            except (RedisError, OSError) as exc:
                self._cluster.down(exc)
                return await super().every()
            found += [w for m in members if (w := Wake.parse(m)) is not None]
        return found

    def next_at(self) -> datetime | None:
        # Others' wake-ups are in Redis: check at every interval, not only at our own.
        return None
