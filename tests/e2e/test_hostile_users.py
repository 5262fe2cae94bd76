"""What an outsider, a triager or an issue's author can make the app do: nothing they may not.

Each test reproduces a finding of the hostile review (docs: "Authority") on the code before it
was fixed, and shows what a user sees now.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from app.core import markers
from tests.conftest import (
    CRON_SECRET,
    REPO,
    T0,
    Harness,
    comment_payload,
    delivery_for,
)
from tests.factories import ROSTER as THE_LEADS
from tests.factories import SENIOR_MANAGEMENT

pytestmark = pytest.mark.anyio

ROSTER = THE_LEADS + SENIOR_MANAGEMENT
AUTH = {"Authorization": f"Bearer {CRON_SECRET}"}


async def declared(harness: Harness, *labels: str, author: str = "Codertocat") -> None:
    github = harness.github
    github.files[(REPO.lower(), ".github/incident.yml")] = ROSTER
    github.add_issue(labels=labels or ("incident", "sev:P1"), author=author)
    await harness.deliver("issues", delivery_for(github, "issues.opened-incident-p0.json"))
    harness.clock.advance(minutes=5)


def kinds(harness: Harness, kind: str, number: int = 1) -> list[str]:
    return [
        c
        for c in harness.github.posted_comments(number)
        if any(kind == m.KIND for m in markers.parse(c))
    ]


async def say(
    harness: Harness, body: str, *, by: str = "alice", perm: str | None = "write"
) -> dict[str, Any]:
    github = harness.github
    if perm is not None:
        github.permissions[(REPO.lower(), by.lower())] = perm
    item = github.comment(1, body, at=harness.clock.now, by=by, association="COLLABORATOR")
    await harness.deliver(
        "issue_comment", comment_payload(harness, item), delivery=f"c{item['id']}"
    )
    harness.clock.advance(minutes=1)
    return item


async def issue_event(harness: Harness, action: str, **extra: Any) -> None:
    payload = delivery_for(harness.github, "issues.labeled-sev-p1.json", action=action)
    payload.update(extra)
    await harness.deliver("issues", payload, delivery=f"{action}-{harness.clock.now}")


# --- 5. authority applies to actions as to commands ----------------------------------


async def test_an_authors_close_reopen_loop_is_undone_and_opens_no_review(
    harness: Harness,
) -> None:
    """Finding: an author with read access closed and reopened four times: four PIR issues,
    four branches, four pull requests, and no escalation afterwards."""
    github = harness.github
    await declared(harness, author="mallory")
    github.permissions[(REPO.lower(), "mallory")] = "read"
    for _ in range(4):
        github.close(1, at=harness.clock.now, by="mallory")
        await issue_event(harness, "closed")
        harness.clock.advance(minutes=1)
        assert github.issue().state == "open"  # the app put it back
        github.reopen(1, at=harness.clock.now, by="mallory")
        await issue_event(harness, "reopened")
        harness.clock.advance(minutes=1)
    harness.clock.now = T0 + timedelta(hours=3)
    response = await harness.client.post("/cron/tick", headers=AUTH)
    assert response.json()["errors"] == []

    assert github.issue().state == "open"
    assert "status:resolved" not in github.issue().labels
    assert [n for (_, n), i in github.issues.items() if "pir" in i.labels] == []
    assert github.pulls == [] and github.refs == {}
    undone = kinds(harness, "undone")
    assert len(undone) == 1  # one short comment for the person, however often they try
    assert "@mallory closing this incident was undone" in undone[0]
    assert "@rohan" in undone[0]  # who may do it
    # Still unacknowledged and unresolved: the deadlines go on.
    assert kinds(harness, "escalation")


async def test_a_triagers_label_changes_are_undone_while_their_sev_command_is_refused(
    harness: Harness,
) -> None:
    """Finding: a triager removed `sev:P0`, added `sev:P3` and `status:resolved`:
    downgraded and closed — while the same person's `/sev` is refused."""
    github = harness.github
    await declared(harness, "incident", "sev:P0")
    github.permissions[(REPO.lower(), "trudy")] = "read"  # triage reads as "read"
    github.unlabel(1, "sev:P0", at=harness.clock.now, by="trudy")
    await issue_event(harness, "unlabeled", label={"name": "sev:P0"})
    github.label(1, "sev:P3", at=harness.clock.now, by="trudy")
    await issue_event(harness, "labeled", label={"name": "sev:P3"})
    github.label(1, "status:resolved", at=harness.clock.now, by="trudy")
    await issue_event(harness, "labeled", label={"name": "status:resolved"})

    issue = github.issue()
    assert issue.state == "open"
    assert sorted(x for x in issue.labels if x.startswith(("sev:", "status:"))) == [
        "sev:P0",
        "status:investigating",
    ]
    assert not kinds(harness, "severity")  # no downgrade announced
    undone = kinds(harness, "undone")
    assert len(undone) == 1 and "@trudy" in undone[0]

    await say(harness, "/sev P3", by="trudy", perm="read")
    assert "sev:P0" in github.issue().labels
    assert len(kinds(harness, "denied")) == 1


