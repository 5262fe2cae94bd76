"""POST /cron/tick end to end: escalations, reminders, exactly once, failures (docs/behaviour.md §4)."""

from __future__ import annotations

import asyncio
import math
from datetime import timedelta
from typing import Any

import httpx
import pytest

from app.core import markers
from tests.conftest import CRON_SECRET, INSTALLATION_ID, REPO, T0, Harness, delivery_for, marked
from tests.factories import ROSTER as THE_LEADS
from tests.factories import SENIOR_MANAGEMENT

pytestmark = pytest.mark.anyio

ROSTER = THE_LEADS + SENIOR_MANAGEMENT
AUTH = {"Authorization": f"Bearer {CRON_SECRET}"}


async def tick(harness: Harness, headers: dict[str, str] | None = None) -> httpx.Response:
    return await harness.client.post("/cron/tick", headers=AUTH if headers is None else headers)


async def declared(harness: Harness, *labels: str, number: int = 1, repo: str = REPO) -> None:
    github = harness.github
    github.files[(repo.lower(), ".github/incident.yml")] = ROSTER
    github.add_issue(number, labels=labels or ("incident", "sev:P0"), repo=repo)
    if repo == REPO:
        await harness.deliver(
            "issues", delivery_for(github, "issues.opened-incident-p0.json", number=number)
        )


def escalations(harness: Harness, number: int = 1) -> list[str]:
    return marked(harness.github.posted_comments(number), markers.Escalation)


def reminders(harness: Harness, number: int = 1) -> list[str]:
    return marked(harness.github.posted_comments(number), markers.Reminder)


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": CRON_SECRET}]
)
async def test_tick_without_the_secret_is_401_and_asks_github_nothing(
    harness: Harness, headers: dict[str, str]
) -> None:
    response = await tick(harness, headers)
    assert response.status_code == 401
    assert harness.github.requests == []


