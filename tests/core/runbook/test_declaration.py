"""Declaration (app/core/runbook/declaration.py), pure: the labels, the brief, and confirming
a report (behaviour §2, §8), as `(snapshot, policy, now) -> actions`.

Runbook "Response Phase: Immediate Actions (First 5 Minutes)": "Acknowledge incident",
"Notify appropriate team members"; on a public repository a stranger's report reaches only
the incident commander until someone with authority confirms it.
"""

from __future__ import annotations

from datetime import timedelta

from app.core import markers
from app.core.actions import Action, AddAssignees, AddLabels, PostComment
from app.core.runbook import plan
from app.core.snapshot import Snapshot
from tests.factories import DECLARED, POLICY, incident, labeled, ours, said

NOW = DECLARED + timedelta(minutes=1)
# An outsider's issue form: opened and labelled by mallory, who has no authority.
REPORTED = labeled("incident", "sev:P1", by="mallory")


def posted(actions: list[Action], kind: str) -> list[str]:
    return [a.body for a in actions if isinstance(a, PostComment) and a.kind == kind]


def test_a_declaration_gets_its_labels_and_one_brief_with_the_deadlines() -> None:
    declared = incident(labels=("incident", "sev:P0"), events=labeled("incident", "sev:P0"))
    actions = plan(declared, POLICY, NOW)
    assert AddLabels(("status:investigating",)) in actions
    # P0: incident commander, technical lead, communication lead, in one request.
    assert AddAssignees(("rohan", "morgan", "casey")) in actions
    (brief,) = posted(actions, "brief")
    assert brief.startswith("## 🚨 P0 Critical incident declared")
    assert "**Respond by 2026-11-24 15:15 UTC (Tue 10:15 America/New_York)** (15 minutes)" in brief
    assert markers.of(markers.Brief, brief)[0].severity == "P0"


def test_incident_alone_defaults_to_p2_and_asks_to_confirm_it() -> None:
    actions = plan(incident(labels=("incident",), events=labeled("incident")), POLICY, NOW)
    assert AddLabels(("sev:P2", "status:investigating")) in actions
    (brief,) = posted(actions, "brief")
    assert "Severity defaulted to **P2** because only `incident` was set" in brief


def test_a_strangers_report_reaches_only_the_incident_commander() -> None:
    actions = plan(incident(author="mallory", events=REPORTED, authorized=()), POLICY, NOW)
    assert [a for a in actions if isinstance(a, AddAssignees)] == [AddAssignees(("rohan",))]
    (brief,) = posted(actions, "brief")
    assert "**Reported by `@mallory`, not yet confirmed.**" in brief
    assert "| Technical Lead | `@morgan` |" in brief  # named, not pinged
    assert markers.of(markers.Brief, brief)[0].unconfirmed


def unconfirmed(*comments: tuple[timedelta, str, str]) -> Snapshot:
    brief = ours(markers.Brief("P1", checklist="P1", unconfirmed=True))
    return incident(
        comments=brief + said(*comments),
        assignees=("rohan",),
        author="mallory",
        events=REPORTED,
    )


def test_the_first_command_by_someone_with_authority_confirms_once() -> None:
    report = unconfirmed((timedelta(minutes=10), "alice", "/ack"))
    actions = plan(report, POLICY, DECLARED + timedelta(minutes=11))
    assert AddAssignees(("morgan",)) in actions  # P1: the technical lead joins rohan
    (note,) = posted(actions, "confirmed")
    assert note.startswith("✅ **P1 High incident confirmed** by @alice.")
    assert "Respond by 2026-11-24 16:00 UTC" in note  # the clock ran from the report
    assert "- Technical Lead: @morgan" in note
    assert markers.of(markers.Confirmed, note) == [markers.Confirmed("alice")]


def test_nobody_is_paged_while_only_people_without_authority_speak() -> None:
    report = unconfirmed((timedelta(minutes=10), "mallory", "/ack"))
    actions = plan(report, POLICY, DECLARED + timedelta(minutes=11))
    assert posted(actions, "confirmed") == []
    assert not any(isinstance(a, AddAssignees) and "morgan" in a.logins for a in actions)


def test_a_confirmed_report_is_not_confirmed_again() -> None:
    report = unconfirmed((timedelta(minutes=10), "alice", "/ack"))
    done = incident(
        comments=[*report.comments, *ours(markers.Confirmed("alice"), first_id=200)],
        assignees=("rohan", "morgan"),
        author="mallory",
        events=REPORTED,
    )
    assert posted(plan(done, POLICY, DECLARED + timedelta(minutes=12)), "confirmed") == []
