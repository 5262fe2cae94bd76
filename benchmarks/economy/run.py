"""Request economy: how many GitHub requests the app spends per declaration, command, tick, PIR.

Drives the real app (`app.server.create_app`) through `httpx.ASGITransport` against the test
suite's GitHub double (`tests/conftest.py`: a stateful GitHub behind respx), exactly as the
tests do, and counts what reaches the double:

- counted: requests that count against the installation's rate limit (everything but the
  two kinds below);
- 304: conditional revalidations (`If-None-Match` answered 304), which cost no rate limit;
- token: `POST /app/installations/{id}/access_tokens`, authenticated as the App (JWT), not
  counted against the installation's limit.

Scenarios: one P0 declaration; one `/status mitigating` command on a declared incident; one
idle tick (nothing due, after two warm-up ticks so the ETags are known) over N open incidents
in R repositories, against the bound R + ⌈N/100⌉ + 1; one PIR round (from the resolving
comment through the review issue, branch, document, pull request and link comment).

Offline and deterministic (a fake clock; no sleeping). Run from the repository root:

    python -m benchmarks.economy.run [--incidents 1,10,100,1000] [--repos 1,10]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import logging
import math
import re
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import respx  # noqa: E402

import tests.conftest as conftest  # noqa: E402
from app.web.server import create_app  # noqa: E402
from tests.conftest import (  # noqa: E402
    CRON_SECRET,
    INSTALLATION_ID,
    REPO,
    T0,
    Clock,
    GitHubDouble,
    Harness,
    Sleeps,
    delivery_for,
    load,
    make_settings,
    new_private_key,
)

ROSTER = """\
roster:
  release_manager.rohan-patel: rohan
  architect.morgan-lee: morgan
  team_lead.casey-brooks: casey
  dev.avery-kim: avery
roles:
  senior_management: {title: Senior Management, members: ["@acme/leadership"]}
"""
TOKEN_PATH = re.compile(r"^/app/installations/\d+/access_tokens$")


@contextlib.asynccontextmanager
async def world(private_key: str, start: Any = None) -> AsyncIterator[Harness]:
    """The app wired to a fresh GitHub double, as the `harness` fixture builds it."""
    clock = Clock(start or T0 + timedelta(minutes=1))
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        github = GitHubDouble(router, clock)
        sleeps = Sleeps()
        app = create_app(make_settings(private_key), now=clock, sleep=sleeps)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield Harness(app, client, github, clock, sleeps)


@dataclass
class Count:
    """The GitHub requests of one measured window."""

    scenario: str
    requests: list[tuple[str, str, int]]  # (method, path, status)
    seconds: float

    @property
    def tokens(self) -> int:
        return sum(1 for m, p, _ in self.requests if m == "POST" and TOKEN_PATH.match(p))

    @property
    def revalidated(self) -> int:
        return sum(1 for _, _, status in self.requests if status == 304)

    @property
    def counted(self) -> int:
        return len(self.requests) - self.tokens - self.revalidated

    @property
    def total(self) -> int:
        return len(self.requests)


class Window:
    """Marks where a measurement starts in the double's request log."""

    def __init__(self, github: GitHubDouble, scenario: str) -> None:
        self.github, self.scenario = github, scenario
        self.start = len(github.requests)
        self.started = time.perf_counter()

    def close(self) -> Count:
        requests = self.github.requests[self.start :]
        statuses = self.github.statuses[self.start :]
        rows = [(m, p, s) for (m, p, _), s in zip(requests, statuses, strict=True)]
        return Count(self.scenario, rows, time.perf_counter() - self.started)


def comment_payload(harness: Harness, item: dict[str, Any], number: int = 1) -> dict[str, Any]:
    """An issue_comment.created delivery for a comment the double holds."""
    payload = copy.deepcopy(load("issue_comment.created.json"))
    payload["issue"] = harness.github.issue(number).json(harness.github.api)
    payload["comment"] = {
        k: v for k, v in item.items() if k not in ("event", "actor") and not k.startswith("_")
    }
    payload["installation"] = {"id": INSTALLATION_ID}
    return payload


