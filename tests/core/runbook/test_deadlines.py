"""next_due: when planning again may do something — per kind of deadline, and as a property
(nothing the plan would post falls due before it)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core import markers
from app.core.actions import PostComment
from app.core.runbook import next_due, plan, reminder_due, repository_due, situation
from app.core.snapshot import Issue, Snapshot
from tests.core.runbook.test_properties import POLICY as PLAIN
from tests.core.runbook.test_properties import World, ops
from tests.factories import DECLARED, POLICY, policy, snapshot


def due(snap: Snapshot, now: datetime, **options: timedelta) -> datetime | None:
    found = situation(snap, POLICY, now)
    assert found is not None
    return next_due(found, **options)


def posted(snap: Snapshot, now: datetime) -> list[str]:
    return [a.kind for a in plan(snap, POLICY, now) if isinstance(a, PostComment)]


def test_an_unacknowledged_p0_is_next_due_at_its_response_deadline() -> None:
    snap = snapshot("P0")
    assert due(snap, DECLARED) == DECLARED + timedelta(minutes=15)
    assert posted(snap, DECLARED + timedelta(minutes=15) - timedelta(seconds=1)) == []
    assert "escalation" in posted(snap, DECLARED + timedelta(minutes=15))


def test_once_the_step_is_posted_the_next_step_is_due() -> None:
    escalated = snapshot("P0", own=[markers.Escalation(("response-P0-1",), 1)])
    # The update reminder (30 min) comes before the second response step (30 min) or with it.
    assert due(escalated, DECLARED + timedelta(minutes=16)) == DECLARED + timedelta(minutes=30)


def test_an_acknowledged_p1_is_next_due_for_its_update_reminder() -> None:
    acked = snapshot("P1", comments=[(timedelta(minutes=5), "/ack")])
    # P1: updates every 2 hours from the declaration; the response track is over.
    assert due(acked, DECLARED + timedelta(minutes=6)) == DECLARED + timedelta(hours=2)
    assert "reminder" in posted(acked, DECLARED + timedelta(hours=2))


def test_after_a_reminder_the_next_one_is_one_interval_later() -> None:
    anchor = DECLARED.isoformat()
    acked = snapshot(
        "P1",
        comments=[(timedelta(minutes=5), "/ack")],
        own=[markers.Reminder(anchor, 1)],
    )
    assert due(acked, DECLARED + timedelta(hours=2, minutes=1)) == DECLARED + timedelta(hours=4)


def test_an_unresolved_track_step_is_due_at_escalate_after() -> None:
    anchor = DECLARED.isoformat()
    reminded = [markers.Reminder(anchor, n) for n in range(1, 3)]
    acked = snapshot("P1", comments=[(timedelta(minutes=5), "/ack")], own=reminded)
    # P1: unresolved after 2 hours reaches senior management; the reminders are posted.
    now = DECLARED + timedelta(hours=1, minutes=59)
    assert due(acked, now) == DECLARED + timedelta(hours=2)
    assert "escalation" in posted(acked, DECLARED + timedelta(hours=2))


def test_a_breach_is_due_at_its_legal_deadline() -> None:
    breach_at = DECLARED + timedelta(minutes=2)
    breach = snapshot(
        "P0",
        comments=[(timedelta(minutes=1), "/ack"), (timedelta(minutes=2), "/breach card data")],
        own=[markers.BreachNote()],
    )
    found = situation(breach, POLICY, DECLARED + timedelta(minutes=3))
    assert found is not None and found.state.breach is not None
    legal_by = POLICY.breach.legal_within.after(breach_at, POLICY.business_calendar)
    reminded = [markers.Reminder(DECLARED.isoformat(), n) for n in range(1, 3)]
    quiet = dataclasses.replace(
        breach,
        comments=breach.comments + tuple(c for c in snapshot("P0", own=reminded).comments[1:]),
    )
    now = legal_by - timedelta(minutes=1)
    assert due(quiet, now) == legal_by
    assert "escalation" in posted(quiet, legal_by)


def test_a_resolved_incident_has_nothing_due_but_its_slack_archive() -> None:
    resolved = snapshot("P2", comments=[(timedelta(minutes=5), "/status resolved")])
    now = DECLARED + timedelta(hours=1)
    assert due(resolved, now) is None
    archived = due(resolved, now, archive_after=timedelta(hours=24))
    assert archived == DECLARED + timedelta(minutes=5, hours=24)


def _own_issue(kind: markers.Marker) -> Snapshot:
    snap = snapshot("P1")
    body = markers.render(kind)
    return dataclasses.replace(
        snap, issue=dataclasses.replace(snap.issue, body=body, ours=True), comments=()
    )


def test_a_review_is_due_at_its_due_date_then_each_next_day() -> None:
    review_due = datetime(2026, 12, 1, 22, 0, tzinfo=UTC)
    review = _own_issue(markers.PirIssue(1, 1, review_due.isoformat()))
    assert reminder_due(review, POLICY, review_due - timedelta(days=1)) == review_due
    # Past it: midnight in New York after the day of `now`.
    later = reminder_due(review, POLICY, review_due + timedelta(hours=1))
    assert later == datetime(2026, 12, 2, 5, 0, tzinfo=UTC)


def test_an_action_item_is_due_at_its_due_date() -> None:
    item_due = datetime(2026, 12, 8, 15, 0, tzinfo=UTC)
    item = _own_issue(markers.ActionItem(1, "c1", item_due.isoformat()))
    assert reminder_due(item, POLICY, DECLARED) == item_due


def test_an_issue_without_a_due_marker_has_nothing_due() -> None:
    assert reminder_due(snapshot("P1"), POLICY, DECLARED) is None


def test_a_repository_is_checked_daily_or_at_the_first_business_day_of_next_month() -> None:
    assert repository_due(POLICY, DECLARED) == DECLARED + timedelta(days=1)
    # Monday 2026-11-30 noon New York: next month begins on Tuesday 2026-12-01.
    monday = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)
    assert repository_due(POLICY, monday) == datetime(2026, 12, 1, 5, 0, tzinfo=UTC)
    # 2027-01-01 is a holiday (US): the period begins on Monday 2027-01-04.
    new_year = datetime(2026, 12, 31, 17, 0, tzinfo=UTC)
    assert repository_due(POLICY, new_year) == new_year + timedelta(days=1)
    # New Year's Day in New York: the period begins tomorrow, Friday 2027-01-01 is a holiday…
    new_years_day = datetime(2027, 1, 1, 17, 0, tzinfo=UTC)
    assert repository_due(POLICY, new_years_day) == datetime(2027, 1, 2, 17, 0, tzinfo=UTC)
    jan_1_2020 = datetime(2020, 1, 1, 17, 0, tzinfo=UTC)  # Wednesday: Thursday begins it
    assert repository_due(POLICY, jan_1_2020) == datetime(2020, 1, 2, 5, 0, tzinfo=UTC)
    quiet = policy()
    assert repository_due(quiet, datetime(2026, 12, 31, 23, 0, tzinfo=UTC)) == datetime(
        2027, 1, 1, 0, 0, tzinfo=UTC
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history=ops, gap=st.integers(min_value=1, max_value=60 * 24 * 10))
def test_nothing_falls_due_before_next_due(history: list[tuple[str, ...]], gap: int) -> None:
    """After a delivery, planning at any moment before `next_due` posts nothing new."""
    world = World(
        Issue(1, "Outage", "open", frozenset(), frozenset(), DECLARED, None, "alice", 0),  # type: ignore[arg-type]
        [],
        [],
    )
    for op in [*history, ("deliver",)]:
        world.step()
        if op[0] == "label":
            world.label(op[1], by=op[2])
        elif op[0] == "say":
            world.say(op[1], op[2])
        elif op[0] in ("close", "reopen"):
            world.set_state("closed" if op[0] == "close" else "open")
        world.execute(plan(world.snapshot(), PLAIN, world.now()))  # type: ignore[arg-type]
    now = world.now()
    found = situation(world.snapshot(), PLAIN, now)  # type: ignore[arg-type]
    wake = next_due(found) if found is not None else None
    probe = now + timedelta(minutes=gap)  # type: ignore[operator]
    if wake is not None and probe >= wake:
        probe = wake - timedelta(seconds=1)
    assert plan(world.snapshot(), PLAIN, probe) == []


def test_a_breach_resolved_before_its_legal_deadline_is_still_due_at_it() -> None:
    breach_at = DECLARED + timedelta(minutes=2)
    resolved = snapshot(
        "P0",
        comments=[
            (timedelta(minutes=1), "/ack"),
            (timedelta(minutes=2), "/breach card data"),
            (timedelta(minutes=30), "/status resolved"),
        ],
        own=[markers.BreachNote()],
    )
    legal_by = POLICY.breach.legal_within.after(breach_at, POLICY.business_calendar)
    assert due(resolved, DECLARED + timedelta(minutes=31)) == legal_by
    assert "escalation" in posted(resolved, legal_by)
