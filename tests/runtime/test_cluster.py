"""Cluster mode against a real redis-server: replicas share locks, GUIDs, pacing and the tick.

Each test's instances are `create_app(...)` with their own state, sharing the GitHub double
and one Redis. redis-server must be installed (.ci/run installs it): these tests never skip.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from app.core import markers
from app.core.keys import IssueKey
from app.runtime.cluster import Cluster
from app.settings import Settings
from app.web.server import create_app
from tests.conftest import (
    CRON_SECRET,
    INSTALLATION_ID,
    REPO,
    WEBHOOKS,
    Clock,
    GitHubDouble,
    Harness,
    Sleeps,
    delivery_for,
    marked,
)

pytestmark = pytest.mark.anyio

FROZEN = 1_000_000.0  # the pacing clock of every replica: waits are then slot offsets


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RedisServer:
    """A redis-server of our own on a loopback port, in a temporary directory."""

    directory: Path
    port: int
    cluster: bool = False
    process: subprocess.Popen[bytes] | None = None
    bus_port: int = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}" + ("?cluster=1" if self.cluster else "")

    def cli(self, *args: str) -> str:
        return subprocess.run(
            ["redis-cli", "-p", str(self.port), *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout.strip()

    def start(self) -> None:
        server = shutil.which("redis-server")
        assert server, "redis-server is missing: .ci/run installs it (apt-get install redis-server)"
        args = [
            server,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.directory),
        ]
        args += ["--save", "", "--appendonly", "no"]
        if self.cluster:
            # The bus port defaults to port + 10000, which may be taken or past 65535.
            args += ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"]
            args += ["--cluster-port", str(self.bus_port)]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while self.cli("ping") != "PONG":
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.02)
        if self.cluster and "cluster_state:ok" not in self.cli("cluster", "info"):
            self.cli("cluster", "addslotsrange", "0", "16383")
            while "cluster_state:ok" not in self.cli("cluster", "info"):
                assert time.monotonic() < deadline, "the cluster did not come up"
                time.sleep(0.02)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


def _server(tmp: Path, *, cluster: bool = False) -> Iterator[RedisServer]:
    server = RedisServer(tmp, _free_port(), cluster=cluster, bus_port=_free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def redis_single(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    yield from _server(tmp_path_factory.mktemp("redis"))


@pytest.fixture(scope="module")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    yield from _server(tmp_path_factory.mktemp("redis-cluster"), cluster=True)


@pytest.fixture
def redis_own(tmp_path: Path) -> Iterator[RedisServer]:
    """A server this test alone may stop and start again."""
    yield from _server(tmp_path)


class Replicas:
    """Several app instances, each with its own state, one GitHub double and one Redis."""

    def __init__(self, github: GitHubDouble, clock: Clock) -> None:
        self.github = github
        self.clock = clock
        self.prefix = f"t-{uuid.uuid4().hex[:8]}"  # each test its own keys
        self.harnesses: list[Harness] = []
        self.clusters: list[Cluster] = []
        self._clients: list[httpx.AsyncClient] = []
        self._guids = itertools.count(1)

    def add(
        self,
        settings: Settings,
        url: str,
        *,
        sleep: Any = None,
        lock_ttl: float = 30.0,
        lock_wait: float | None = None,
    ) -> Harness:
        cluster = Cluster.from_url(
            url, lock_ttl=lock_ttl, lock_wait=lock_wait, prefix=self.prefix, clock=lambda: FROZEN
        )
        sleeps = sleep or Sleeps()
        app = create_app(settings, now=self.clock, sleep=sleeps, cluster=cluster)
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://r")
        harness = Harness(app, client, self.github, self.clock, sleeps)
        self.harnesses.append(harness)
        self.clusters.append(cluster)
        self._clients.append(client)
        return harness

    def guid(self) -> str:
        return f"guid-{next(self._guids)}"

    async def drain(self) -> None:
        for _ in range(2):  # work one replica left may have been queued meanwhile
            await asyncio.gather(*(h.drain() for h in self.harnesses))

    async def close(self) -> None:
        for client in self._clients:
            await client.aclose()
        for cluster in self.clusters:
            await cluster.close()


@pytest.fixture
async def replicas(github: GitHubDouble, clock: Clock) -> AsyncIterator[Replicas]:
    found = Replicas(github, clock)
    yield found
    await found.close()


def paced(settings: Settings) -> Settings:
    return settings.model_copy(update={"write_interval": 1.0})


def briefs(github: GitHubDouble, number: int) -> list[str]:
    return marked(github.posted_comments(number), markers.Brief)


def declare(github: GitHubDouble, numbers: range) -> None:
    for n in numbers:
        github.add_issue(n, labels=("incident", "sev:P1"), title=f"Outage {n}")


async def burst(replicas: Replicas, numbers: range, per_incident: int = 4) -> None:
    """`per_incident` deliveries for each incident, spread round-robin over the replicas,
    sent at once; nothing drained."""
    github = replicas.github
    sends = []
    targets = itertools.cycle(replicas.harnesses)
    for _round in range(per_incident):
        for n in numbers:
            payload = delivery_for(github, "issues.opened-incident-p0.json", number=n)
            sends.append(
                next(targets).deliver("issues", payload, delivery=replicas.guid(), drain=False)
            )
    answers = await asyncio.gather(*sends)
    assert {a.status_code for a in answers} == {202}


@pytest.mark.parametrize("mode", ["single", "cluster"])
async def test_three_replicas_post_one_brief_per_incident_paced_per_installation(
    mode: str, request: pytest.FixtureRequest, replicas: Replicas, settings: Settings
) -> None:
    server: RedisServer = request.getfixturevalue(f"redis_{mode}")
    github = replicas.github
    for _ in range(3):
        replicas.add(paced(settings), server.url)
    declare(github, range(1, 11))
    await burst(replicas, range(1, 11))  # 40 deliveries
    await replicas.drain()
    assert [len(briefs(github, n)) for n in range(1, 11)] == [1] * 10
    # Pacing: with the replicas' clock frozen, each wait is the offset of the write slot the
    # shared script handed out; the first write took slot 0 and did not wait.
    writes = [w for w in github.writes if w[1].startswith("/repos/")]
    slots = sorted([0.0] + [w for h in replicas.harnesses for w in h.sleeps.waits])
    assert len(slots) == len(writes) == 20  # labels and brief, per incident
    assert all(b - a >= 0.999 for a, b in itertools.pairwise(slots)), "two writes in one second"
    busiest = max(sum(1 for s in slots if t <= s < t + 60) for t in slots)
    assert busiest < 80


async def test_a_replica_killed_mid_work_leaves_the_incident_to_another(
    replicas: Replicas, settings: Settings, redis_single: RedisServer
) -> None:
    github = replicas.github
    paused, never = asyncio.Event(), asyncio.Event()

    async def freeze(seconds: float) -> None:  # the second write waits its slot: it dies there
        paused.set()
        await never.wait()

    dying = replicas.add(paced(settings), redis_single.url, sleep=freeze, lock_ttl=0.3)
    heir = replicas.add(paced(settings), redis_single.url, lock_ttl=0.3, lock_wait=1.5)
    declare(github, range(1, 2))
    payload = delivery_for(github, "issues.opened-incident-p0.json", number=1)
    await dying.deliver("issues", payload, delivery="d-1", drain=False)
    await asyncio.wait_for(paused.wait(), 5)
    # Killed while holding the lock: cancelled, it does not let go; the lock expires.
    assert await dying.app.state.queue.close(timeout=0) == 1
    assert briefs(github, 1) == []
    started = time.monotonic()
    await heir.deliver("issues", payload, delivery="d-2")
    assert time.monotonic() - started < 2  # waited out the 0.3 s lock, no longer
    assert len(briefs(github, 1)) == 1
    assert "sev:P1" in github.issue(1).labels


async def test_a_paused_replica_whose_lock_was_taken_over_writes_nothing(
    replicas: Replicas, settings: Settings, redis_single: RedisServer
) -> None:
    github = replicas.github
    paused, resume = asyncio.Event(), asyncio.Event()

    async def stall(seconds: float) -> None:  # a long GC pause, or a frozen VM
        paused.set()
        await resume.wait()

    slow = replicas.add(paced(settings), redis_single.url, sleep=stall)
    other = replicas.add(paced(settings), redis_single.url)
    declare(github, range(1, 2))
    payload = delivery_for(github, "issues.opened-incident-p0.json", number=1)
    await slow.deliver("issues", payload, delivery="p-1", drain=False)
    await asyncio.wait_for(paused.wait(), 5)
    # Meanwhile its lock expired (as for a paused process: deleted here, no waiting) and the
    # other replica took it and did the work.
    cluster = replicas.clusters[0]
    lock = cluster.issue_key(IssueKey(INSTALLATION_ID, *REPO.split("/"), 1)) + ":lock"
    assert await cluster._redis.delete(lock) == 1
    await other.deliver("issues", payload, delivery="p-2")
    assert len(briefs(github, 1)) == 1
    before = list(github.writes)
    resume.set()
    await slow.drain()
    assert github.writes == before  # the fencing check stopped its next write
    assert len(briefs(github, 1)) == 1


async def test_redis_stopped_mid_burst_and_restarted_posts_nothing_twice(
    replicas: Replicas,
    settings: Settings,
    redis_own: RedisServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    github = replicas.github
    for _ in range(3):
        replicas.add(settings, redis_own.url)
    declare(github, range(1, 11))
    await burst(replicas, range(1, 6), per_incident=2)
    await replicas.drain()
    redis_own.stop()
    # Down: webhooks still answered, health says so, work goes on per process.
    first = replicas.harnesses[0]
    health = await first.client.get("/healthz")
    assert (health.status_code, health.text) == (200, "degraded: redis unreachable")
    for i, n in enumerate(range(1, 11)):
        payload = delivery_for(github, "issues.opened-incident-p0.json", number=n)
        harness = replicas.harnesses[i % 3]
        answer = await harness.deliver("issues", payload, delivery=f"down-{n}")
        assert answer.status_code == 202
    outage = [r for r in caplog.records if r.getMessage().startswith("redis unreachable")]
    assert len(outage) == 3  # once per replica for the whole outage
    redis_own.start()
    await burst(replicas, range(1, 11), per_incident=3)
    await replicas.drain()
    assert [len(briefs(github, n)) for n in range(1, 11)] == [1] * 10
    health = await first.client.get("/healthz")
    assert (health.status_code, health.text) == (200, "ok")


async def test_a_delivery_is_processed_once_across_replicas(
    replicas: Replicas, settings: Settings, redis_single: RedisServer
) -> None:
    github = replicas.github
    a = replicas.add(settings, redis_single.url)
    b = replicas.add(settings, redis_single.url)
    declare(github, range(1, 2))
    payload = delivery_for(github, "issues.opened-incident-p0.json", number=1)
    await a.deliver("issues", payload, delivery="same-guid")
    reads = len(github.requests)
    await b.deliver("issues", payload, delivery="same-guid")  # GitHub's retry, elsewhere
    assert len(github.requests) == reads  # not even read again
    assert len(briefs(github, 1)) == 1


async def test_one_tick_at_a_time_across_replicas(
    replicas: Replicas, settings: Settings, redis_single: RedisServer
) -> None:
    a = replicas.add(settings, redis_single.url)
    b = replicas.add(settings, redis_single.url)
    auth = {"Authorization": f"Bearer {CRON_SECRET}"}
    async with replicas.clusters[0].tick():  # a tick running on replica a
        busy = await b.client.post("/cron/tick", headers=auth)
    assert busy.status_code == 409
    done = await a.client.post("/cron/tick", headers=auth)
    assert done.status_code == 200


def test_the_redis_password_is_a_secret() -> None:
    settings = Settings(_env_file=None, redis_url="redis://:s3cr%40t@redis:6379/0")  # type: ignore[call-arg]
    assert {"s3cr@t", "s3cr%40t", "redis://:s3cr%40t@redis:6379/0"} <= set(settings.secrets())


def test_incident_app_tick_waits_its_turn_with_the_replicas(
    redis_single: RedisServer,
    private_key: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`incident-app tick` from cron takes the same tick lock as the replicas' /cron/tick."""
    import redis as sync_redis

    from app.cli import main

    monkeypatch.chdir(tmp_path)  # no .env
    monkeypatch.setenv("APP_ID", "424242")
    monkeypatch.setenv("PRIVATE_KEY", private_key)
    monkeypatch.setenv("REDIS_URL", redis_single.url)
    held = sync_redis.Redis.from_url(redis_single.url)
    held.set("incident-app:tick", "another-replica", px=30_000)  # a replica's tick runs
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level  # the CLI configures logging: put it back
    try:
        assert main(["tick"]) == 3
    finally:
        root.handlers[:], root.level = handlers, level
        held.delete("incident-app:tick")
        held.close()
    assert "another replica's tick is running" in capsys.readouterr().err