async def say(harness: Harness, minutes: float, body: str, by: str) -> None:
    """`by` (with write permission) comments `body` on issue 1, `minutes` after T0."""
    harness.clock.now = T0 + timedelta(minutes=minutes)
    harness.github.permissions[(REPO.lower(), by)] = "write"
    item = harness.github.comment(1, body, at=harness.clock.now, by=by)
    response = await harness.deliver("issue_comment", comment_payload(harness, item))
    if response.status_code != 202:
        raise RuntimeError(f"comment delivery answered {response.status_code}: {response.text}")


async def declare_p0(harness: Harness) -> None:
    github = harness.github
    github.files[(REPO.lower(), ".github/incident.yml")] = ROSTER
    github.add_issue(labels=("incident", "sev:P0"))
    payload = delivery_for(github, "issues.opened-incident-p0.json")
    response = await harness.deliver("issues", payload)
    if response.status_code != 202:
        raise RuntimeError(f"declaration answered {response.status_code}: {response.text}")


async def tick(harness: Harness) -> dict[str, Any]:
    response = await harness.client.post(
        "/cron/tick", headers={"Authorization": f"Bearer {CRON_SECRET}"}
    )
    if response.status_code != 200:
        raise RuntimeError(f"tick answered {response.status_code}: {response.text}")
    body: dict[str, Any] = response.json()
    if body.get("errors"):
        raise RuntimeError(f"tick reported errors: {body['errors'][:3]}")
    return body


# --- scenarios -------------------------------------------------------------------------


async def declaration(key: str) -> Count:
    """A P0 issue opened with a roster in the repository: the delivery's whole cost."""
    async with world(key) as harness:
        window = Window(harness.github, "P0 declaration")
        await declare_p0(harness)
        return window.close()


async def status_command(key: str) -> Count:
    """`/status mitigating` by a user with write permission on an already declared P0."""
    async with world(key) as harness:
        await declare_p0(harness)
        harness.clock.now = T0 + timedelta(minutes=5)
        window = Window(harness.github, "status command")
        await say(harness, 5, "/status mitigating rolled back the deploy", by="alice")
        count = window.close()
        labels = harness.github.issue().labels
        if "status:mitigating" not in labels:
            raise RuntimeError(f"the command did not take: labels {labels}")
        return count


async def pir_round(key: str) -> Count:
    """Declared P0, acknowledged, mitigated, then `/status resolved`: the resolving delivery
    through the review issue, branch, document, pull request and link comment."""
    async with world(key) as harness:
        await declare_p0(harness)
        await say(harness, 5, "/ack", by="rohan")
        await say(harness, 20, "/status mitigating rolled back the deploy", by="alice")
        await say(harness, 45, "/status monitoring error rate back to normal", by="alice")
        window = Window(harness.github, "PIR round")
        await say(harness, 70, "/status resolved", by="rohan")
        count = window.close()
        if not harness.github.pulls:
            raise RuntimeError("no PIR pull request was opened")
        return count


@dataclass
class IdleTick:
    incidents: int
    repos: int
    count: Count
    setup_seconds: float

    @property
    def bound(self) -> int:
        return self.repos + math.ceil(self.incidents / 100) + 1


async def idle_tick(key: str, incidents: int, repos: int, interval: float) -> IdleTick:
    """N open P2 incidents in R repositories; two ticks declare them and learn the ETags;
    the third, `interval` minutes later (the cron cadence) with nothing due, is measured."""
    started = time.perf_counter()
    async with world(key) as harness:
        github = harness.github
        names = [REPO] + [f"Codertocat/r{i}" for i in range(1, repos)]
        github.repos[INSTALLATION_ID] = names
        for name in names:
            github.files[(name.lower(), ".github/incident.yml")] = ROSTER
        for n in range(incidents):
            github.add_issue(n + 1, labels=("incident", "sev:P2"), repo=names[n % repos])
        harness.clock.now = T0 + timedelta(minutes=2)
        await tick(harness)  # declares them all
        await tick(harness)  # sees the result, learns the ETags
        setup = time.perf_counter() - started
        harness.clock.advance(minutes=interval)
        window = Window(github, f"idle tick N={incidents} R={repos}")
        body = await tick(harness)
        count = window.close()
        if body.get("incidents") != incidents or body.get("actions"):
            raise RuntimeError(f"the idle tick was not idle: {body}")
        return IdleTick(incidents, repos, count, setup)


