"""Severity (app/core/runbook/severity.py), pure: the severity's clocks and the note on a change
of it — runbook "P0 (Critical): Response time: 15 minutes", "real-time updates every 30
minutes" — as `(snapshot, policy, now) -> actions`."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from app.core import markers
from app.core.actions import Action, AddAssignees, PostComment
from app.core.runbook import plan
from app.core.snapshot import Event, Snapshot
from tests.factories import DECLARED, POLICY, ours, snapshot

CHANGED = DECLARED + timedelta(minutes=10)


def severity_notes(actions: list[Action]) -> list[str]:
    return [a.body for a in actions if isinstance(a, PostComment) and a.kind == "severity"]


def raised_to_p0() -> Snapshot:
    """A P1 whose `sev:P1` alice swapped for `sev:P0` ten minutes after the declaration."""
    base = snapshot("P1")
    swap = (
        Event(9, "unlabeled", CHANGED, "alice", False, label="sev:P1"),
        Event(10, "labeled", CHANGED, "alice", False, label="sev:P0"),
    )
    issue = replace(base.issue, labels=frozenset({"incident", "sev:P0", "status:investigating"}))
    return replace(base, issue=issue, events=(*base.events, *swap))


def test_a_raise_to_p0_assigns_the_new_roles_and_states_the_p0_clocks() -> None:
    actions = plan(raised_to_p0(), POLICY, CHANGED + timedelta(minutes=1))
    # P0 assigns all three leads; rohan holds his already.
    assert AddAssignees(("morgan", "casey")) in actions
    (note,) = severity_notes(actions)
    assert note.startswith("Severity changed P1 → **P0 Critical** by @alice.")
    # Both clocks count from the change at 15:10 UTC, not from the declaration.
    assert "Respond by 2026-11-24 15:25 UTC (Tue 10:25 America/New_York)" in note
    assert "updates every 30 minutes, next due 2026-11-24 15:40 UTC" in note
    assert "### Checklist (P0)" in note
    assert markers.of(markers.SeverityNote, note) == [markers.SeverityNote("P0", checklist="P0")]


def test_the_change_is_announced_once() -> None:
    now = CHANGED + timedelta(minutes=1)
    told = raised_to_p0()
    told = replace(
        told, comments=(*told.comments, *ours(markers.SeverityNote("P0", checklist="P0")))
    )
    assert severity_notes(plan(told, POLICY, now)) == []


def test_a_declaration_that_keeps_its_severity_gets_no_note() -> None:
    assert severity_notes(plan(snapshot("P1"), POLICY, DECLARED + timedelta(minutes=30))) == []
