"""The on-call chapter, planned purely: who a plan reaches at which moment, an unreadable
calendar told once with the backups reached, and the handover issue's listing."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from app.core import markers
from app.core.actions import OpenIssue, PostComment
from app.core.oncall import CalendarFeed, Handoff, OnCallRecord
from app.core.runbook import handover_issue, on_call_policy, plan
from app.core.state import derive
from tests.factories import DECLARED, incident, labeled, ours, policy, snapshot

# DECLARED is Tuesday 2026-11-24 15:00 UTC, 16:00 in Berlin; the daily handoff is 16:30 Berlin.
DAILY = """\
calendar: {timezone: Europe/Berlin}
rotations:
  primary: {members: [ada, ken], start: "2026-11-02 16:30", every: 1d}
  vendor: {calendar: vendor-oncall, people: {ada lovelace: ada}}
roster:
  release_manager.rohan-patel: {rotation: primary}
  architect.morgan-lee: {rotation: vendor}
  team_lead.casey-brooks: casey
  dev.avery-kim: avery
"""


def test_before_the_brief_the_declaration_s_moment_decides_after_it_now() -> None:
    p = policy(DAILY)
    later = DECLARED + timedelta(hours=1)  # ada's turn since 16:30 Berlin, ken's before
    fresh = incident(events=labeled("incident", "sev:P1"))
    assert on_call_policy(fresh, p, later).holders("incident_commander") == ["@ken"]
    assert on_call_policy(snapshot(), p, later).holders("incident_commander") == ["@ada"]


def test_an_unreadable_calendar_is_told_once_and_its_seat_s_backups_are_reached() -> None:
    p = policy(DAILY)
    broken = OnCallRecord(
        calendars={"vendor-oncall": CalendarFeed("vendor-oncall", problem="HTTP 503")}
    )
    snap = replace(snapshot(), oncall=broken)
    now = DECLARED + timedelta(minutes=10)
    notes = [
        a for a in plan(snap, p, now) if isinstance(a, PostComment) and a.kind == "calendar-problem"
    ]
    (note,) = notes
    assert "`vendor-oncall` could not be read (HTTP 503)" in note.body
    assert "`architect.morgan-lee`" in note.body
    told = replace(
        snap, comments=snap.comments + tuple(ours(markers.CalendarProblem("vendor-oncall")))
    )
    assert not [
        a for a in plan(told, p, now) if isinstance(a, PostComment) and a.kind == "calendar-problem"
    ]
    assert on_call_policy(snap, p, now).backups("technical_lead") == ["@avery"]


def test_the_handover_issue_lists_the_incidents_open_at_the_handoff() -> None:
    p = policy(DAILY)
    at = DECLARED + timedelta(minutes=30)
    snap = snapshot()
    state = derive(snap, p)
    assert state is not None
    found = handover_issue(p, Handoff("primary", at, "ken", "ada"), [(snap, state)])
    assert isinstance(found, OpenIssue)
    assert found.assignees == ("ada",) and found.labels == ("on-call",)
    assert (
        "| #1 Outage | P1 | investigating | response due Tue 2026-11-24 17:00 Europe/Berlin |"
        in found.body
    )
    assert markers.of(markers.HandoverIssue, found.body) == [
        markers.HandoverIssue("primary", "2026-11-24T15:30Z")
    ]
    later = Handoff("primary", DECLARED - timedelta(minutes=1), "ken", "ada")
    assert handover_issue(p, later, [(snap, state)]) is None  # declared after it: not open then


def test_the_handover_issue_says_a_missed_deadline_is_overdue() -> None:
    p = policy(DAILY)
    snap = snapshot()
    state = derive(snap, p)
    assert state is not None
    late = Handoff("primary", DECLARED + timedelta(hours=1, minutes=30), "ken", "ada")
    found = handover_issue(p, late, [(snap, state)])
    assert isinstance(found, OpenIssue)
    assert "| response overdue since Tue 2026-11-24 17:00 Europe/Berlin |" in found.body
    acked = derive(snapshot(comments=[(timedelta(minutes=5), "/ack")]), p)
    assert acked is not None
    found = handover_issue(p, late, [(snap, acked)])
    assert isinstance(found, OpenIssue)
    assert "| update due Tue 2026-11-24 18:00 Europe/Berlin |" in found.body
