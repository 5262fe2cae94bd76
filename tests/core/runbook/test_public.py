"""Public-update cadence and the status-site note (issue 24), planned with an injected now."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from app.core import markers
from app.core.actions import PostComment
from app.core.runbook import plan
from app.core.runbook.public import public_due
from app.core.snapshot import Snapshot
from app.core.state import derive
from tests.factories import DECLARED, NEW_YORK, ROSTER, labeled, policy, snapshot

SITE = "statuspage: {repository: acme/status, branch: gh-pages}\n"
POLICY = policy(ROSTER + NEW_YORK + SITE)
M, H = timedelta(minutes=1), timedelta(hours=1)


def _due(snap: Snapshot, now: datetime) -> datetime | None:
    state = derive(snap, POLICY)
    assert state is not None
    return public_due(state, POLICY, now)


def _reminders(snap: Snapshot, now: datetime) -> list[PostComment]:
    return [
        a
        for a in plan(snap, POLICY, now)
        if isinstance(a, PostComment) and a.kind == markers.PublicReminder.KIND
    ]


@pytest.mark.parametrize(
    ("severity", "first"),
    [("P0", 30 * M), ("P1", 2 * H), ("P2", 4 * H)],
)
def test_the_first_public_update_is_due_after_the_declaration(
    severity: str, first: timedelta
) -> None:
    snap = snapshot(severity)
    assert _due(snap, DECLARED) == DECLARED + first
    assert _reminders(snap, DECLARED + first - M) == []
    [reminder] = _reminders(snap, DECLARED + first)
    assert "a public update was due" in reminder.body
    assert "/public <text>" in reminder.body


def test_a_public_update_restarts_the_window() -> None:
    snap = snapshot("P1", comments=[(90 * M, "/public We are investigating.")])
    assert _due(snap, DECLARED + 2 * H) == DECLARED + 90 * M + 2 * H
    assert _reminders(snap, DECLARED + 3 * H) == []


def test_each_window_is_reminded_once() -> None:
    due = DECLARED + 2 * H
    reminded = snapshot("P1", own=[markers.PublicReminder(due.isoformat())])
    assert _reminders(reminded, due + M) == []
    assert _due(reminded, due + M) == due + 2 * H  # the next window
    [again] = _reminders(reminded, due + 2 * H)
    assert markers.of(markers.PublicReminder, again.body) == [
        markers.PublicReminder((due + 2 * H).isoformat())
    ]


def test_p3_is_due_daily_only_when_customer_facing() -> None:
    quiet = snapshot("P3")
    assert _due(quiet, DECLARED + 2 * 24 * H) is None
    facing = snapshot("P3", events=labeled("customer-facing", at=DECLARED))
    assert _due(facing, DECLARED) == DECLARED + 24 * H


def test_nothing_is_due_without_a_site_or_for_drills() -> None:
    state = derive(snapshot("P0"), policy(ROSTER))
    assert state is not None
    assert public_due(state, policy(ROSTER), DECLARED + 5 * H) is None
    drill = snapshot("P0", events=labeled("drill", at=DECLARED))
    assert _due(drill, DECLARED + 5 * H) is None


def test_a_sensitive_incident_is_not_nudged_to_go_public() -> None:
    secret = snapshot("P1", events=labeled("security", at=DECLARED))
    assert _due(secret, DECLARED + 5 * H) is None


def test_the_incident_is_told_once_where_it_is_published() -> None:
    snap = snapshot("P1", comments=[(5 * M, "/public We are investigating.")])
    notes = [a for a in plan(snap, POLICY, DECLARED + 6 * M) if isinstance(a, PostComment)]
    [note] = [a for a in notes if a.kind == "public"]
    [record] = markers.of(markers.PublicRecord, note.body)
    assert f"incidents/{record.id}.html" in note.body
    assert "acme/status" in note.body
    recorded = snapshot("P1", comments=[(5 * M, "/public We are investigating.")], own=[record])
    assert [
        a for a in plan(recorded, POLICY, DECLARED + 7 * M) if getattr(a, "kind", "") == "public"
    ] == []
