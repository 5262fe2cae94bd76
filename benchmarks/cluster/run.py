"""Cluster mode: declarations per minute and GitHub requests per declaration, 1 and 3 replicas.

Each replica is a real `create_app(...)` with its own state, all in this one process and event
loop, against the test suite's GitHub double (tests/conftest.py) and one redis-server this
script starts on a free loopback port (Debian's `redis-server` must be installed). A
declaration is three deliveries (opened, labeled, labeled) sent round-robin over the
replicas, so most bursts land on more than one replica and meet in Redis.

Two rates per row:
- wall: declarations per minute of wall time with pacing off (WRITE_INTERVAL=0): what the
  coordination (locks, GUIDs, the slot script) costs, CPU and Redis round trips. In one
  process, more replicas add no CPU: this measures overhead, not scaling.
- paced: with WRITE_INTERVAL=1 as in production, from the write slots the shared script
  handed out (a frozen clock, no sleeping): GitHub's secondary limit, not the replicas,
  bounds one installation.

    python -m benchmarks.cluster.run [--incidents 60]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import respx  # noqa: E402

from app.core import markers  # noqa: E402
from app.runtime.cluster import Cluster  # noqa: E402
from app.web.server import create_app  # noqa: E402
from tests.conftest import (  # noqa: E402
    T0,
    Clock,
    GitHubDouble,
    Harness,
    Sleeps,
    delivery_for,
    make_settings,
    marked,
    new_private_key,
)

FROZEN = 1_000_000.0


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    server = shutil.which("redis-server")
    if server is None:
        raise SystemExit("redis-server is missing: apt-get install redis-server")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.Popen(
            [
                server,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--dir",
                tmp,
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
        )
        try:
            while (
                subprocess.run(
                    ["redis-cli", "-p", str(port), "ping"], capture_output=True, text=True
                ).stdout.strip()
                != "PONG"
            ):
                time.sleep(0.02)
            yield f"redis://127.0.0.1:{port}"
        finally:
            proc.terminate()
            proc.wait()


async def scenario(
    url: str | None, replicas: int, incidents: int, interval: float, key: str
) -> dict[str, float]:
    settings = make_settings(key).model_copy(update={"write_interval": interval})
    clock = Clock(T0 + timedelta(minutes=1))
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        github = GitHubDouble(router, clock)
        for n in range(1, incidents + 1):
            github.add_issue(n, labels=("incident", "sev:P1"), title=f"Outage {n}")
        harnesses, clusters, clients = [], [], []
        for _ in range(replicas):
            cluster = Cluster.from_url(url, prefix=prefix, clock=lambda: FROZEN) if url else None
            sleeps = Sleeps()
            app = create_app(settings, now=clock, sleep=sleeps, cluster=cluster)
            client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://b")
            harnesses.append(Harness(app, client, github, clock, sleeps))
            clusters.append(cluster)
            clients.append(client)
        names = (
            "issues.opened-incident-p0.json",
            "issues.labeled-incident.json",
            "issues.labeled-sev-p1.json",
        )
        started = time.perf_counter()
        sends = []
        i = 0
        for n in range(1, incidents + 1):
            for name in names:
                payload = delivery_for(github, name, number=n)
                sends.append(
                    harnesses[i % replicas].deliver(
                        "issues", payload, delivery=f"g{i}", drain=False
                    )
                )
                i += 1
        await asyncio.gather(*sends)
        for _ in range(2):
            await asyncio.gather(*(h.drain() for h in harnesses))
        elapsed = time.perf_counter() - started
        briefs = sum(
            len(marked(github.posted_comments(n), markers.Brief)) for n in range(1, incidents + 1)
        )
        assert briefs == incidents, f"{briefs} briefs for {incidents} incidents"
        counted = [r for r in github.requests if "/access_tokens" not in r[1]]
        last_slot = max((w for h in harnesses for w in h.sleeps.waits), default=0.0)
        for client in clients:
            await client.aclose()
        for cluster in clusters:
            if cluster is not None:
                await cluster.close()
    return {
        "wall_per_minute": incidents / elapsed * 60,
        "requests_per_declaration": len(counted) / incidents,
        "writes_per_declaration": len([r for r in counted if r[0] != "GET"]) / incidents,
        "paced_per_minute": incidents / (last_slot + interval) * 60 if interval else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=60)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    key = new_private_key()
    print(
        "| replicas | Redis | declarations/min (wall, unpaced) | declarations/min (paced 1 s) "
        "| GitHub requests/declaration | writes/declaration |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    with redis_server() as url:
        for replicas, shared in ((1, None), (1, url), (3, url)):
            fast = asyncio.run(scenario(shared, replicas, args.incidents, 0.0, key))
            slow = asyncio.run(scenario(shared, replicas, args.incidents, 1.0, key))
            paced = f"{slow['paced_per_minute']:.1f}" if shared else "— (per process)"
            print(
                f"| {replicas} | {'yes' if shared else 'no'} | {fast['wall_per_minute']:.0f} "
                f"| {paced} | {fast['requests_per_declaration']:.2f} "
                f"| {fast['writes_per_declaration']:.2f} |"
            )


if __name__ == "__main__":
    main()