async def test_tick_is_not_served_at_all_without_cron_secret(settings: Any, clock: Any) -> None:
    from app.web.server import create_app

    app = create_app(settings.model_copy(update={"cron_secret": None}), now=clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        response = await c.post("/cron/tick", headers=AUTH)
    assert response.status_code in (404, 405)


async def test_unacknowledged_p0_after_20_minutes_escalates_once_to_the_technical_lead(
    harness: Harness,
) -> None:
    await declared(harness)
    harness.clock.now = T0 + timedelta(minutes=20)
    response = await tick(harness)
    assert response.status_code == 200
    body = response.json()
    assert body["installations"] == 1 and body["repositories"] == 1 and body["incidents"] == 1
    assert body["actions"] == {"comment:escalation": 1}
    assert body["errors"] == []
    (note,) = escalations(harness)
    assert "Escalating to **Technical Lead**" in note and "@morgan" in note
    assert "not acknowledged within 15 minutes (P0), due 2019-05-15 15:35 UTC" in note

    # the same tick again: nothing new
    again = await tick(harness)
    assert again.json()["actions"] == {}
    assert len(escalations(harness)) == 1


async def test_the_escalation_climbs_the_chain_each_interval(harness: Harness) -> None:
    await declared(harness)
    for minutes, level in ((20, "Technical Lead"), (35, "Team Lead"), (50, "Senior Management")):
        harness.clock.now = T0 + timedelta(minutes=minutes)
        await tick(harness)
        assert f"Escalating to **{level}**" in escalations(harness)[-1]
    assert "@acme/leadership" in escalations(harness)[-1]
    assert len(escalations(harness)) == 3


async def test_an_acknowledged_p0_is_not_escalated(harness: Harness) -> None:
    await declared(harness)
    github = harness.github
    github.permissions[(REPO.lower(), "alice")] = "write"
    github.comment(1, "/ack", at=T0 + timedelta(minutes=14, seconds=59), by="alice")
    harness.clock.now = T0 + timedelta(minutes=25)
    await tick(harness)
    assert escalations(harness) == []


async def test_a_p1_unresolved_for_3_hours_escalates_to_senior_leadership(harness: Harness) -> None:
    """Runbook: "P1: 2 hours unresolved → escalate to senior leadership" — not up the ladder."""
    await declared(harness, "incident", "sev:P1")
    github = harness.github
    github.permissions[(REPO.lower(), "alice")] = "write"
    for minutes in (10, 70, 130):  # acknowledged, and updated on time
        github.comment(1, "/status mitigating", at=T0 + timedelta(minutes=minutes), by="alice")
    harness.clock.now = T0 + timedelta(hours=3)
    await tick(harness)
    (note,) = escalations(harness)
    assert "unresolved after 2 hours (P1)" in note
    assert "Escalating to **Senior Management**: @acme/leadership" in note


async def test_an_overdue_update_gets_one_reminder(harness: Harness) -> None:
    await declared(harness)
    github = harness.github
    github.permissions[(REPO.lower(), "alice")] = "write"
    github.comment(1, "/ack", at=T0 + timedelta(minutes=5), by="alice")
    harness.clock.now = T0 + timedelta(minutes=31)
    await tick(harness)
    await tick(harness)
    (note,) = reminders(harness)
    assert "@casey" in note and "@rohan" in note  # communication lead and assignees
    assert "a status update was due 2019-05-15 15:50 UTC" in note
    assert "INCIDENT UPDATE" in note
    # the next missed interval gets the next reminder
    harness.clock.now = T0 + timedelta(minutes=61)
    await tick(harness)
    assert len(reminders(harness)) == 2


async def test_a_tick_concurrent_with_a_webhook_posts_one_escalation(harness: Harness) -> None:
    await declared(harness)
    harness.clock.now = T0 + timedelta(minutes=20)
    payload = delivery_for(harness.github, "issues.labeled-sev-p0.json")
    results = await asyncio.gather(
        tick(harness), harness.deliver("issues", payload, drain=False), tick(harness)
    )
    await harness.drain()
    assert {r.status_code for r in results} <= {200, 202, 409}
    assert len(escalations(harness)) == 1


async def test_a_failing_repository_does_not_stop_the_others(harness: Harness) -> None:
    other = "Codertocat/Other"
    harness.github.repos[INSTALLATION_ID] = [REPO, other]
    await declared(harness)
    await declared(harness, number=7, repo=other)
    harness.github.fail("GET", r"^/repos/Codertocat/Hello-World/issues$", 500, times=5)
    harness.clock.now = T0 + timedelta(minutes=20)
    body = (await tick(harness)).json()
    assert body["repositories"] == 2
    assert body["errors"] and body["errors"][0]["repository"] == REPO
    assert "500" in body["errors"][0]["error"]
    # the other repository's incident was declared and escalated
    other_comments = harness.github.posted_comments(7, repo=other)
    assert marked(other_comments, markers.Brief)
    assert marked(other_comments, markers.Escalation)


async def test_resolution_stops_all_escalation(harness: Harness) -> None:
    await declared(harness)
    harness.github.permissions[(REPO.lower(), "codertocat")] = "write"  # a responder closes
    harness.github.close(1, at=T0 + timedelta(minutes=10))
    harness.clock.now = T0 + timedelta(hours=5)
    await tick(harness)
    assert escalations(harness) == [] and reminders(harness) == []


@pytest.mark.parametrize(("incidents", "repos"), [(1, 1), (10, 1), (100, 1), (100, 10)])
async def test_an_idle_tick_costs_little(harness: Harness, incidents: int, repos: int) -> None:
    """Counted requests grow with repositories and pages of 100, not with incidents."""
    github = harness.github
    names = [REPO] + [f"Codertocat/r{i}" for i in range(1, repos)]
    github.repos[INSTALLATION_ID] = names
    for n in range(incidents):
        repo = names[n % repos]
        github.files[(repo.lower(), ".github/incident.yml")] = ROSTER
        github.add_issue(n + 1, labels=("incident", "sev:P2"), repo=repo)
    harness.clock.now = T0 + timedelta(minutes=2)
    await tick(harness)  # declares them all
    await tick(harness)  # sees the result, and learns the ETags
    start = len(github.requests)
    await tick(harness)  # nothing due: an idle tick
    idle = list(zip(github.requests[start:], github.statuses[start:], strict=True))
    counted = [(m, p) for (m, p, _), status in idle if status != 304 and "access_tokens" not in p]
    pages = sum(
        math.ceil(sum(1 for n in range(incidents) if n % repos == r) / 100) for r in range(repos)
    )
    print(
        f"idle tick, {incidents} incidents in {repos} repositories: "
        f"{len(counted)} counted, {len(idle) - len(counted)} revalidated (304)"
    )
    assert harness.github.writes[-1][0] != "GET"
    assert len(counted) <= repos + pages + 1


async def test_cli_tick_dry_run_reads_but_writes_nothing(
    github: Any,
    private_key: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from app.cli import _tick, build_parser

    monkeypatch.setenv("APP_ID", "424242")
    monkeypatch.setenv("PRIVATE_KEY", private_key.replace("\n", "\\n"))
    monkeypatch.chdir("/")  # no .env
    github.add_issue(labels=("incident", "sev:P0"))
    code = await _tick(build_parser().parse_args(["tick", "--dry-run"]))
    out = capsys.readouterr().out
    assert code == 0
    assert "Codertocat/Hello-World#1: would make" in out
    assert '"incidents": 1' in out and '"dry_run": true' in out
    assert github.writes == []