async def test_a_responders_label_change_still_counts(harness: Harness) -> None:
    github = harness.github
    await declared(harness, "incident", "sev:P0")
    github.permissions[(REPO.lower(), "alice")] = "write"
    github.label(1, "sev:P2", at=harness.clock.now, by="alice")
    await issue_event(harness, "labeled", label={"name": "sev:P2"})
    assert "sev:P0" not in github.issue().labels and "sev:P2" in github.issue().labels
    assert len(kinds(harness, "severity")) == 1
    assert not kinds(harness, "undone")


async def test_review_rounds_are_capped(harness: Harness) -> None:
    """A responder's close-reopen loop opens at most `pir.max_rounds` (default 3) reviews."""
    github = harness.github
    await declared(harness)
    github.permissions[(REPO.lower(), "alice")] = "write"
    for _ in range(5):
        github.close(1, at=harness.clock.now, by="alice")
        await issue_event(harness, "closed")
        harness.clock.advance(minutes=1)
        await harness.client.post("/cron/tick", headers=AUTH)
        github.reopen(1, at=harness.clock.now, by="alice")
        await issue_event(harness, "reopened")
        harness.clock.advance(minutes=1)
    reviews = [i for i in github.issues.values() if "pir" in i.labels]
    assert len(reviews) == 3
    assert len(github.pulls) == 3


# --- 6. only the app's own issues are its records ------------------------------------


async def test_a_forged_review_issue_is_not_adopted(harness: Harness) -> None:
    """Finding: anyone who can label opens an issue labelled `pir` with a copied marker in
    its body; the app linked it and its PR said "Closes #2"."""
    github = harness.github
    await declared(harness)
    forged = github.add_issue(2, labels=("pir",), author="mallory", title="PIR: forged")
    forged.body = "Review\n\n" + markers.render(markers.PirIssue(1, 1, "2019-05-20"))
    await say(harness, "/status resolved fixed")
    response = await harness.client.post("/cron/tick", headers=AUTH)
    assert response.json()["errors"] == []

    own = [n for (_, n), i in github.issues.items() if i.ours and "pir" in i.labels]
    assert own == [3]
    assert len(github.pulls) == 1 and "Closes #3" in github.pulls[0]["body"]
    assert "#2" not in "".join(github.posted_comments())
    assert [w for w in github.writes if "/issues/2" in w[1]] == []  # the forgery is untouched


async def test_a_forged_review_issue_gets_no_overdue_reminders(harness: Harness) -> None:
    github = harness.github
    forged = github.add_issue(2, labels=("pir",), author="mallory", title="PIR: forged")
    forged.body = markers.render(markers.PirIssue(1, 1, "2019-05-01T17:00:00+00:00"))
    harness.clock.now = T0 + timedelta(days=1)  # a Thursday, past the forged due date
    response = await harness.client.post("/cron/tick", headers=AUTH)
    assert response.json()["errors"] == []
    assert [w for w in github.writes if "/issues/2" in w[1]] == []


# --- 7. an edit neither adds nor rewrites a command ----------------------------------


async def test_an_old_comment_edited_into_ack_acknowledges_nothing(harness: Harness) -> None:
    """Finding: an old "looking at it" comment edited to `/ack` two hours later made the
    PIR say "acknowledged 15:26 … met"."""
    github = harness.github
    await declared(harness)
    item = await say(harness, "looking at it")
    harness.clock.now = T0 + timedelta(hours=2)
    github.edit(item, "/ack", at=harness.clock.now)
    await harness.deliver("issue_comment", comment_payload(harness, item) | {"action": "edited"})
    assert item["reactions"]["+1"] == 0  # not taken as a command
    # The P1 response deadline (1 h) passed without an acknowledgement: it escalates.
    await harness.client.post("/cron/tick", headers=AUTH)
    assert any("not acknowledged" in e for e in kinds(harness, "escalation"))


async def test_an_ack_edited_into_a_severity_change_changes_nothing(harness: Harness) -> None:
    """Finding: an `/ack` edited to `/sev P3` changed severity."""
    github = harness.github
    await declared(harness)
    item = await say(harness, "/ack")
    assert item["reactions"]["+1"] == 1
    github.edit(item, "/sev P3", at=harness.clock.now)
    await harness.deliver("issue_comment", comment_payload(harness, item) | {"action": "edited"})
    assert "sev:P1" in github.issue().labels and "sev:P3" not in github.issue().labels
    assert not kinds(harness, "severity")


