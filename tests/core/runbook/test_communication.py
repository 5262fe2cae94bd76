"""Communication (app/core/runbook/communication.py), pure: update reminders and replies to
commands — runbook "P1 (High): … Communication: Hourly updates to stakeholders" as this
policy's `update_every: 2h` — as `(snapshot, policy, now) -> actions`."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from app.core import markers
from app.core.actions import Action, PostComment
from app.core.runbook import plan
from tests.factories import DECLARED, POLICY, ours, said, snapshot


def comments(actions: list[Action], kind: str) -> list[str]:
    return [a.body for a in actions if isinstance(a, PostComment) and a.kind == kind]


def test_no_reminder_before_the_first_update_is_due() -> None:
    assert comments(plan(snapshot("P1"), POLICY, DECLARED + timedelta(hours=1)), "reminder") == []


def test_a_missed_update_is_reminded_with_the_template() -> None:
    (body,) = comments(
        plan(snapshot("P1"), POLICY, DECLARED + timedelta(hours=2, minutes=1)), "reminder"
    )
    # The communication lead (casey) and whoever the issue is assigned to (rohan).
    assert body.startswith("⏰ @casey @rohan: a status update was due 2026-11-24 17:00 UTC")
    assert "(P1: every 2 hours)" in body
    # The runbook's "Status Update Template", numbered and filled with what is known.
    assert "🚨 INCIDENT UPDATE #1 - [timestamp]\nSeverity: P1\nStatus: Investigating" in body
    assert markers.of(markers.Reminder, body) == [markers.Reminder(DECLARED.isoformat(), 1)]


def test_a_reminder_once_per_missed_interval() -> None:
    now = DECLARED + timedelta(hours=2, minutes=1)
    told = snapshot("P1", own=[markers.Reminder(DECLARED.isoformat(), 1)])
    assert comments(plan(told, POLICY, now), "reminder") == []
    # The next interval missed as well: one more.
    (later,) = comments(plan(told, POLICY, now + timedelta(hours=2)), "reminder")
    assert markers.of(markers.Reminder, later) == [markers.Reminder(DECLARED.isoformat(), 2)]


def test_a_status_update_restarts_the_clock() -> None:
    updated = snapshot("P1", comments=[(timedelta(hours=1), "/status mitigating cache stampede")])
    assert (
        comments(plan(updated, POLICY, DECLARED + timedelta(hours=2, minutes=1)), "reminder") == []
    )


def test_a_stranger_is_told_once_that_commands_need_authority() -> None:
    base = snapshot("P1")
    strangers = said(
        (timedelta(minutes=5), "mallory", "/sev P3"),
        (timedelta(minutes=6), "mallory", "/status resolved"),
    )
    actions = plan(
        replace(base, comments=(*base.comments, *strangers)),
        POLICY,
        DECLARED + timedelta(minutes=7),
    )
    (reply,) = comments(actions, "denied")
    assert reply.startswith("@mallory incident commands work only for people with write access")


def test_help_is_answered_once_per_comment() -> None:
    base = snapshot("P1", comments=[(timedelta(minutes=5), "/incident help")])
    now = DECLARED + timedelta(minutes=6)
    (reply,) = comments(plan(base, POLICY, now), "help")
    assert markers.of(markers.HelpReply, reply) == [markers.HelpReply(10)]
    answered = replace(base, comments=(*base.comments, *ours(markers.HelpReply(10))))
    assert comments(plan(answered, POLICY, now), "help") == []
