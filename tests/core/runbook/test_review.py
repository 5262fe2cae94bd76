"""The review (app/core/runbook/review.py), pure: runbook "Post-Incident Review" — "Schedule
post-incident review meeting within 5 business days" — one step at a time: issue, branch,
document, pull request, link; as `(snapshot, policy, now) -> actions`."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from app.core import markers
from app.core.actions import (
    Action,
    CreateBranch,
    CreateFile,
    OpenIssue,
    OpenPullRequest,
    PostComment,
)
from app.core.runbook.review import pir_step, plan_pir_reminder
from app.core.snapshot import PirRecord, Snapshot
from app.core.state import derive
from tests.factories import DECLARED, POLICY, incident, ours, snapshot

RESOLVED = DECLARED + timedelta(hours=1)


def resolved(record: PirRecord, *, own: list[markers.Marker] = ()) -> Snapshot:  # type: ignore[assignment]
    """A P1 resolved an hour after its declaration, its all-clear sent, `record` existing."""
    told = snapshot(
        "P1",
        comments=[(timedelta(hours=1), "/status resolved rolled back")],
        own=[markers.AllClear(1), *own],
    )
    issue = replace(told.issue, state="closed", closed_at=RESOLVED)
    return replace(told, issue=issue, pir=record)


def step(record: PirRecord, **kwargs: list[markers.Marker]) -> list[Action]:
    found = resolved(record, **kwargs)
    return pir_step(found, POLICY, derive(found, POLICY))


def test_the_review_issue_comes_first_assigned_to_the_incident_commander() -> None:
    (opened,) = step(PirRecord())
    assert isinstance(opened, OpenIssue)
    assert opened.title == "PIR: Outage"
    assert opened.assignees == ("rohan",) and opened.labels == ("pir",)


def test_then_the_branch_the_document_and_the_pull_request_in_order() -> None:
    (branch,) = step(PirRecord(issue=7, base_sha="abc"))
    assert isinstance(branch, CreateBranch) and branch.sha == "abc"
    (document,) = step(PirRecord(issue=7, branch_exists=True))
    assert isinstance(document, CreateFile)
    assert document.path.startswith("ops/docs/incidents/")
    (pull,) = step(PirRecord(issue=7, branch_exists=True, file_exists=True))
    assert isinstance(pull, OpenPullRequest) and "Closes #7" in pull.body


def test_the_link_ends_the_round_and_nothing_follows_it() -> None:
    done = PirRecord(issue=7, branch_exists=True, file_exists=True, pull=8)
    (link,) = step(done)
    assert isinstance(link, PostComment) and link.kind == "pir"
    assert step(done, own=[markers.PirLink(1, issue=7, pull=8)]) == []


def test_an_overdue_review_is_reminded_once_a_business_day() -> None:
    due = DECLARED + timedelta(days=7)
    body = "PIR\n\n" + markers.render(markers.PirIssue(1, 1, due.isoformat()))
    review = incident(labels=("pir",), assignees=("rohan",), state="open")
    review = replace(review, issue=replace(review.issue, body=body, ours=True))
    now = due + timedelta(hours=2)  # Tuesday 2026-12-01, a business day in New York
    (reminder,) = plan_pir_reminder(review, POLICY, now)
    assert isinstance(reminder, PostComment) and "@rohan" in reminder.body
    day = now.astimezone(POLICY.business_calendar.zone).date().isoformat()
    reminded = replace(review, comments=tuple(ours(markers.PirReminder(day))))
    assert plan_pir_reminder(reminded, POLICY, now) == []
