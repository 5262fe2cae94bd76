"""Nothing lost, nothing doubled: GitHub faults, rate limits and restarts (docs/behaviour.md §7)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from app.core import markers
from app.core.keys import IssueKey
from app.settings import Settings
from app.web.server import create_app
from tests.conftest import (
    CRON_SECRET,
    INSTALLATION_ID,
    REPO,
    T0,
    Clock,
    GitHubDouble,
    Harness,
    Sleeps,
    comment_payload,
    delivery_for,
    marked,
)

pytestmark = pytest.mark.anyio

KEY = IssueKey(INSTALLATION_ID, "Codertocat", "Hello-World", 1)


COMMENTS = r"^/repos/Codertocat/Hello-World/issues/1/comments$"
AUTH = {"Authorization": f"Bearer {CRON_SECRET}"}


def briefs(github: GitHubDouble) -> list[str]:
    return marked(github.posted_comments(), markers.Brief)


async def declare(harness: Harness) -> None:
    harness.github.add_issue(labels=("incident", "sev:P1"))
    await harness.deliver("issues", delivery_for(harness.github, "issues.opened-incident-p0.json"))


async def test_a_502_that_hid_a_success_still_yields_one_brief(harness: Harness) -> None:
    harness.github.fail("POST", COMMENTS, 502, apply=True)
    await declare(harness)
    assert len(briefs(harness.github)) == 1
    posts = [p for m, p, _ in harness.github.requests if m == "POST" and p.endswith("/comments")]
    assert len(posts) == 1  # re-read, saw the brief, did not post again


async def test_a_502_then_success_posts_the_brief_once(harness: Harness) -> None:
    harness.github.fail("POST", COMMENTS, 502)
    await declare(harness)
    assert len(briefs(harness.github)) == 1
    posts = [p for m, p, _ in harness.github.requests if m == "POST" and p.endswith("/comments")]
    assert len(posts) == 2


async def test_a_timeout_on_the_brief_is_re_read_not_blindly_retried(harness: Harness) -> None:
    harness.github.fail("POST", COMMENTS, exception=httpx.ReadTimeout, apply=True)
    await declare(harness)
    assert len(briefs(harness.github)) == 1


async def test_reads_are_retried_on_5xx_and_timeouts(harness: Harness) -> None:
    github = harness.github
    github.add_issue(labels=("incident", "sev:P1"))
    github.comment(1, "earlier", at=T0, by="alice")
    github.fail("GET", r"/timeline$", 503)
    github.fail("GET", r"/issues/1$", exception=httpx.ConnectTimeout)
    await harness.deliver("issues", delivery_for(github, "issues.labeled-sev-p1.json"))
    assert len(briefs(github)) == 1
    assert len(harness.sleeps.waits) == 2 and all(w <= 8 for w in harness.sleeps.waits)


async def test_a_secondary_rate_limit_with_retry_after_is_waited_out(harness: Harness) -> None:
    harness.github.fail("POST", COMMENTS, 403, headers={"retry-after": "1"})
    await declare(harness)
    assert len(briefs(harness.github)) == 1
    assert 1.0 in harness.sleeps.waits


async def test_a_429_is_waited_out(harness: Harness) -> None:
    harness.github.fail("POST", r"/labels$", 429, headers={"retry-after": "2"})
    await declare(harness)
    assert "status:investigating" in harness.github.issue().labels
    assert 2.0 in harness.sleeps.waits


async def test_retry_after_zero_does_not_sleep_a_minute(harness: Harness) -> None:
    harness.github.fail("POST", r"/labels$", 403, headers={"retry-after": "0"})
    await declare(harness)
    assert max(harness.sleeps.waits) <= 1.0


async def test_an_exhausted_primary_limit_defers_the_work_without_sleeping(
    harness: Harness,
) -> None:
    github = harness.github
    github.add_issue(labels=("incident", "sev:P1"))
    reset = int(datetime.now(UTC).timestamp()) + 3600
    github.fail(
        "GET",
        r"/issues$",
        403,
        times=3,
        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)},
    )
    harness.clock.now = T0 + timedelta(minutes=5)
    body = (await harness.client.post("/cron/tick", headers=AUTH)).json()
    assert body["errors"] and "rate limited" in body["errors"][0]["error"]
    assert harness.sleeps.waits == []
    # the issue's own reads are deferred too
    github.failures.clear()
    github.fail(
        "GET",
        r"/timeline$",
        403,
        times=1,
        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)},
    )
    body = (await harness.client.post("/cron/tick", headers=AUTH)).json()
    assert body["deferred"] == [f"{REPO}#1"]
    assert harness.sleeps.waits == []
    # and the next tick, with the limit reset, does it
    body = (await harness.client.post("/cron/tick", headers=AUTH)).json()
    assert body["deferred"] == [] and len(briefs(github)) == 1


async def test_the_token_endpoint_failing_once_is_retried_even_for_a_post(
    harness: Harness,
) -> None:
    harness.github.fail("POST", r"/access_tokens$", 500)
    await declare(harness)
    assert len(briefs(harness.github)) == 1
    assert harness.github.tokens_issued == 1


async def test_a_restart_in_the_middle_of_a_declaration_is_completed_once_by_the_tick(
    settings: Settings, github: GitHubDouble, clock: Clock
) -> None:
    github.add_issue(labels=("incident", "sev:P1"))
    github.files[(REPO.lower(), ".github/incident.yml")] = (
        "roster:\n  release_manager.rohan-patel: rohan\n"
    )
    github.fail("POST", COMMENTS, 500, times=2)  # the process dies before the brief
    first = create_app(settings, now=clock, sleep=Sleeps())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=first), base_url="http://t"
    ) as c:
        await Harness(first, c, github, clock).deliver(
            "issues", delivery_for(github, "issues.opened-incident-p0.json")
        )
    assert briefs(github) == [] and github.issue().assignees == ["rohan"]

    clock.advance(minutes=3)
    second = create_app(settings, now=clock, sleep=Sleeps())  # a new process: no memory
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=second), base_url="http://t"
    ) as c:
        await c.post("/cron/tick", headers=AUTH)
        await c.post("/cron/tick", headers=AUTH)
    assert len(briefs(github)) == 1
    assert github.issue().assignees == ["rohan"]
    # rohan was assigned before the crash: the tick does not assign again
    assert [p for m, p, _ in github.writes].count(f"/repos/{REPO}/issues/1/assignees") == 1


async def test_a_redelivered_declaration_after_a_restart_posts_no_second_brief(
    settings: Settings, github: GitHubDouble, clock: Clock
) -> None:
    """A P0 is declared and briefed; the app restarts; GitHub redelivers the declaration's
    deliveries (the same payloads, still under a minute old). Before: labels and assignees
    again, and a second brief — every P0 assignee notified twice."""
    github.add_issue(labels=("incident", "sev:P0"))
    github.files[(REPO.lower(), ".github/incident.yml")] = (
        "roster:\n  release_manager.rohan-patel: rohan\n  architect.morgan-lee: morgan\n"
    )
    payloads = [
        delivery_for(github, "issues.opened-incident-p0.json"),
        delivery_for(github, "issues.labeled-sev-p0.json"),
    ]
    clock.now = T0 + timedelta(seconds=5)  # GitHub delivers at once
    first = create_app(settings, now=clock, sleep=Sleeps())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=first), base_url="http://t"
    ) as c:
        await Harness(first, c, github, clock).deliver("issues", payloads[0])
    assert len(briefs(github)) == 1
    writes = len(github.writes)

    clock.advance(seconds=20)
    second = create_app(settings, now=clock, sleep=Sleeps())  # a new process: no memory
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=second), base_url="http://t"
    ) as c:
        again = Harness(second, c, github, clock)
        for i, payload in enumerate(payloads):
            await again.deliver("issues", payload, delivery=f"redelivered-{i}")
    assert len(briefs(github)) == 1
    assert len(github.writes) == writes  # nothing more: no labels, no assignees, no brief


async def test_a_revoked_token_is_replaced_and_the_command_applied_in_the_same_delivery(
    harness: Harness,
) -> None:
    """GitHub revokes an installation's tokens when its permissions change (or one expires
    early): the next request gets 401 "Bad credentials". Before: `reconcile failed` and the
    command waited for a later tick."""
    github = harness.github
    github.add_issue(labels=("incident", "sev:P1"))
    await harness.deliver("issues", delivery_for(github, "issues.opened-incident-p0.json"))
    assert github.tokens_issued == 1
    github.permissions[(REPO.lower(), "alice")] = "write"
    item = github.comment(1, "/ack", at=harness.clock.now, by="alice")
    github.fail("GET", r"^/repos/Codertocat/Hello-World/issues/1$", 401)  # the token is dead
    payload = comment_payload(harness, item)
    await harness.deliver("issue_comment", payload, delivery="ack")
    assert github.tokens_issued == 2  # dropped, a new one minted
    assert item["reactions"]["+1"] == 1  # and the /ack applied in the same delivery


async def test_a_second_401_is_an_error_that_says_what_to_check(harness: Harness) -> None:
    github = harness.github
    github.add_issue(labels=("incident", "sev:P1"))
    github.fail("GET", r"^/repos/Codertocat/Hello-World/issues/1$", 401, times=2)
    report = await harness.app.state.reconciler.run(KEY)
    assert report.error is not None and "incident-app doctor" in report.error
    assert github.writes == []


async def test_a_jwt_refused_for_clock_skew_is_reissued_by_githubs_clock(
    harness: Harness,
) -> None:
    """The App's JWT is dated by the local clock; a machine an hour slow gets 401 for the
    token request. GitHub's `Date` header tells its time: the next JWT is dated by it."""
    import jwt as pyjwt

    github = harness.github
    github.add_issue(labels=("incident", "sev:P1"))
    ahead = datetime.now(UTC) + timedelta(hours=1)
    github.fail(
        "POST",
        r"/access_tokens$",
        401,
        headers={"date": ahead.strftime("%a, %d %b %Y %H:%M:%S GMT")},
    )
    await harness.deliver("issues", delivery_for(github, "issues.opened-incident-p0.json"))
    assert len(github.token_requests) == 2 and len(briefs(github)) == 1
    first, second = (
        pyjwt.decode(t, options={"verify_signature": False}) for t in github.token_requests
    )
    assert second["iat"] - first["iat"] >= 3500  # issued by GitHub's clock, an hour ahead


