"""Timing at scale: how late each deadline's comment comes, and what a sweep costs, with
100 to 5,000 repositories — the app as real processes over an HTTP GitHub double.

    python -m benchmarks.scale.run [--sizes 100,1000,5000] [--modes alone,tick,replicas]
                                   [--incidents 5 --spacing 5]

Per size and mode it starts the GitHub double (benchmarks/scale/github.py: the suite's
double over HTTP, `--latency` per request, a search index lagging `--lag` seconds) seeded
with one installation of N repositories and 5 open P0 incidents in the last ones, their
15-minute response deadlines falling 40 s after start and 5 s apart; then `incident-app
serve` as one process (modes `alone`, `tick`) or three processes on one redis-server
(`replicas`). Real time, wall clock: nothing is told when a deadline comes.

- `alone`: no outside tick at all: the server's start-up sweep finds the incidents, their
  wake-ups post the escalations.
- `tick`: as `alone` plus an outside `POST /cron/tick` 20 s in (one tick of a 15-minute
  schedule falls inside the run's minute).
- `replicas`: three servers sharing REDIS_URL; each escalation must be posted once.

It prints, per row: repositories, latency, open incidents, requests and wall time of a
steady-state sweep (a `POST /cron/tick` once the start-up sweep is over), requests of the
start-up sweep, and seconds from each deadline to its escalation comment (max, and the
count of escalation comments, which must equal the incidents).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.conftest import APP_ID, new_private_key  # noqa: E402

CRON = "bench-cron"
ESCALATION = '"k":"escalation"'  # the marker of an escalation comment
FIRST = 40.0  # the first deadline, seconds after start


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code < 500:
                return
        time.sleep(0.2)
    raise SystemExit(f"{url} did not come up")


@contextlib.contextmanager
def process(args: list[str], env: dict[str, str], cwd: str) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(args, env=env, cwd=cwd, stdout=subprocess.DEVNULL)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


@dataclass
class Row:
    repos: int
    mode: str
    latency: float
    incidents: int
    sweep_requests: int = 0
    sweep_seconds: float = 0.0
    startup_requests: int = 0
    lags: list[float] = field(default_factory=list)
    escalations: int = 0
    searches: int = 0


def bench(github: str) -> dict[str, Any]:
    return dict(httpx.get(f"{github}/_bench", timeout=30).json())


def run_one(
    repos: int,
    mode: str,
    latency: float,
    lag: float,
    key: str,
    incidents: int,
    spacing: float,
    declared: bool = False,
) -> Row:
    row = Row(repos, mode, latency, incidents)
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        seeding = ["--repos", str(repos), "--incidents", str(incidents), "--latency", str(latency)]
        seeding += ["--lag", str(lag), "--first", str(FIRST), "--spacing", str(spacing)]
        github = start_github(stack, env, seeding + (["--declared"] if declared else []))
        base = {
            **env,
            "APP_ID": str(APP_ID),
            "PRIVATE_KEY": key,
            "WEBHOOK_SECRET": "bench",
            "GITHUB_API_URL": github,
            "CRON_SECRET": CRON,
            "HOST": "127.0.0.1",
            "LOG_LEVEL": "WARNING",
            "WRITE_INTERVAL": "1",
        }
        if mode == "replicas":
            base["REDIS_URL"] = start_redis(stack, env, tmp)
        servers = start_servers(stack, base, tmp, 3 if mode == "replicas" else 1)
        drive(row, github, servers, mode)
    return row


def start_github(stack: contextlib.ExitStack, env: dict[str, str], seeding: list[str]) -> str:
    """The GitHub double's process; its URL once it answers."""
    port = free_port()
    args = [sys.executable, "-m", "benchmarks.scale.github", "--port", str(port), *seeding]
    stack.enter_context(process(args, env, str(ROOT)))
    github = f"http://127.0.0.1:{port}"
    wait_for(f"{github}/_bench")
    return github


