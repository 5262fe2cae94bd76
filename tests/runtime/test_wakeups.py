"""Wake-ups shared by replicas on a real redis-server (standalone and Cluster): each posted
once, none lost with a replica, per process while Redis is away."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from app.core.keys import IssueKey
from app.runtime.wakeups import LocalWakeups, Wake
from tests.conftest import INSTALLATION_ID, REPO, T0, Harness
from tests.runtime.test_cluster import RedisServer, Replicas
from tests.runtime.test_tick import ROSTER, escalations
from tests.runtime.test_timing import fire, timing

pytestmark = pytest.mark.anyio

KEY = IssueKey(INSTALLATION_ID, *REPO.split("/"), 1)
DEADLINE = T0 + timedelta(minutes=15)


def shared(replicas: Replicas, settings: object, url: str, n: int = 3) -> list[Harness]:
    made = []
    for _ in range(n):
        harness = replicas.add(settings, url)  # type: ignore[arg-type]
        made.append(harness)
    return made


async def declare_p0(replicas: Replicas, first: Harness) -> None:
    from tests.conftest import delivery_for

    github = replicas.github
    github.files[(REPO.lower(), ".github/incident.yml")] = ROSTER
    github.add_issue(1, labels=("incident", "sev:P0"))
    payload = delivery_for(github, "issues.opened-incident-p0.json", number=1)
    await first.deliver("issues", payload, delivery=replicas.guid())


@pytest.mark.parametrize("mode", ["single", "cluster"])
async def test_three_replicas_post_the_escalation_once(
    mode: str, request: pytest.FixtureRequest, replicas: Replicas, settings: object
) -> None:
    server: RedisServer = request.getfixturevalue(f"redis_{mode}")
    harnesses = shared(replicas, settings, server.url)
    await declare_p0(replicas, harnesses[0])
    replicas.clock.now = DEADLINE + timedelta(seconds=3)
    # All three check at once, and again: one claims it, one posts.
    first = await asyncio.gather(*(timing(h).check() for h in harnesses))
    await replicas.drain()
    again = await asyncio.gather(*(timing(h).check() for h in harnesses))
    await replicas.drain()
    assert sorted(first) == [0, 0, 1] and again == [0, 0, 0]
    assert len(escalations(harnesses[0])) == 1


async def test_a_replica_killed_with_wake_ups_pending_loses_none(
    replicas: Replicas, settings: object, redis_single: RedisServer
) -> None:
    dying, heir, _third = shared(replicas, settings, redis_single.url)
    await declare_p0(replicas, dying)
    replicas.clock.now = DEADLINE + timedelta(seconds=1)
    # The dying replica claims the wake-up, then dies before its worker runs.
    claimed = await timing(dying).wakeups.claim(replicas.clock.now)
    assert claimed == [Wake("incident", KEY)]
    await timing(dying).stop()
    assert await dying.app.state.queue.close(timeout=0) == 0
    assert await fire(heir) == 0  # leased to the dead replica
    replicas.clock.now += timing(heir).wakeups.lease  # the lease is over (twice the lock's)
    assert await fire(heir) == 1
    assert len(escalations(heir)) == 1


async def test_while_redis_is_away_each_replica_keeps_its_own_and_redis_gets_them_back(
    replicas: Replicas, settings: object, redis_own: RedisServer
) -> None:
    (only,) = shared(replicas, settings, redis_own.url, n=1)
    await declare_p0(replicas, only)
    redis_own.stop()
    replicas.clock.now = DEADLINE + timedelta(seconds=2)
    assert await fire(only) == 1  # from its own heap
    assert len(escalations(only)) == 1
    redis_own.start()
    wakeups = timing(only).wakeups
    assert await wakeups.claim(replicas.clock.now) == []
    assert wakeups.resweep  # the loop sweeps: what other replicas set meanwhile is found
    members = await replicas.clusters[0].redis.zrange(wakeups._set(0), 0, -1)
    for shard in range(1, 8):
        members += await replicas.clusters[0].redis.zrange(wakeups._set(shard), 0, -1)
    assert [m.decode() for m in members] == [Wake("incident", KEY).member()]


def test_a_wake_up_names_its_issue_and_kind_and_nothing_else_parses() -> None:
    wake = Wake("reminder", IssueKey(7, "acme", "shop.web", 12))
    assert Wake.parse(wake.member()) == wake
    assert Wake.parse(wake.member().encode()) == wake
    for bad in ("", "x|1|a/b#1", "incident|one|a/b#1", "incident|1|ab#1", "incident|1|a/b#x"):
        assert Wake.parse(bad) is None


async def test_the_local_heap_hands_each_due_wake_up_out_once_and_leases_it() -> None:
    local = LocalWakeups(lease=60)
    wake = Wake("incident", KEY)
    await local.put(wake, T0)
    await local.put(wake, T0 + timedelta(minutes=1))  # moved: the old time is stale
    assert await local.claim(T0 + timedelta(seconds=30)) == []
    assert await local.claim(T0 + timedelta(minutes=1)) == [wake]
    assert await local.claim(T0 + timedelta(minutes=1)) == []
    assert await local.claim(T0 + timedelta(minutes=2)) == [wake]  # the lease came back
    await local.drop(wake)
    assert await local.claim(T0 + timedelta(hours=1)) == []


async def test_a_lock_left_by_a_dead_replica_heals_within_its_expiry_without_a_tick(
    replicas: Replicas, settings: object, redis_single: RedisServer
) -> None:
    from tests.conftest import delivery_for
    from tests.runtime.test_cluster import briefs, paced

    paused, never = asyncio.Event(), asyncio.Event()

    async def freeze(seconds: float) -> None:  # its second write waits for a slot: dies there
        paused.set()
        await never.wait()

    github = replicas.github
    dying = replicas.add(paced(settings), redis_single.url, sleep=freeze, lock_ttl=0.3)  # type: ignore[arg-type]
    heir = replicas.add(paced(settings), redis_single.url, lock_ttl=0.3, lock_wait=1.5)  # type: ignore[arg-type]
    github.add_issue(1, labels=("incident", "sev:P1"))
    payload = delivery_for(github, "issues.opened-incident-p0.json", number=1)
    await dying.deliver("issues", payload, delivery="d-1", drain=False)
    await asyncio.wait_for(paused.wait(), 5)
    assert await dying.app.state.queue.close(timeout=0) == 1  # killed holding the lock
    assert briefs(github, 1) == []
    replicas.clock.now += timedelta(seconds=0.3)  # the lock's expiry, on GitHub's clock
    assert await fire(heir) == 1  # no delivery, no tick: the heir's check finds it
    assert len(briefs(github, 1)) == 1


async def test_one_sweep_is_shared_out_to_the_replicas_by_installation(
    replicas: Replicas, settings: object, redis_single: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.runtime import tick as ticks
    from tests.conftest import CRON_SECRET

    github = replicas.github
    holder, helper = shared(replicas, settings, redis_single.url, n=2)
    github.installations = [INSTALLATION_ID, 2]
    github.repos[2] = ["acme/payments"]
    for repo in (REPO, "acme/payments"):
        github.files[(repo.lower(), ".github/incident.yml")] = ROSTER
        github.add_issue(1, labels=("incident", "sev:P0"), repo=repo)
    monkeypatch.setattr(ticks, "SHARED_WORKERS", 1)
    mine = holder.app.state.ticker
    real, first, go = mine._installation, asyncio.Event(), asyncio.Event()

    async def slow(*args: object) -> None:
        first.set()
        await go.wait()  # the holder is busy with its first installation…
        await real(*args)

    monkeypatch.setattr(mine, "_installation", slow)
    replicas.clock.now = T0 + timedelta(minutes=20)
    sweep = asyncio.create_task(
        holder.client.post("/cron/tick", headers={"Authorization": f"Bearer {CRON_SECRET}"})
    )
    await asyncio.wait_for(first.wait(), 5)
    assert await helper.app.state.ticker.help()  # …so the other replica takes the second
    assert not await helper.app.state.ticker.help()
    go.set()
    answer = await sweep
    assert answer.status_code == 200 and answer.json()["errors"] == []
    await replicas.drain()
    for repo in (REPO, "acme/payments"):
        posted = github.posted_comments(1, repo=repo)
        assert sum('"k":"escalation"' in c for c in posted) == 1
