"""The sweep's cost grows with incidents, not repositories: issue search per owner, a
per-repository walk where search cannot serve, each repository's checks once a day."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.core.keys import IssueKey
from app.runtime.wakeups import Wake
from tests.conftest import INSTALLATION_ID, REPO, T0, GitHubDouble, Harness
from tests.runtime.test_tick import ROSTER, escalations, tick
from tests.runtime.test_timing import timing

pytestmark = pytest.mark.anyio

OWNER = REPO.split("/")[0]


def many(github: GitHubDouble, count: int) -> list[str]:
    names = [REPO] + [f"{OWNER}/r{i}" for i in range(1, count)]
    github.repos[INSTALLATION_ID] = names
    github.files[(f"{OWNER.lower()}/.github", ".github/incident.yml")] = ROSTER
    for name in names:
        github.files[(name.lower(), ".github/incident.yml")] = ROSTER
    return names


def per_repository(github: GitHubDouble, start: int) -> list[str]:
    """The requests since `start` that name a repository without an incident."""
    return [
        p
        for _, p, _ in github.requests[start:]
        if p.startswith(f"/repos/{OWNER}/r") and not p.startswith(f"/repos/{REPO}")
    ]


async def test_a_steady_sweep_of_fifty_repositories_asks_nothing_of_the_idle_ones(
    harness: Harness,
) -> None:
    github = harness.github
    many(github, 50)
    github.add_issue(1, labels=("incident", "sev:P2"))
    harness.clock.now = T0 + timedelta(minutes=2)
    first = (await tick(harness)).json()  # declares it; the day's check of every repository
    assert first["repositories"] == 50 and first["incidents"] == 1
    start = len(github.requests)
    harness.clock.now += timedelta(minutes=15)
    body = (await tick(harness)).json()
    assert body["incidents"] == 1 and body["errors"] == []
    assert per_repository(github, start) == []
    asked = [p for _, p, _ in github.requests[start:] if "access_tokens" not in p]
    assert len(asked) <= 12, asked  # installations, 5 searches, the one incident's reads
    # A day later each repository is checked again (drills, the monthly review).
    harness.clock.now += timedelta(days=1)
    start = len(github.requests)
    await tick(harness)
    assert len({p.split("/")[3] for p in per_repository(github, start)}) == 49


async def test_an_escalation_is_found_by_search_in_the_last_of_many_repositories(
    harness: Harness,
) -> None:
    github = harness.github
    names = many(github, 30)
    github.add_issue(4, labels=("incident", "sev:P0"), repo=names[-1])
    harness.clock.now = T0 + timedelta(minutes=2)
    await tick(harness)  # declared by the sweep (its delivery was missed)
    harness.clock.now = T0 + timedelta(minutes=20)
    await tick(harness)
    posted = github.posted_comments(4, repo=names[-1])
    assert any("Escalating to **Technical Lead**" in c for c in posted)


async def test_a_truncated_search_walks_the_repositories_instead(harness: Harness) -> None:
    github = harness.github
    names = many(github, 3)
    for n, name in enumerate(names, start=1):
        github.add_issue(n, labels=("incident", "sev:P0"), repo=name)
    github.search_cap = 2  # three incidents: more than search answers for one query
    harness.clock.now = T0 + timedelta(minutes=20)
    body = (await tick(harness)).json()
    assert body["incidents"] == 3 and body["errors"] == []
    listed = {p for _, p, _ in github.requests if p.endswith("/issues") and "/repos/" in p}
    assert listed >= {f"/repos/{name}/issues" for name in names}  # the walk
    for n, name in enumerate(names, start=1):
        assert any("Escalating" in c for c in github.posted_comments(n, repo=name))


async def test_a_failing_search_walks_the_repositories_instead(harness: Harness) -> None:
    github = harness.github
    github.files[(REPO.lower(), ".github/incident.yml")] = ROSTER
    github.add_issue(1, labels=("incident", "sev:P0"))
    github.fail("GET", r"^/search/issues$", 503, times=10)
    harness.clock.now = T0 + timedelta(minutes=20)
    body = (await tick(harness)).json()
    assert body["incidents"] == 1 and body["errors"] == []
    assert len(escalations(harness)) == 1


async def test_an_incident_the_index_has_not_caught_up_with_is_swept_from_its_wake_up(
    harness: Harness,
) -> None:
    github = harness.github
    github.files[(REPO.lower(), ".github/incident.yml")] = ROSTER
    github.add_issue(1, labels=("incident", "sev:P0"))
    github.unindexed.add((REPO, 1))  # declared a moment ago: search does not show it yet
    key = IssueKey(INSTALLATION_ID, *REPO.split("/"), 1)
    clock = timing(harness)
    await clock.wakeups.put(Wake("incident", key), T0 + timedelta(minutes=15))
    harness.clock.now = T0 + timedelta(minutes=20)
    body = (await tick(harness)).json()
    assert body["errors"] == []
    assert len(escalations(harness)) == 1
