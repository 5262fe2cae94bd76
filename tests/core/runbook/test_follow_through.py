"""Follow-through (app/core/runbook/follow_through.py), pure: runbook "Action Item
Categories" — "Immediate: Critical fixes needed within 1 week", "Short-term: Improvements
needed within 1 month", "Long-term: Strategic improvements within 1 quarter" — and "PIR
Documentation: Follow-up: Monthly review of action item progress" (behaviour §5)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from app.core import markers
from app.core.actions import Action, EditComment, OpenIssue, PostComment
from app.core.runbook import plan, plan_action_reminder
from app.core.snapshot import Followup, Snapshot
from tests.factories import DECLARED, POLICY, incident, ours, snapshot

ASKED = timedelta(minutes=5)
COMMAND = "/action immediate Add a retry budget to the payment client @morgan"


NOTHING_FILED = Followup()  # read: no action-item issue filed yet


def with_action(command: str = COMMAND, followup: Followup | None = NOTHING_FILED) -> Snapshot:
    """An acknowledged P1 where alice asked for an action item; `followup` is what GitHub's
    record of the filed items was read as (None: not read in this run)."""
    base = snapshot("P1", comments=[(timedelta(minutes=1), "/ack"), (ASKED, command)])
    return replace(base, followup=followup)


def issues(actions: list[Action]) -> list[OpenIssue]:
    return [a for a in actions if isinstance(a, OpenIssue)]


def test_an_action_command_files_one_issue_due_by_its_horizon() -> None:
    (item,) = issues(plan(with_action(), POLICY, DECLARED + timedelta(minutes=6)))
    assert item.kind == "action-item"
    assert item.labels == ("action-item", "horizon:immediate")
    assert item.assignees == ("morgan",)
    assert item.title.startswith("Add a retry budget to the payment client")
    # "within 1 week" of the command (15:05 UTC on Tuesday 2026-11-24)
    assert "**Immediate** action item (within 1 week): **due 2026-12-01**." in item.body
    assert "@\u200bmorgan" in item.body  # named in the body without a second ping
    (marker,) = markers.of(markers.ActionItem, item.body)
    assert marker == markers.ActionItem(1, "c11", "2026-12-01T15:05:00+00:00")


@pytest.mark.parametrize(
    ("horizon", "label", "due"),
    [("short", "horizon:short-term", "2026-12-24"), ("long", "horizon:long-term", "2027-02-23")],
)
def test_short_and_long_term_items_are_due_in_a_month_and_a_quarter(
    horizon: str, label: str, due: str
) -> None:
    command = f"/action {horizon} Split the checkout service"
    (item,) = issues(plan(with_action(command), POLICY, DECLARED + timedelta(minutes=6)))
    assert item.labels == ("action-item", label) and item.assignees == ()
    assert f"**due {due}**" in item.body


def test_nothing_is_filed_before_githubs_record_of_filed_items_was_read() -> None:
    unread = with_action(followup=None)
    assert issues(plan(unread, POLICY, DECLARED + timedelta(minutes=6))) == []


def test_a_filed_item_is_not_filed_again_and_the_incident_lists_it_once() -> None:
    filed = with_action(followup=Followup(filed=(("c11", 42, "immediate"),)))
    actions = plan(filed, POLICY, DECLARED + timedelta(minutes=7))
    assert issues(actions) == []
    (listing,) = [a for a in actions if isinstance(a, PostComment) and a.kind == "action-list"]
    assert "- **Immediate** (within 1 week): #42" in listing.body
    assert markers.of(markers.ActionList, listing.body) == [markers.ActionList(("c11",))]


def test_the_list_is_edited_in_place_when_an_item_joins_it() -> None:
    listed = with_action(
        followup=Followup(filed=(("c11", 42, "immediate"), ("c12", 43, "short-term")))
    )
    listed = replace(
        listed, comments=(*listed.comments, *ours(markers.ActionList(("c11",)), first_id=300))
    )
    actions = plan(listed, POLICY, DECLARED + timedelta(minutes=8))
    (edit,) = [a for a in actions if isinstance(a, EditComment)]
    assert edit.comment_id == 300
    assert (
        "- **Immediate** (within 1 week): #42\n- **Short-term** (within 1 month): #43" in edit.body
    )
    assert not [a for a in actions if isinstance(a, PostComment) and a.kind == "action-list"]


# --- the weekly reminder of an overdue item ("monthly review of action item progress") -----

DUE = datetime(2026, 12, 1, 15, 5, tzinfo=UTC)


def action_item_issue(*notes: markers.Marker) -> Snapshot:
    """The action-item issue the app opened, assigned to morgan."""
    issue = incident(
        labels=("action-item", "horizon:immediate"),
        assignees=("morgan",),
        comments=ours(*notes, at=DUE + timedelta(days=1)),
    )
    body = "Add a retry budget\n\n" + markers.render(markers.ActionItem(1, "c11", DUE.isoformat()))
    return replace(issue, issue=replace(issue.issue, ours=True, body=body))


def test_an_overdue_item_is_reminded_to_its_assignees_once_a_week() -> None:
    assert plan_action_reminder(action_item_issue(), POLICY, DUE - timedelta(minutes=1)) == []
    (reminder,) = plan_action_reminder(action_item_issue(), POLICY, DUE + timedelta(days=1))
    assert isinstance(reminder, PostComment) and reminder.kind == "action-reminder"
    assert "@morgan" in reminder.body
    assert markers.of(markers.ActionReminder, reminder.body) == [markers.ActionReminder("2026-W49")]
    reminded = action_item_issue(markers.ActionReminder("2026-W49"))
    assert plan_action_reminder(reminded, POLICY, DUE + timedelta(days=2)) == []
    assert len(plan_action_reminder(reminded, POLICY, DUE + timedelta(days=7))) == 1  # W50


def test_an_issue_people_opened_is_never_reminded_whatever_its_markers() -> None:
    forged = action_item_issue()
    forged = replace(forged, issue=replace(forged.issue, ours=False))
    assert plan_action_reminder(forged, POLICY, DUE + timedelta(days=1)) == []
