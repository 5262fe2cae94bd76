"""Breach (app/core/runbook/breach.py), pure: runbook "Data Breach Response" — "Legal: Notify
legal team within 1 hour of confirmed breach" — as `(snapshot, policy, now) -> actions`."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from app.core import markers
from app.core.actions import Action, AddAssignees, AddLabels, PostComment, RemoveLabel
from app.core.runbook import plan
from app.core.snapshot import Comment, Snapshot
from tests.factories import (
    DECLARED,
    NEW_YORK,
    POLICY,
    incident,
    labeled,
    ours,
    policy,
    roster,
    said,
    snapshot,
)

LEGAL = policy(
    roster("legal.counsel: lena", "security.officer: sid")
    + NEW_YORK
    + "breach: {regulator_within: 72h}\n"
)


def notes(actions: list[Action]) -> list[str]:
    return [a.body for a in actions if isinstance(a, PostComment) and a.kind == "breach"]


def breach_declared(after: timedelta = timedelta(minutes=5)) -> Snapshot:
    return snapshot("P1", comments=[(after, "/breach customer emails exposed")])


def test_a_confirmed_breach_is_p0_and_tells_legal_the_one_hour_deadline() -> None:
    actions = plan(breach_declared(), POLICY, DECLARED + timedelta(minutes=6))
    assert AddLabels(("sev:P0",)) in actions and RemoveLabel("sev:P1") in actions
    # P0 assigns all three leads: rohan holds his already.
    assert AddAssignees(("morgan", "casey")) in actions
    (note,) = notes(actions)
    assert "**Confirmed data breach**, declared by @alice: customer emails exposed." in note
    assert "Severity raised P1 → **P0 Critical**." in note
    # "within 1 hour of confirmed breach": from the /breach at 15:05, not the declaration.
    assert "**notify legal by 2026-11-24 16:05 UTC (Tue 11:05 America/New_York)**" in note
    assert "(runbook: within 1 hour of a confirmed breach)" in note
    assert "`/legal notified [reference]`" in note
    assert "### Checklist (P0)" in note
    assert markers.of(markers.BreachNote, note) == [markers.BreachNote()]


def test_the_breach_note_names_legal_and_the_security_officer_and_the_regulator_deadline() -> None:
    (note,) = notes(plan(breach_declared(), LEGAL, DECLARED + timedelta(minutes=6)))
    assert "**Legal/Compliance**: @lena" in note and "**Security Officer**: @sid" in note
    # `breach: {regulator_within: 72h}`: runbook "Regulatory Reporting: Follow required
    # reporting timelines", counted from the /breach.
    assert "Regulator deadline: **2026-11-27 15:05 UTC (Fri 10:05 America/New_York)**" in note


def test_a_public_repository_is_warned_to_keep_details_private() -> None:
    public = breach_declared()
    private = replace(public, repo=replace(public.repo, private=True))
    now = DECLARED + timedelta(minutes=6)
    (on_public,) = notes(plan(public, POLICY, now))
    (on_private,) = notes(plan(private, POLICY, now))
    assert "**Data breach on a public repository.**" in on_public
    assert "public repository" not in on_private


def test_the_note_is_posted_once() -> None:
    told = snapshot(
        "P0",
        comments=[(timedelta(minutes=5), "/breach customer emails exposed")],
        own=[markers.BreachNote()],
    )
    assert notes(plan(told, POLICY, DECLARED + timedelta(hours=2))) == []


def test_a_report_not_yet_confirmed_defers_the_breach_note_until_someone_confirms() -> None:
    """An outsider's issue form labelled `breach` (behaviour §2: "defers the breach note")."""
    brief = ours(markers.Brief("P1", checklist="P1", unconfirmed=True))

    def report(*comments: Comment) -> Snapshot:
        return incident(
            labels=("incident", "sev:P1", "status:investigating", "breach"),
            events=labeled("incident", "sev:P1", "breach", by="mallory"),
            author="mallory",
            assignees=("rohan",),
            comments=[*brief, *comments],
        )

    waiting = report()
    assert notes(plan(waiting, POLICY, DECLARED + timedelta(minutes=10))) == []

    acked = report(*said((timedelta(minutes=10), "alice", "/ack")))
    (note,) = notes(plan(acked, POLICY, DECLARED + timedelta(minutes=11)))
    assert "declared by @mallory" in note
    # The clock runs from the breach on record (the declaration), not from the confirmation.
    assert "**notify legal by 2026-11-24 16:00 UTC" in note
