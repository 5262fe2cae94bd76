"""Commands and status updates in issue comments, end to end (docs/behaviour.md §3)."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import pytest

from app.core import markers
from tests.conftest import (
    INSTALLATION_ID,
    REPO,
    Harness,
    comment_payload,
    delivery_for,
    load,
    marked,
)
from tests.factories import ROSTER as THE_LEADS

pytestmark = pytest.mark.anyio

ROSTER = THE_LEADS + 'roles:\n  team_lead: {title: Team Lead, members: ["@tina"]}\n'


async def declared(harness: Harness, *labels: str) -> None:
    """An incident declared and briefed, as the app left it."""
    github = harness.github
    github.files[(REPO.lower(), ".github/incident.yml")] = ROSTER
    github.add_issue(labels=labels or ("incident", "sev:P1"))
    await harness.deliver("issues", delivery_for(github, "issues.opened-incident-p0.json"))
    harness.clock.advance(minutes=5)


async def say(
    harness: Harness,
    body: str,
    *,
    by: str = "alice",
    perm: str | None = "write",
    association: str = "COLLABORATOR",
    deliver: bool = True,
) -> dict[str, Any]:
    github = harness.github
    if perm is not None:
        github.permissions[(REPO.lower(), by.lower())] = perm
    item = github.comment(1, body, at=harness.clock.now, by=by, association=association)
    if deliver:
        await harness.deliver(
            "issue_comment", comment_payload(harness, item), delivery=f"c-{item['id']}"
        )
    harness.clock.advance(minutes=1)
    return item


def app_comments(harness: Harness, kind: str) -> list[str]:
    return marked(harness.github.posted_comments(), markers.KINDS[kind])


def reactions(harness: Harness, item: dict[str, Any]) -> int:
    return int(item["reactions"].get("+1", 0))


def status_labels(harness: Harness) -> list[str]:
    return sorted(x for x in harness.github.issue().labels if x.startswith(("status:", "sev:")))


async def test_ack_is_confirmed_with_a_reaction_only(harness: Harness) -> None:
    await declared(harness)
    before = len(harness.github.posted_comments())
    item = await say(harness, "/ack")
    assert reactions(harness, item) == 1
    assert len(harness.github.posted_comments()) == before
    assert status_labels(harness) == ["sev:P1", "status:investigating"]


async def test_status_command_sets_exactly_one_status_label(harness: Harness) -> None:
    await declared(harness)
    item = await say(harness, "Rolled back the deploy.\n/STATUS Mitigating error rate falling")
    assert status_labels(harness) == ["sev:P1", "status:mitigating"]
    assert reactions(harness, item) == 1


async def test_status_resolved_closes_the_issue(harness: Harness) -> None:
    await declared(harness)
    await say(harness, "/status resolved fixed by rollback")
    issue = harness.github.issue()
    assert issue.state == "closed"
    assert status_labels(harness) == ["sev:P1", "status:resolved"]
    assert (
        "PATCH",
        f"/repos/{REPO}/issues/1",
        {"state": "closed", "state_reason": "completed"},
    ) in harness.github.writes


async def test_closing_by_hand_counts_as_resolved(harness: Harness) -> None:
    await declared(harness)
    harness.github.permissions[(REPO.lower(), "alice")] = "write"  # a responder's close
    harness.github.close(1, at=harness.clock.now, by="alice")
    await harness.deliver("issues", delivery_for(harness.github, "issues.closed-incident.json"))
    assert harness.github.issue().state == "closed"
    assert status_labels(harness) == ["sev:P1", "status:resolved"]


async def test_status_update_template_counts_as_status_and_changes_severity(
    harness: Harness,
) -> None:
    await declared(harness)
    body = load("issue_comment.created-template.json")["comment"]["body"]
    body = body.replace("Severity: P1", "Severity: P0")
    item = await say(harness, body)
    assert status_labels(harness) == ["sev:P0", "status:monitoring"]
    assert reactions(harness, item) == 1
    (note,) = app_comments(harness, "severity")
    assert "P1 → **P0 Critical** by @alice" in note


async def test_sev_command_changes_severity_and_reassigns(harness: Harness) -> None:
    await declared(harness)
    assert harness.github.issue().assignees == ["rohan", "morgan"]
    await say(harness, "/sev p0")
    assert status_labels(harness) == ["sev:P0", "status:investigating"]
    assert harness.github.issue().assignees == ["rohan", "morgan", "casey"]
    (note,) = app_comments(harness, "severity")
    assert "### Checklist (P0)" in note


async def test_assign_hands_a_role_over(harness: Harness) -> None:
    await declared(harness)
    item = await say(harness, "/assign ic @bob")
    assert harness.github.issue().assignees == ["morgan", "bob"]
    assert reactions(harness, item) == 1


async def test_escalate_posts_to_the_next_level(harness: Harness) -> None:
    await declared(harness)
    await say(harness, "/escalate payments team unreachable")
    (note,) = app_comments(harness, "escalation")
    assert "Escalated by @alice for **technical complexity**" in note
    assert "Calling in **Technical Lead**: @morgan" in note
    assert "payments team unreachable" in note


async def test_help_lists_the_commands(harness: Harness) -> None:
    await declared(harness)
    await say(harness, "/incident help")
    (reply,) = app_comments(harness, "help")
    for command in ("/ack", "/status", "/sev", "/assign", "/escalate", "/incident help"):
        assert command in reply


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "/status fixed",
            "`fixed` is no state; use investigating, mitigating, monitoring, resolved",
        ),
        ("/sev P7", "use /sev P0, /sev P1, /sev P2 or /sev P3"),
        ("/assign boss @bob", "`boss` is no role"),
        ("/incident status", "the only /incident command is /incident help"),
    ],
)
async def test_a_bad_command_gets_one_reply_saying_what_is_valid(
    harness: Harness, body: str, expected: str
) -> None:
    await declared(harness)
    labels = status_labels(harness)
    item = await say(harness, body)
    await harness.deliver("issue_comment", comment_payload(harness, item), delivery="again")
    (reply,) = app_comments(harness, "invalid")
    assert expected in reply
    assert status_labels(harness) == labels


async def test_an_outsiders_command_changes_nothing(harness: Harness) -> None:
    await declared(harness)
    writes = len(harness.github.writes)
    item = await say(harness, "/status resolved", by="mallory", perm=None, association="NONE")
    await say(harness, "/sev P3", by="mallory", perm=None, association="NONE")
    new = harness.github.writes[writes:]
    assert [(m, p) for m, p, _ in new] == [("POST", f"/repos/{REPO}/issues/1/comments")]
    (reply,) = app_comments(harness, "denied")
    assert "@mallory" in reply and "write access" in reply
    assert harness.github.issue().state == "open"
    assert reactions(harness, item) == 0
    assert status_labels(harness) == ["sev:P1", "status:investigating"]


async def test_triage_permission_is_not_enough(harness: Harness) -> None:
    await declared(harness)
    await say(harness, "/status mitigating", by="tria", perm="read", association="MEMBER")
    assert status_labels(harness) == ["sev:P1", "status:investigating"]


async def test_a_collaborator_with_write_access_may_command(harness: Harness) -> None:
    await declared(harness)
    await say(harness, "/status monitoring", by="carol", perm="write", association="COLLABORATOR")
    assert status_labels(harness) == ["sev:P1", "status:monitoring"]


async def test_a_roster_member_without_write_access_may_command(harness: Harness) -> None:
    await declared(harness)
    await say(harness, "/status mitigating", by="tina", perm=None, association="NONE")
    assert status_labels(harness) == ["sev:P1", "status:mitigating"]


async def test_the_apps_own_comment_quoting_a_command_is_no_command(harness: Harness) -> None:
    await declared(harness)
    writes = len(harness.github.writes)
    item = harness.github.comment(
        1, "Reminder: reply\n/status resolved\nwhen done", at=harness.clock.now, ours=True
    )
    response = await harness.deliver("issue_comment", comment_payload(harness, item))
    assert response.json() == {"ignored": "a bot's comment"}
    # and a later run that reads it from the timeline ignores it too
    await say(harness, "/ack")
    assert harness.github.issue().state == "open"
    assert [m for m, _, _ in harness.github.writes[writes:]] == ["POST"]  # the ack reaction


async def test_the_same_comment_delivery_twice_has_one_effect(harness: Harness) -> None:
    await declared(harness)
    item = await say(harness, "/escalate")
    writes = len(harness.github.writes)
    await harness.deliver("issue_comment", comment_payload(harness, item), delivery="dup")
    assert len(harness.github.writes) == writes
    assert len(app_comments(harness, "escalation")) == 1


async def test_status_comments_delivered_out_of_order_follow_githubs_time(
    harness: Harness,
) -> None:
    await declared(harness)
    first = await say(harness, "/status mitigating", deliver=False)
    second = await say(harness, "/status monitoring", deliver=False)
    await harness.deliver("issue_comment", comment_payload(harness, second), delivery="2")
    await harness.deliver("issue_comment", comment_payload(harness, first), delivery="1")
    assert status_labels(harness) == ["sev:P1", "status:monitoring"]


async def test_an_edited_command_is_not_run_again(harness: Harness) -> None:
    await declared(harness)
    first = await say(harness, "/status resolved")
    assert harness.github.issue().state == "closed"
    # Someone reopens by hand; then the old comment is edited (a typo fixed).
    harness.github.issue().state = "open"
    harness.github.issue().timeline.append(
        harness.github._event("reopened", harness.clock.now, "alice", False)
    )
    await harness.deliver("issues", delivery_for(harness.github, "issues.reopened.json"))
    harness.clock.advance(minutes=1)
    first["body"] = "/status resolved (rollback)"
    writes = len(harness.github.writes)
    await harness.deliver("issue_comment", comment_payload(harness, first, action="edited"))
    assert harness.github.issue().state == "open"
    assert harness.github.writes[writes:] == []


async def test_deleting_a_command_comment_does_not_undo_it(harness: Harness) -> None:
    await declared(harness)
    item = await say(harness, "/status mitigating")
    issue = harness.github.issue()
    issue.timeline = [t for t in issue.timeline if t.get("id") != item["id"]]
    await say(harness, "/ack")
    assert status_labels(harness) == ["sev:P1", "status:mitigating"]


async def test_comments_on_pull_requests_and_non_incidents_cost_nothing(harness: Harness) -> None:
    github = harness.github
    github.add_issue(labels=("bug",))
    payload = comment_payload(harness, github.comment(1, "/status resolved", at=harness.clock.now))
    on_pr = copy.deepcopy(payload)
    on_pr["issue"]["pull_request"] = {"url": "https://api.github.com/pulls/1"}
    on_pr["issue"]["labels"] = [{"name": "incident"}]
    for p in (payload, on_pr):
        response = await harness.deliver("issue_comment", p)
        assert response.status_code == 202
    assert github.requests == []


async def test_permission_lookups_are_cached_per_user_and_repository(harness: Harness) -> None:
    await declared(harness)
    for body in ("/ack", "/status mitigating", "/status monitoring"):
        await say(harness, body)
    lookups = [p for m, p, _ in harness.github.requests if p.endswith("/permission")]
    assert lookups == [f"/repos/{REPO}/collaborators/alice/permission"]


async def test_acknowledgement_and_last_update_come_from_comment_timestamps(
    harness: Harness,
) -> None:
    """The tick reads these; here through the planner's state on a real snapshot."""
    from app.core.state import derive

    await declared(harness)
    ack = await say(harness, "/ack")
    harness.clock.advance(minutes=30)
    update = await say(harness, "/status mitigating")
    reconciler = harness.app.state.reconciler
    from app.core.keys import IssueKey

    key = IssueKey(INSTALLATION_ID, "Codertocat", "Hello-World", 1)
    found = await reconciler.reader.snapshot(reconciler._clients(INSTALLATION_ID), key, None, None)
    assert found is not None
    state = derive(*found)
    assert state is not None
    assert state.acked_at is not None and state.acked_at.isoformat().startswith(
        ack["created_at"][:16]
    )
    assert state.last_update_at is not None
    assert state.last_update_at - state.acked_at == timedelta(minutes=31)
    assert update["created_at"].startswith(state.last_update_at.strftime("%Y-%m-%dT%H:%M"))
