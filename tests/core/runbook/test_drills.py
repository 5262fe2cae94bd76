"""Drills (app/core/runbook/drills.py), pure: runbook "Dry-Run Exercises" — "Frequency:
Monthly for P0 scenarios, quarterly for P1/P2"; "Scope: Full end-to-end response including
communication" — and behaviour §5 "Drills": every text headed as a drill, the people above
the response team named in code spans instead of being @-mentioned."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from app.core import markers
from app.core.actions import Action, OpenIssue, PostComment
from app.core.runbook import DRILL_HEADER, DueDrill, drill_issue, due_drills, plan
from app.core.snapshot import Snapshot
from tests.factories import DECLARED, NEW_YORK, POLICY, ROSTER, labeled, policy, roster, snapshot

DRILLS = policy(
    roster("management.senior: sam", "management.executive: erin")
    + NEW_YORK
    + "drills:\n  P0: monthly\n  P1: quarterly\n"
    + "  scenarios: [Database failover, Payment provider outage]\n"
)


def comments(actions: list[Action]) -> list[PostComment]:
    return [a for a in actions if isinstance(a, PostComment)]


def a_drill(severity: str = "P1") -> Snapshot:
    return snapshot(severity, events=labeled("drill", at=DECLARED + timedelta(seconds=1)))


def test_every_comment_of_a_drill_is_headed_as_one() -> None:
    # P1 unacknowledged for an hour: the escalation, as in a real incident, but a drill.
    (escalation,) = comments(plan(a_drill(), POLICY, DECLARED + timedelta(hours=1)))
    assert escalation.kind == "escalation"
    assert escalation.body.startswith(f"{DRILL_HEADER}\n\n⏫ **Escalation**")
    assert DRILL_HEADER == "🧪 **DRILL — exercise, no real impact**"


def test_the_same_incident_without_the_label_is_no_drill() -> None:
    (escalation,) = comments(plan(snapshot("P1"), POLICY, DECLARED + timedelta(hours=1)))
    assert DRILL_HEADER not in escalation.body


def test_the_executive_team_is_named_never_notified() -> None:
    # A P0 unacknowledged for an hour has climbed the whole chain to the executive team.
    actions = plan(a_drill("P0"), DRILLS, DECLARED + timedelta(hours=3))
    (note,) = [c for c in comments(actions) if c.kind == "escalation"]
    assert "Escalating to **Executive Team** (level 5 of the chain): `@erin`." in note.body
    assert re.findall(r"(?<!`)@erin", note.body) == []

    (real,) = [
        c
        for c in comments(plan(snapshot("P0"), DRILLS, DECLARED + timedelta(hours=3)))
        if c.kind == "escalation"
    ]
    assert "Escalating to **Executive Team** (level 5 of the chain): @erin." in real.body


def p0_periods(now: datetime) -> list[str]:
    return [d.period for d in due_drills(DRILLS, "acme/shop", now) if d.severity == "P0"]


def test_p0_drills_are_due_monthly_from_the_first_business_day() -> None:
    # August 2026 in New York: the 1st is a Saturday, Monday the 3rd its first business day.
    assert p0_periods(datetime(2026, 8, 1, 15, 0, tzinfo=UTC)) == []
    assert p0_periods(datetime(2026, 8, 3, 3, 59, tzinfo=UTC)) == []  # Sunday 23:59 in New York
    assert p0_periods(datetime(2026, 8, 3, 14, 0, tzinfo=UTC)) == ["2026-08"]
    (due,) = [
        d
        for d in due_drills(DRILLS, "acme/shop", datetime(2026, 8, 3, 14, 0, tzinfo=UTC))
        if d.severity == "P0"
    ]
    assert due == DueDrill("P0", "2026-08", 2026 * 12 + 8)


def test_drills_are_opened_only_in_the_repository_named() -> None:
    elsewhere = policy(ROSTER + "drills: {P0: monthly, repository: acme/drills}\n")
    now = datetime(2026, 8, 3, 14, 0, tzinfo=UTC)
    assert due_drills(elsewhere, "acme/shop", now) == []
    assert [d.severity for d in due_drills(elsewhere, "acme/drills", now)] == ["P0"]


def test_p1_drills_are_due_quarterly() -> None:
    due = due_drills(DRILLS, "acme/shop", datetime(2026, 10, 1, 15, 0, tzinfo=UTC))
    assert DueDrill("P1", "2026-Q4", 2026 * 4 + 4) in due
    assert [d.severity for d in due] == ["P0", "P1"]


def test_no_drills_without_a_drills_section() -> None:
    assert due_drills(POLICY, "acme/shop", datetime(2026, 12, 1, 15, 0, tzinfo=UTC)) == []


def test_the_drill_issue_takes_the_scenarios_in_turn() -> None:
    december = drill_issue(DRILLS, DueDrill("P0", "2026-12", 2026 * 12 + 12))
    january = drill_issue(DRILLS, DueDrill("P0", "2027-01", 2027 * 12 + 1))
    assert isinstance(december, OpenIssue)
    # ordinal % 2 picks the scenario: one month each.
    assert december.title == "Drill (P0, 2026-12): Database failover"
    assert january.title == "Drill (P0, 2027-01): Payment provider outage"
    assert december.labels == ("incident", "sev:P0", "drill")
    assert "communication included" in december.body  # "including communication"
    assert "senior management, the executive team and legal are not notified" in december.body
    assert markers.of(markers.ScheduledDrill, december.body) == [
        markers.ScheduledDrill("P0", "2026-12")
    ]