async def test_writes_are_paced_per_installation(
    settings: Settings, github: GitHubDouble, clock: Clock
) -> None:
    sleeps = Sleeps()
    paced = settings.model_copy(update={"write_interval": 1.0})
    app = create_app(paced, now=clock, sleep=sleeps)
    github.add_issue(labels=("incident", "sev:P1"))
    github.files[(REPO.lower(), ".github/incident.yml")] = (
        "roster:\n  release_manager.rohan-patel: rohan\n"
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        await Harness(app, c, github, clock, sleeps).deliver(
            "issues", delivery_for(github, "issues.opened-incident-p0.json")
        )
    # three writes (labels, assignees, brief): the second and third each wait about a second
    assert len(sleeps.waits) == 2 and all(0.9 < w <= 1.0 for w in sleeps.waits)


def delivery(
    i: int,
    guid: str,
    code: int,
    *,
    minutes_ago: float,
    redelivery: bool = False,
    event: str = "issues",
) -> dict[str, Any]:
    at = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    return {
        "id": i,
        "guid": guid,
        "delivered_at": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "redelivery": redelivery,
        "status_code": code,
        "status": "x",
        "event": event,
        "action": "labeled",
        "installation_id": INSTALLATION_ID,
    }


async def test_failed_deliveries_are_redelivered_once_and_bounded(
    github: GitHubDouble, settings: Settings
) -> None:
    from app.github.client import AppClients
    from app.runtime.redeliver import Redeliverer

    github.deliveries = [
        delivery(1, "a", 502, minutes_ago=1),  # failed → redeliver
        delivery(2, "b", 500, minutes_ago=2),
        delivery(3, "b", 202, minutes_ago=1, redelivery=True),  # b succeeded on a retry
        delivery(4, "c", 401, minutes_ago=3),
        delivery(5, "c", 401, minutes_ago=2, redelivery=True),  # c: asked once already
        delivery(6, "d", 202, minutes_ago=4),  # fine
        delivery(7, "e", 0, minutes_ago=5),  # timed out → redeliver
        delivery(8, "f", 500, minutes_ago=600),  # too old
        delivery(9, "g", 500, minutes_ago=6, event="ping"),  # not ours to replay
        *[delivery(100 + i, f"x{i}", 500, minutes_ago=10 + i / 10) for i in range(30)],
    ]
    redeliverer = Redeliverer(app=AppClients(settings).app, now=lambda: datetime.now(UTC), limit=5)
    report = await redeliverer.run()
    assert github.redelivered[:2] == [1, 7]
    assert len(github.redelivered) == 5 and report.redelivered[:2] == ["a", "e"]
    assert report.checked == 38