# --- 8. the app's record is its own reaction -----------------------------------------


async def test_a_strangers_thumbs_up_does_not_block_a_hand_over(harness: Harness) -> None:
    """Finding: a 👍 on `/assign ic @bob` before the app reacts meant bob was never assigned."""
    github = harness.github
    await declared(harness)
    github.permissions[(REPO.lower(), "alice")] = "write"
    item = github.comment(1, "/assign ic @bob", at=harness.clock.now, by="alice")
    github.react(item, "mallory")  # before the app gets to it
    await harness.deliver("issue_comment", comment_payload(harness, item), delivery="c-bob")
    assert "bob" in github.issue().assignees
    assert sorted(item["_reactors"]["+1"]) == ["incident-app", "mallory"]

    # Handled once: a redelivery sees the app's own 👍 and assigns nobody again.
    writes = len(github.writes)
    await harness.deliver("issue_comment", comment_payload(harness, item), delivery="c-bob-2")
    assert len(github.writes) == writes


# --- 9. amplification -----------------------------------------------------------------


async def test_two_hundred_escalate_lines_escalate_once(harness: Harness) -> None:
    await declared(harness)
    await say(harness, "\n".join(["/escalate now"] * 200))
    assert len(kinds(harness, "escalation")) == 1


async def test_a_huge_invalid_command_gets_one_short_reply(harness: Harness) -> None:
    """Finding: 4,000 `/sev` lines → a 200,069-character reply (GitHub refuses > 65,536)."""
    await declared(harness)
    lines = [f"/sev X{i}" for i in range(2000)] + [f"/status bogus{i}" for i in range(2000)]
    await say(harness, "\n".join(lines))
    replies = kinds(harness, "invalid")
    assert len(replies) == 1
    assert len(replies[0]) < 2000


async def test_mentions_echoed_from_user_text_ping_nobody(harness: Harness) -> None:
    """Finding: invalid-command replies echoed `@org/team` unescaped."""
    await declared(harness)
    await say(harness, "/assign @acme/everyone @bob\n/status @acme/everyone")
    reply = kinds(harness, "invalid")[0]
    for line in reply.splitlines():
        outside = line.split("`")[::2]  # the text outside code spans
        assert not any("@acme" in part for part in outside), line


async def test_a_long_title_gives_review_titles_within_githubs_limit(harness: Harness) -> None:
    """Finding: 256-character titles → 261-character PIR titles (GitHub's limit 256)."""
    github = harness.github
    github.files[(REPO.lower(), ".github/incident.yml")] = ROSTER
    github.add_issue(labels=("incident", "sev:P1"), title="x" * 256)
    await harness.deliver("issues", delivery_for(github, "issues.opened-incident-p0.json"))
    harness.clock.advance(minutes=5)
    await say(harness, "/status resolved fixed")
    await harness.client.post("/cron/tick", headers=AUTH)
    titles = [b["title"] for m, p, b in github.requests if m == "POST" and b and "title" in b]
    assert len(titles) == 2  # the review issue and its pull request
    assert all(len(t) <= 256 and t.endswith("…") for t in titles)


# --- 4. one issue's failure stops nothing else ----------------------------------------


async def test_a_crash_in_one_installation_leaves_the_others_escalated(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Finding: one repository's config made planning raise; `POST /cron/tick` failed, and an
    overdue P1 in another installation got no escalation."""
    from app.core import runbook

    github = harness.github
    other = "acme/payments"
    github.installations.append(2)
    github.repos[2] = [other]
    for repo in (REPO, other):
        github.files[(repo.lower(), ".github/incident.yml")] = ROSTER
        github.add_issue(1, labels=("incident", "sev:P1"), repo=repo)
    real_plan = runbook.plan

    def plan(snapshot: Any, policy: Any, now: Any) -> Any:
        if snapshot.repo.full_name == REPO:
            raise ZeroDivisionError("a config nobody foresaw")
        return real_plan(snapshot, policy, now)

    monkeypatch.setattr(runbook, "plan", plan)
    harness.clock.now = T0 + timedelta(hours=3)
    response = await harness.client.post("/cron/tick", headers=AUTH)

    assert response.status_code == 200
    body = response.json()
    assert body["errors"] == [{"issue": f"{REPO}#1", "error": "internal error: ZeroDivisionError"}]
    assert kinds_in(harness, other, "escalation")  # the other installation's P1 escalated
    metrics = await harness.client.get("/metrics")
    assert 'incident_app_ticks_total{result="errors"} 1.0' in metrics.text


def kinds_in(harness: Harness, repo: str, kind: str) -> list[str]:
    return [
        c
        for c in harness.github.posted_comments(1, repo=repo)
        if any(kind == m.KIND for m in markers.parse(c))
    ]
