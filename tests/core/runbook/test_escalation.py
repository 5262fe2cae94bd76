"""The planner's clock work, pure: every severity × deadline, business days, changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.core import markers
from app.core.actions import PostComment
from app.core.policy import Policy, Severity
from app.core.runbook import due_steps, plan
from app.core.snapshot import Event, Issue, Snapshot
from app.core.state import derive
from tests.factories import DECLARED, POLICY, snapshot


def kinds(actions: list[object]) -> list[str]:
    return [a.kind for a in actions if isinstance(a, PostComment)]


def escalation_at(snap: Snapshot, now: datetime, policy: Policy = POLICY) -> list[str]:
    return [
        a.body
        for a in plan(snap, policy, now)
        if isinstance(a, PostComment) and a.kind == "escalation"
    ]


RESPONSE = {"P0": timedelta(minutes=15), "P1": timedelta(hours=1), "P2": timedelta(hours=4)}
UPDATE = {
    "P0": timedelta(minutes=30),
    "P1": timedelta(hours=2),
    "P2": timedelta(days=1),
    "P3": timedelta(weeks=1),
}


@pytest.mark.parametrize("sev", ["P0", "P1", "P2"])
def test_response_deadline_per_severity(sev: str) -> None:
    due = DECLARED + RESPONSE[sev]
    assert escalation_at(snapshot(sev), due - timedelta(seconds=1)) == []
    (note,) = escalation_at(snapshot(sev), due)
    assert "not acknowledged" in note and "Technical Lead" in note


def test_p3_responds_by_the_end_of_the_next_business_day() -> None:
    # Tuesday 10:00 New York → Wednesday 17:00 New York = 22:00 UTC
    due = datetime(2026, 11, 25, 22, 0, tzinfo=UTC)
    assert escalation_at(snapshot("P3"), due - timedelta(minutes=1)) == []
    assert len(escalation_at(snapshot("P3"), due)) == 1


def test_p3_declared_friday_evening_is_due_monday() -> None:
    friday_evening = datetime(2026, 11, 20, 23, 30, tzinfo=UTC)  # Fri 18:30 New York
    snap = snapshot("P3", declared=friday_evening)
    monday_close = datetime(2026, 11, 23, 22, 0, tzinfo=UTC)
    assert escalation_at(snap, monday_close - timedelta(minutes=1)) == []
    assert len(escalation_at(snap, monday_close)) == 1


def test_p3_skips_a_public_holiday() -> None:
    # Wednesday before Thanksgiving (Thu 2026-11-26): next business day is Friday.
    wednesday = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
    snap = snapshot("P3", declared=wednesday)
    friday_close = datetime(2026, 11, 27, 22, 0, tzinfo=UTC)
    assert escalation_at(snap, friday_close - timedelta(minutes=1)) == []
    assert len(escalation_at(snap, friday_close)) == 1


@pytest.mark.parametrize("sev", ["P0", "P1", "P2", "P3"])
def test_update_cadence_per_severity(sev: str) -> None:
    acked = snapshot(sev, comments=[(timedelta(minutes=1), "/ack")])
    due = DECLARED + UPDATE[sev]
    early = plan(acked, POLICY, due - timedelta(seconds=1))
    assert "reminder" not in kinds(early)
    assert kinds(plan(acked, POLICY, due)).count("reminder") == 1


@pytest.mark.parametrize(
    ("sev", "after", "says"),
    [
        ("P1", timedelta(hours=2), "unresolved after 2 hours"),
        ("P2", timedelta(hours=24), "Daily review with management"),
        ("P3", timedelta(weeks=1), "Weekly review"),
    ],
)
def test_unresolved_threshold_per_severity(sev: str, after: timedelta, says: str) -> None:
    updates = [(timedelta(minutes=1), "/ack")]
    snap = snapshot(sev, comments=updates)
    assert escalation_at(snap, DECLARED + after - timedelta(seconds=1)) == []
    (note,) = escalation_at(snap, DECLARED + after)
    assert says in note


def test_p0_has_no_unresolved_escalation_but_everyone_was_notified() -> None:
    snap = snapshot("P0", comments=[(timedelta(minutes=1), "/ack")])
    assert escalation_at(snap, DECLARED + timedelta(days=3)) == []
    state = derive(snap, POLICY)
    assert state is not None
    far = DECLARED + timedelta(days=30)
    assert all(not step.id.startswith("unresolved") for step in due_steps(POLICY, state, far))


def test_ack_just_before_the_deadline_stops_escalation() -> None:
    snap = snapshot("P0", comments=[(timedelta(minutes=14, seconds=59), "/ack")])
    assert escalation_at(snap, DECLARED + timedelta(minutes=20)) == []


def test_ack_just_after_the_deadline_stops_further_steps_only() -> None:
    late = snapshot("P0", comments=[(timedelta(minutes=15, seconds=1), "/ack")])
    # the first step, posted at 15:00, is in the record; after the ack nothing more comes
    posted = snapshot(
        "P0",
        comments=[(timedelta(minutes=15, seconds=1), "/ack")],
        own=[markers.Escalation(("response-P0-1",), level=1)],
    )
    assert escalation_at(posted, DECLARED + timedelta(hours=2)) == []
    assert escalation_at(late, DECLARED + timedelta(hours=2)) == []


def test_steps_already_posted_are_not_posted_again_and_the_next_one_climbs() -> None:
    snap = snapshot("P0", own=[markers.Escalation(("response-P0-1",), level=1)])
    assert escalation_at(snap, DECLARED + timedelta(minutes=29)) == []
    (note,) = escalation_at(snap, DECLARED + timedelta(minutes=30))
    assert "Team Lead" in note


def test_a_long_outage_of_the_app_posts_one_comment_for_all_missed_steps() -> None:
    (note,) = escalation_at(snapshot("P0"), DECLARED + timedelta(hours=3))
    assert note.count("not acknowledged within") == 4
    assert "Executive Team" in note


def test_severity_change_restarts_the_clocks_from_its_github_time() -> None:
    change = DECLARED + timedelta(hours=3)
    snap = snapshot("P2", events=[Event(9, "labeled", change, "alice", False, label="sev:P1")])
    snap = Snapshot(
        **{
            **snap.__dict__,
            "issue": Issue(
                1,
                "Outage",
                "open",
                frozenset({"incident", "sev:P1", "sev:P2", "status:investigating"}),
                frozenset(),
                DECLARED,
                None,
                "alice",
                1,
            ),
        }
    )
    state = derive(snap, POLICY)
    assert state is not None and state.severity is Severity.P1 and state.severity_since == change
    # P1 responds within 1 h of the change, not of the declaration
    assert escalation_at(snap, change + timedelta(minutes=59)) == []
    notes = escalation_at(snap, change + timedelta(hours=1))
    assert len(notes) == 1 and "(P1)" in notes[0]


def test_resolved_incidents_get_no_reminders_or_escalations() -> None:
    snap = snapshot(
        "P0", events=[Event(9, "closed", DECLARED + timedelta(minutes=1), "alice", False)]
    )
    snap = Snapshot(
        **{
            **snap.__dict__,
            "issue": Issue(
                1,
                "Outage",
                "closed",
                frozenset({"incident", "sev:P0", "status:resolved"}),
                frozenset(),
                DECLARED,
                DECLARED,
                "alice",
                1,
            ),
        }
    )
    said = kinds(plan(snap, POLICY, DECLARED + timedelta(days=2)))
    assert "reminder" not in said and "escalation" not in said
    assert said == ["all-clear"]  # runbook "Post-Incident Activities: All Clear"


def test_reminder_counts_missed_intervals_and_posts_only_the_latest() -> None:
    snap = snapshot(
        "P0",
        comments=[(timedelta(minutes=1), "/ack")],
        own=[markers.Reminder(DECLARED.isoformat(), 1)],
    )
    assert "reminder" not in kinds(plan(snap, POLICY, DECLARED + timedelta(minutes=59)))
    actions = plan(snap, POLICY, DECLARED + timedelta(minutes=95))
    (reminder,) = [a for a in actions if isinstance(a, PostComment) and a.kind == "reminder"]
    assert '"n":3' in reminder.body
