"""Breach (app/core/runbook/breach.py), pure: runbook "Data Breach Response" — "Legal: Notify
legal team within 1 hour of confirmed breach" — as `(snapshot, policy, now) -> actions`."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from app.core import markers
from app.core.actions import (
    Action,
    AddAssignees,
    AddLabels,
    AddReaction,
    PostComment,
    RemoveLabel,
)
from app.core.policy import Policy
from app.core.runbook import breach_due, breach_open, plan
from app.core.snapshot import Comment, Snapshot
from app.core.state import IncidentState, derive
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


# --- Deadlines that outlive resolution; `/regulator notified` -------------------------

# alice (who writes the snapshots' comments) as the legal counsel: a recorder.
ALICE_IS_LEGAL = policy(
    roster("legal.counsel: alice", "security.officer: sid")
    + NEW_YORK
    + "breach: {regulator_within: 72h}\n"
)
BREACH_AT = DECLARED + timedelta(minutes=10)
LEGAL_DUE = BREACH_AT + timedelta(hours=1)
REGULATOR_DUE = BREACH_AT + timedelta(hours=72)
REMINDER_DUE = REGULATOR_DUE - timedelta(hours=18)  # a quarter before the deadline


def resolved_breach(
    *comments: tuple[timedelta, str], own: tuple[markers.Marker, ...] = ()
) -> Snapshot:
    """A P1 labelled `breach` at +10 min (the breach note posted) and resolved and closed 30
    minutes after the label, at +40 min; `comments` are alice's, after that."""
    snap = snapshot(
        "P1",
        comments=[
            (timedelta(minutes=1), "/ack"),
            (timedelta(minutes=40), "/status resolved bucket locked down"),
            *comments,
        ],
        own=[markers.BreachNote(), *own],
        events=labeled("breach", at=BREACH_AT),
    )
    closed = DECLARED + timedelta(minutes=40)
    return replace(snap, issue=replace(snap.issue, state="closed", closed_at=closed))


def derived(snap: Snapshot, policy: Policy) -> IncidentState:
    state = derive(snap, policy)
    assert state is not None
    return state


def escalations(snap: Snapshot, now: object, policy: object = LEGAL) -> list[str]:
    return [
        a.body
        for a in plan(snap, policy, now)  # type: ignore[arg-type]
        if isinstance(a, PostComment) and a.kind == "escalation"
    ]


def test_a_breach_resolved_before_its_legal_deadline_still_escalates_at_it() -> None:
    """Resolving the incident does not tell legal: at +60 min of the label the step comes."""
    snap = resolved_breach()
    assert escalations(snap, LEGAL_DUE - timedelta(seconds=1)) == []
    (note,) = escalations(snap, LEGAL_DUE)
    assert "legal not notified within 1 hour of the confirmed breach" in note
    assert "**Legal/Compliance**: @lena" in note
    assert markers.of(markers.Escalation, note)[0].steps == ("breach-legal",)


def test_a_resolved_breach_still_gets_the_regulator_reminder_and_deadline() -> None:
    snap = resolved_breach(own=(markers.Escalation(("breach-legal",), level=0),))
    assert escalations(snap, REMINDER_DUE - timedelta(seconds=1)) == []
    (reminder,) = escalations(snap, REMINDER_DUE)
    assert reminder.startswith("📋 **Regulator deadline** — the regulator must be notified by")
    (both,) = escalations(snap, REGULATOR_DUE)
    assert "the regulator's deadline (2026-11-27 15:10 UTC" in both


def test_a_resolved_incident_without_a_breach_escalates_nothing() -> None:
    snap = resolved_breach()
    plain = replace(snap, events=snap.events[:2], comments=snap.comments[:-1])
    assert escalations(plain, DECLARED + timedelta(days=30)) == []


def test_regulator_notified_by_a_recorder_stops_its_reminder_and_deadline() -> None:
    snap = resolved_breach(
        (timedelta(minutes=50), "/legal notified LEGAL-7"),
        (timedelta(hours=5), "/regulator notified REF-1"),
    )
    assert escalations(snap, REGULATOR_DUE + timedelta(days=1), ALICE_IS_LEGAL) == []
    assert not breach_open(derived(snap, ALICE_IS_LEGAL), ALICE_IS_LEGAL)
    assert breach_due(derived(snap, ALICE_IS_LEGAL), ALICE_IS_LEGAL) is None


