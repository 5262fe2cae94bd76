"""The app's own clock, in one process: deadlines come from wake-ups, with no tick called."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from app.core.keys import IssueKey
from app.runtime.timing import Timing
from app.runtime.wakeups import Wake
from tests.conftest import INSTALLATION_ID, REPO, T0, Harness
from tests.runtime.test_tick import declared, escalations, reminders, tick

pytestmark = pytest.mark.anyio

KEY = IssueKey(INSTALLATION_ID, *REPO.split("/"), 1)


def timing(harness: Harness) -> Timing:
    found: Timing = harness.app.state.timing
    return found


async def fire(harness: Harness) -> int:
    """One check of the wake-ups at the clock's time, and the work it queued, done."""
    clock = timing(harness)
    due = await clock.check()
    await clock.drain()
    return due


async def test_a_p0s_escalation_comes_from_its_wake_up_with_no_tick(harness: Harness) -> None:
    await declared(harness)
    assert timing(harness).wakeups.known() == {Wake("incident", KEY): T0 + timedelta(minutes=15)}
    harness.clock.now = T0 + timedelta(minutes=15) - timedelta(seconds=1)
    assert await fire(harness) == 0
    harness.clock.now = T0 + timedelta(minutes=15, seconds=4)
    assert await fire(harness) == 1
    (note,) = escalations(harness)
    assert "Escalating to **Technical Lead**" in note
    assert not [r for r in harness.github.requests if "cron" in r[1]]
    # The next one is set: the second step of the chain, or the update reminder, at 30 min.
    assert timing(harness).wakeups.known() == {Wake("incident", KEY): T0 + timedelta(minutes=30)}


async def test_a_process_suspended_past_two_deadlines_catches_up_at_its_next_check(
    harness: Harness,
) -> None:
    await declared(harness)
    harness.clock.now = T0 + timedelta(minutes=31)  # slept through 15 and 30 minutes
    assert await fire(harness) == 1
    assert len(escalations(harness)) == 1  # both steps missed, in one comment
    assert len(reminders(harness)) == 1


async def test_a_stale_or_doubled_wake_up_posts_nothing(harness: Harness) -> None:
    await declared(harness)
    harness.clock.now = T0 + timedelta(minutes=20)
    assert (await tick(harness)).status_code == 200  # the tick did it first
    assert len(escalations(harness)) == 1
    before = list(harness.github.writes)
    for _ in range(2):
        await timing(harness).wakeups.put(Wake("incident", KEY), harness.clock.now)
        assert await fire(harness) == 1
    assert harness.github.writes == before


async def test_a_wake_up_that_fires_early_replans_and_reschedules(harness: Harness) -> None:
    await declared(harness)
    harness.clock.now = T0 + timedelta(minutes=5)
    await timing(harness).wakeups.put(Wake("incident", KEY), harness.clock.now)
    before = list(harness.github.writes)
    assert await fire(harness) == 1
    assert harness.github.writes == before
    assert timing(harness).wakeups.known()[Wake("incident", KEY)] == T0 + timedelta(minutes=15)


async def test_an_issue_no_longer_an_incident_is_never_woken_again(harness: Harness) -> None:
    await declared(harness)
    github = harness.github
    github.issues[(REPO, 1)].labels.clear()
    github.issues[(REPO, 1)].timeline = [
        t for t in github.issues[(REPO, 1)].timeline if t["event"] != "commented"
    ]
    harness.clock.now = T0 + timedelta(minutes=16)
    assert await fire(harness) == 1
    assert escalations(harness) == []
    assert timing(harness).wakeups.known() == {}


async def test_a_failed_run_is_woken_again_a_minute_later(harness: Harness) -> None:
    await declared(harness)
    harness.clock.now = T0 + timedelta(minutes=16)
    harness.github.fail("POST", r"/issues/1/comments$", 422)
    assert await fire(harness) == 1
    assert escalations(harness) == []
    assert timing(harness).wakeups.known()[Wake("incident", KEY)] == harness.clock.now + timedelta(
        seconds=60
    )
    harness.clock.advance(seconds=61)
    assert await fire(harness) == 1
    assert len(escalations(harness)) == 1


async def test_the_loop_sweeps_at_start_then_checks_every_five_seconds(harness: Harness) -> None:
    await declared(harness)
    clock = timing(harness)
    clock.wakeups._due.clear()  # a fresh process: nothing known until the start-up sweep
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        harness.clock.advance(seconds=seconds)
        await clock.drain()
        if escalations(harness) or len(waits) > 400:
            raise asyncio.CancelledError

    clock._sleep = sleep
    with pytest.raises(asyncio.CancelledError):
        await clock.run()
    assert len(escalations(harness)) == 1
    assert max(waits) <= 5.0
    # Posted within one check of its deadline (15 minutes).
    assert harness.clock.now - (T0 + timedelta(minutes=15)) <= timedelta(seconds=5)