def start_redis(stack: contextlib.ExitStack, env: dict[str, str], tmp: str) -> str:
    port = free_port()
    server = shutil.which("redis-server") or "redis-server"
    args = [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", tmp]
    stack.enter_context(process([*args, "--appendonly", "no"], env, tmp))
    time.sleep(0.5)
    return f"redis://127.0.0.1:{port}"


def start_servers(
    stack: contextlib.ExitStack, base: dict[str, str], tmp: str, count: int
) -> list[str]:
    """`incident-app serve` × `count`; their URLs once each answers /healthz."""
    servers = []
    for _ in range(count):
        port = free_port()
        command = [str(Path(sys.executable).parent / "incident-app"), "serve"]
        stack.enter_context(process(command, {**base, "PORT": str(port)}, tmp))
        servers.append(f"http://127.0.0.1:{port}")
    for server in servers:
        wait_for(f"{server}/healthz")
    return servers


def drive(row: Row, github: str, servers: list[str], mode: str) -> None:
    """Wait for the deadlines' comments, then measure a steady sweep."""
    started = time.time()
    auth = {"Authorization": f"Bearer {CRON}"}
    ticked = False
    deadlines = bench(github)["deadlines"]
    last = max(deadlines.values())
    while time.time() < last + 90:
        if mode == "tick" and not ticked and time.time() - started > 20:
            httpx.post(f"{servers[0]}/cron/tick", headers=auth, timeout=600)
            ticked = True
        seen = bench(github)
        escalated = {p["repo"] for p in seen["posted"] if ESCALATION in p["body"]}
        if escalated >= set(deadlines) and time.time() > last:
            break
        time.sleep(1)
    seen = bench(github)
    for repo, deadline in deadlines.items():
        times = [p["at"] for p in seen["posted"] if p["repo"] == repo and ESCALATION in p["body"]]
        row.lags.append(min(times) - deadline if times else float("inf"))
    row.escalations = sum(1 for p in seen["posted"] if ESCALATION in p["body"])
    # The start-up sweep is over once a tick is not refused (409: one is running).
    while True:
        before = len(bench(github)["requests"])
        answer = httpx.post(f"{servers[0]}/cron/tick", headers=auth, timeout=900)
        if answer.status_code != 409:
            break
        time.sleep(2)
    after = bench(github)["requests"]
    row.startup_requests = before
    row.sweep_requests = len(after) - before
    body = answer.json()
    row.sweep_seconds = float(body.get("seconds", 0))
    row.searches = int(body.get("searches", 0))
    if body.get("errors"):
        print(f"sweep errors: {body['errors'][:3]}", file=sys.stderr)
    paths = [p for _, p in after[before:]]
    print(f"steady sweep: {len(paths)} requests, {len(set(paths))} distinct", file=sys.stderr)


def table(rows: list[Row]) -> str:
    head = (
        "| repositories | mode | latency | open incidents | requests per steady sweep "
        "(searches) | steady sweep wall time | start-up requests | deadline → comment, s "
        "(each) | escalations posted |"
    )
    lines = [head, "| " + " | ".join(["---"] * 9) + " |"]
    for r in rows:
        lags = ", ".join(f"{x:.1f}" for x in r.lags)
        if len(r.lags) > 8:
            lags = f"max {max(r.lags):.1f}, median {sorted(r.lags)[len(r.lags) // 2]:.1f}"
        lines.append(
            f"| {r.repos:,} | {r.mode} | {r.latency * 1000:.0f} ms | {r.incidents} | "
            f"{r.sweep_requests} ({r.searches}) | {r.sweep_seconds:.1f} s | {r.startup_requests:,} "
            f"| {lags} | {r.escalations} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100,1000,5000")
    parser.add_argument("--modes", default="alone,tick,replicas")
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--lag", type=float, default=30.0)
    parser.add_argument("--incidents", type=int, default=5)
    parser.add_argument("--spacing", type=float, default=5.0, help="seconds between deadlines")
    parser.add_argument(
        "--declared", action="store_true", help="incidents briefed before start (no writes)"
    )
    args = parser.parse_args(argv)
    key = new_private_key()
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        for mode in args.modes.split(","):
            t0 = time.monotonic()
            rows.append(
                run_one(
                    size,
                    mode,
                    args.latency,
                    args.lag,
                    key,
                    args.incidents,
                    args.spacing,
                    args.declared,
                )
            )
            print(f"{size} {mode}: {time.monotonic() - t0:.0f} s", file=sys.stderr, flush=True)
    print(table(rows))
    late = [x for r in rows for x in r.lags if x > 60]
    doubled = [r for r in rows if r.escalations != r.incidents]
    return 1 if late or doubled else 0


if __name__ == "__main__":
    raise SystemExit(main())
