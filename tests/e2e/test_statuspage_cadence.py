"""The runbook's clock for public updates, severity by severity, on the tick (issue 24):
P0/P1 every `public_every` (their update interval), P2 the first within 4 h then daily, P3
daily and only while `customer-facing`; each window reminded once, however many ticks."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.core import markers
from tests.conftest import Harness, delivery_for, marked
from tests.e2e.test_statuspage import _label as label
from tests.e2e.test_statuspage import arrange, tick

pytestmark = pytest.mark.anyio

H = timedelta(hours=1)
M = timedelta(minutes=1)


async def declared(harness: Harness, severity: str) -> None:
    arrange(harness)
    harness.github.add_issue(labels=("incident", f"sev:{severity}"))
    await harness.deliver("issues", delivery_for(harness.github, "issues.opened-incident-p0.json"))


def reminders(harness: Harness) -> list[str]:
    return marked(harness.github.posted_comments(), markers.PublicReminder)


async def ticks(harness: Harness, after: timedelta) -> int:
    harness.clock.advance(seconds=after.total_seconds())
    await tick(harness)
    await tick(harness)  # a second tick in the same window says nothing more
    return len(reminders(harness))


@pytest.mark.parametrize(
    ("severity", "first", "then"),
    [
        ("P0", timedelta(minutes=30), timedelta(minutes=30)),
        ("P1", 2 * H, 2 * H),
        ("P2", 4 * H, 24 * H),
    ],
)
async def test_a_public_update_is_due_once_per_window(
    harness: Harness, severity: str, first: timedelta, then: timedelta
) -> None:
    await declared(harness, severity)  # a minute ago: the clock starts a minute after it
    assert await ticks(harness, first - 2 * M) == 0  # a minute before it is due
    assert await ticks(harness, 2 * M) == 1
    assert f"({severity}: " in reminders(harness)[0]
    assert await ticks(harness, then - 2 * M) == 1
    assert await ticks(harness, 2 * M) == 2


async def test_p3_is_due_daily_only_while_customer_facing(harness: Harness) -> None:
    await declared(harness, "P3")
    assert await ticks(harness, 25 * H) == 0  # not customer-facing: no public clock
    harness.github.permissions[("codertocat/hello-world", "alice")] = "write"
    await label(harness, "customer-facing", "alice")
    assert await ticks(harness, 1 * H) == 1  # a day has passed since the declaration
    assert await ticks(harness, 23 * H) == 2
    await label(harness, "customer-facing", "alice", remove=True)
    assert await ticks(harness, 25 * H) == 2