# --- output ----------------------------------------------------------------------------


def print_requests(count: Count) -> None:
    print(f"\n{count.scenario}:")
    for method, path, status in count.requests:
        kind = "token" if TOKEN_PATH.match(path) else ("304" if status == 304 else "counted")
        print(f"  {status} {method:<6} {path}  [{kind}]")


def print_tables(scenarios: list[Count], ticks: list[IdleTick]) -> None:
    print()
    print("| scenario | counted | 304 | token | total | seconds |")
    print("|----------|--------:|----:|------:|------:|--------:|")
    for c in scenarios:
        print(
            f"| {c.scenario} | {c.counted} | {c.revalidated} | {c.tokens} | {c.total} | "
            f"{c.seconds:.2f} |"
        )
    if not ticks:
        return
    print()
    print(
        "| idle tick: N incidents | R repos | counted | 304 | token | total | "
        "bound R+⌈N/100⌉+1 | holds | seconds (tick) | seconds (setup) |"
    )
    print(
        "|-----------------------:|--------:|--------:|----:|------:|------:|"
        "------------------:|-------|---------------:|----------------:|"
    )
    for t in ticks:
        c = t.count
        print(
            f"| {t.incidents} | {t.repos} | {c.counted} | {c.revalidated} | {c.tokens} | "
            f"{c.total} | {t.bound} | {'yes' if c.counted <= t.bound else 'NO'} | "
            f"{c.seconds:.2f} | {t.setup_seconds:.1f} |"
        )


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


async def run(args: argparse.Namespace) -> int:
    key = new_private_key()
    scenarios = [await declaration(key), await status_command(key), await pir_round(key)]
    ticks: list[IdleTick] = []
    started = time.perf_counter()
    for incidents in args.incidents:
        for repos in args.repos:
            if incidents < repos:
                continue
            if time.perf_counter() - started > args.budget:
                print(f"skipped N={incidents} R={repos}: over the {args.budget:.0f}s budget")
                continue
            result = await idle_tick(key, incidents, repos, args.tick_interval)
            ticks.append(result)
            print(
                f"  idle tick N={incidents} R={repos}: {result.count.counted} counted "
                f"({result.setup_seconds + result.count.seconds:.1f}s)",
                flush=True,
            )
    if args.show_requests:
        for count in scenarios + [t.count for t in ticks if t.incidents <= 10]:
            print_requests(count)
    print_tables(scenarios, ticks)
    broken = [t for t in ticks if t.count.counted > t.bound]
    return 1 if broken else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.economy.run",
        description="Count the GitHub requests the app makes, against the test suite's GitHub "
        "double: a P0 declaration, a status command, idle ticks over N incidents in R "
        "repositories, and a PIR round.",
    )
    parser.add_argument(
        "--incidents", type=_ints, default=[1, 10, 100, 1000], help="N list (1,10,100,1000)"
    )
    parser.add_argument("--repos", type=_ints, default=[1, 10], help="R list (1,10)")
    parser.add_argument(
        "--tick-interval",
        type=float,
        default=5.0,
        help="minutes between the warm-up ticks and the measured idle tick, as a cron "
        "schedule would space them; 0 repeats the tick at the same moment (5)",
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=300.0,
        help="stop starting idle-tick cases after this many seconds (300)",
    )
    parser.add_argument(
        "--show-requests",
        action="store_true",
        help="list every request of the scenarios (and of the idle ticks with N ≤ 10)",
    )
    args = parser.parse_args(argv)
    # tests/conftest.py may keep every log line for its own secret check: not wanted here.
    handler = getattr(conftest, "ALL_LOGS", None)
    if isinstance(handler, logging.Handler):
        logging.getLogger().removeHandler(handler)
    logging.getLogger().setLevel(logging.ERROR)
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
