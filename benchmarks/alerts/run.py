"""Alerts in: what each notification costs on GitHub, and how fast the door answers.

Drives the real app (`create_app` with `ALERTS_TOKEN`) through `httpx.ASGITransport` against
the test suite's GitHub double, as tests/web/test_alerts.py does, with webhooks/alerts/'s recorded
Alertmanager notification, and reports for each scenario the GitHub requests it made (the
App-JWT installation lookup and token requests apart) and the wall time:

- a new firing group (the issue, then the declaration flow on it);
- the same group again (Alertmanager's repeat);
- one more alert joining the group;
- the group resolved;
- a burst of N copies of a new group sent at once (each answered 202; one issue);
- the answer's latency over the burst (in-process: the app's own cost, no network).

Offline and deterministic in its counts (a fake clock; no sleeping). From the repository root:

    python -m benchmarks.alerts.run [--burst 100]
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import re
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import respx  # noqa: E402
from pydantic import SecretStr  # noqa: E402

from app.web.server import create_app  # noqa: E402
from tests.conftest import (  # noqa: E402
    REPO,
    T0,
    Clock,
    GitHubDouble,
    Sleeps,
    make_settings,
    new_private_key,
)

TOKEN = "bench-alerts-token"
PAYLOAD = json.loads((ROOT / "webhooks" / "alerts" / "alertmanager-firing.json").read_text())
APP_ONLY = re.compile(r"^/app/installations/\d+/access_tokens$|/installation$")


def variant(group: str, *, extra: int = 0, status: str = "firing") -> dict[str, Any]:
    payload = copy.deepcopy(PAYLOAD)
    payload["groupKey"] = f'{{}}:{{alertname="{group}"}}'
    for n in range(extra):
        alert = copy.deepcopy(payload["alerts"][0])
        alert["labels"]["instance"] = f"extra-{n}"
        payload["alerts"].append(alert)
    for n, alert in enumerate(payload["alerts"]):
        alert["fingerprint"] = f"{group}{n}".rjust(16, "0")
        if status == "resolved":
            alert["status"] = "resolved"
            alert["endsAt"] = alert["startsAt"]
    payload["status"] = status
    return payload


async def main(burst: int) -> None:
    clock = Clock(T0 + timedelta(minutes=1))
    settings = make_settings(new_private_key()).model_copy(
        update={"alerts_token": SecretStr(TOKEN)}
    )
    rows: list[tuple[str, int, int, float]] = []
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        github = GitHubDouble(router, clock)
        github.files[(REPO.lower(), ".github/incident.yml")] = "alerts: {enabled: true}\n"
        app = create_app(settings, now=clock, sleep=Sleeps())
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:

            async def post(payload: dict[str, Any]) -> tuple[int, float]:
                started = time.perf_counter()
                answer = await client.post(
                    f"/alerts/alertmanager/{REPO}",
                    json=payload,
                    headers={"Authorization": f"Bearer {TOKEN}"},
                )
                return answer.status_code, time.perf_counter() - started

            async def settle() -> None:
                await app.state.alerts.drain()
                await app.state.queue.drain()

            async def measure(name: str, *payloads: dict[str, Any]) -> list[float]:
                start, started = len(github.requests), time.perf_counter()
                answers = await asyncio.gather(*(post(p) for p in payloads))
                await settle()
                seconds = time.perf_counter() - started
                made = github.requests[start:]
                app_only = sum(1 for _, path, _ in made if APP_ONLY.search(path))
                assert {status for status, _ in answers} == {202}, answers
                rows.append((name, len(made) - app_only, app_only, seconds))
                clock.advance(minutes=5)
                return [latency for _, latency in answers]

            await measure("new firing group (issue + declaration)", variant("A"))
            await measure("same group again", variant("A"))
            await measure("one alert joins the group", variant("A", extra=1))
            await measure("group resolved", variant("A", status="resolved"))
            latencies = await measure(
                f"burst of {burst} copies of a new group", *[variant("B") for _ in range(burst)]
            )
            issues = [i for i in github.issues.values() if "alert" in i.labels]

    print(f"{'scenario':45} {'GitHub requests':>16} {'App/JWT':>8} {'seconds':>8}")
    for name, counted, app_only, seconds in rows:
        print(f"{name:45} {counted:>16} {app_only:>8} {seconds:>8.3f}")
    print(f"issues opened: {len(issues)} (2 groups)")
    ordered = sorted(latencies)
    print(
        f"answer latency over the burst (in-process): median "
        f"{statistics.median(ordered) * 1000:.1f} ms, p95 "
        f"{ordered[int(len(ordered) * 0.95) - 1] * 1000:.1f} ms, max {ordered[-1] * 1000:.1f} ms"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burst", type=int, default=100, help="copies in the burst (100)")
    asyncio.run(main(parser.parse_args().burst))