def test_regulator_notified_after_the_reminder_stops_the_deadline_escalation() -> None:
    snap = resolved_breach(
        (timedelta(minutes=50), "/legal notified"),
        (REMINDER_DUE - DECLARED + timedelta(hours=1), "/regulator notified REF-1"),
        own=(markers.Escalation(("breach-regulator-reminder",), level=0),),
    )
    assert escalations(snap, REGULATOR_DUE + timedelta(days=1), ALICE_IS_LEGAL) == []


def test_regulator_notified_twice_counts_the_first_and_changes_nothing_more() -> None:
    snap = resolved_breach(
        (timedelta(hours=5), "/regulator notified REF-1"),
        (timedelta(hours=6), "/regulator notified REF-2"),
    )
    record = derived(snap, ALICE_IS_LEGAL).breach
    assert record is not None
    assert (record.regulator_at, record.regulator_reference) == (
        DECLARED + timedelta(hours=5),
        "REF-1",
    )
    # Nothing to answer: both counted as given (the app's 👍 is on both), no reply.
    kinds = [
        a.kind
        for a in plan(snap, ALICE_IS_LEGAL, DECLARED + timedelta(hours=7))
        if isinstance(a, PostComment)
    ]
    assert "invalid" not in kinds


def test_regulator_notified_by_someone_who_may_not_record_it_is_refused() -> None:
    """alice has write access, but with lena as the legal counsel holds no recorder role."""
    snap = resolved_breach()
    snap = replace(
        snap,
        comments=(
            *snap.comments,
            *said((timedelta(hours=5), "alice", "/regulator notified REF-1"), first_id=30),
        ),
    )
    now = DECLARED + timedelta(hours=5, minutes=1)
    actions = plan(snap, LEGAL, now)
    (reply,) = [a.body for a in actions if isinstance(a, PostComment) and a.kind == "invalid"]
    assert reply.startswith(
        "`/regulator notified`: only the Legal/Compliance, Incident Commander or Security "
        "Officer (`breach.recorders`) may record it; nothing changed."
    )
    assert AddReaction(30, "+1") not in actions  # no 👍: nothing was done
    record = derived(snap, LEGAL).breach
    assert record is not None and record.regulator_at is None
    assert breach_open(derived(snap, LEGAL), LEGAL)
    (reminder,) = escalations(snap, REMINDER_DUE)
    assert "Regulator deadline" in reminder and "breach-legal" in reminder  # both still due


def test_legal_or_regulator_notified_without_a_breach_is_refused() -> None:
    snap = snapshot("P1", comments=[(timedelta(minutes=5), "/regulator notified REF-1")])
    (reply,) = [
        a.body
        for a in plan(snap, ALICE_IS_LEGAL, DECLARED + timedelta(minutes=6))
        if isinstance(a, PostComment) and a.kind == "invalid"
    ]
    assert "there is no confirmed data breach on this incident to record it for" in reply


def test_breach_due_is_the_next_deadline_not_yet_posted() -> None:
    """What the tick and wake-ups revisit a closed incident for, however long after."""
    snap = resolved_breach()
    state = derived(snap, LEGAL)
    assert breach_open(state, LEGAL) and breach_due(state, LEGAL) == LEGAL_DUE
    legal_posted = resolved_breach(own=(markers.Escalation(("breach-legal",), level=0),))
    assert breach_due(derived(legal_posted, LEGAL), LEGAL) == REMINDER_DUE
    assert breach_due(derived(snap, POLICY), POLICY) == LEGAL_DUE  # no regulator deadline
    legal_only = policy(roster("legal.counsel: alice") + NEW_YORK)
    told = derived(resolved_breach((timedelta(minutes=50), "/legal notified")), legal_only)
    assert not breach_open(told, legal_only) and breach_due(told, legal_only) is None