async def test_once_is_true_for_one_caller_across_replicas(redis_own: RedisServer) -> None:
    prefix = f"t-{uuid.uuid4().hex[:8]}"
    a = Cluster.from_url(redis_own.url, prefix=prefix)
    b = Cluster.from_url(redis_own.url, prefix=prefix)
    try:
        key = "payments-slack:acme/web#1:comment:7"
        assert await a.once(key, 60) is True
        assert await b.once(key, 60) is False
        assert await a.once(key, 60) is False
        assert await b.once("payments-slack:acme/web#1:comment:8", 60) is True
        assert 0 < int(redis_own.cli("ttl", f"{prefix}:{{once:{key}}}")) <= 60
        redis_own.stop()  # Redis away: go ahead (the notifiers keep a record per process)
        assert await a.once(key, 60) is True
        assert a.available is False
    finally:
        await a.close()
        await b.close()


@pytest.mark.parametrize("mode", ["single", "cluster"])
async def test_one_alert_sent_to_three_replicas_at_once_opens_one_issue(
    mode: str, request: pytest.FixtureRequest, replicas: Replicas, settings: Settings
) -> None:
    """Alertmanager in HA sends one group from each instance, and retries: 30 copies spread
    over three replicas at once open one incident (the repository's lock in Redis)."""
    server: RedisServer = request.getfixturevalue(f"redis_{mode}")
    token = "cluster-alerts-token"
    with_alerts = settings.model_copy(update={"alerts_token": SecretStr(token)})
    for _ in range(3):
        replicas.add(with_alerts, server.url)
    replicas.github.files[(REPO.lower(), ".github/incident.yml")] = "alerts: {enabled: true}\n"
    payload = json.loads((WEBHOOKS / "alerts" / "alertmanager-firing.json").read_text())
    targets = itertools.cycle(replicas.harnesses)
    answers = await asyncio.gather(
        *(
            next(targets).client.post(
                f"/alerts/alertmanager/{REPO}",
                json=payload,
                headers={"Authorization": f"Bearer {token}"},
            )
            for _ in range(30)
        )
    )
    assert {a.status_code for a in answers} == {202}
    for _ in range(2):
        await asyncio.gather(*(h.app.state.alerts.drain() for h in replicas.harnesses))
        await replicas.drain()
    issues = [i for i in replicas.github.issues.values() if "alert" in i.labels]
    assert len(issues) == 1
    assert len(briefs(replicas.github, issues[0].number)) == 1
