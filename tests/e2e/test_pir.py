"""After resolution: the PIR issue, the branch, the document, the pull request (docs/behaviour.md §5)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import (
    CRON_SECRET,
    REPO,
    T0,
    Harness,
    comment_payload,
    delivery_for,
)
from tests.factories import ROSTER

pytestmark = pytest.mark.anyio

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
DOC = "ops/docs/incidents/2019-05-15-1-checkout-returns-502-for-every-user.md"


async def say(
    harness: Harness, minutes: float, body: str, by: str = "alice", *, private: bool = False
) -> None:
    harness.clock.now = T0 + timedelta(minutes=minutes)
    harness.github.permissions[(REPO.lower(), by)] = "write"
    item = harness.github.comment(1, body, at=harness.clock.now, by=by)
    payload = comment_payload(harness, item)
    payload["repository"]["private"] = private
    await harness.deliver("issue_comment", payload)


async def p0_history(harness: Harness, *, resolve: bool = True) -> None:
    """Declared P1, raised to P0, acknowledged, escalated, three updates, resolved."""
    github = harness.github
    github.files[(REPO.lower(), ".github/incident.yml")] = ROSTER
    github.add_issue(labels=("incident", "sev:P1"))
    await harness.deliver("issues", delivery_for(github, "issues.opened-incident-p0.json"))
    await say(harness, 5, "Payments are failing for everyone.\n/sev P0")
    await say(harness, 8, "/ack", by="rohan")
    await say(harness, 10, "/escalate need a DBA | now", by="rohan")
    await say(harness, 15, "/status investigating DB connection pool exhausted")
    await say(
        harness,
        40,
        "🚨 INCIDENT UPDATE #2 - 16:00 UTC\nSeverity: P0\nStatus: Mitigating\n"
        "Impact: checkout down\nETA: 16:30\nNext Update: 16:30\n"
        "Actions: raised pool size",
    )
    await say(harness, 70, "/status monitoring error rate back to normal")
    if resolve:
        await say(harness, 100, "/status resolved", by="rohan")


async def tick(harness: Harness) -> dict[str, Any]:
    response = await harness.client.post(
        "/cron/tick", headers={"Authorization": f"Bearer {CRON_SECRET}"}
    )
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
    assert text == path.read_text(), f"{name} changed; rerun with UPDATE_GOLDEN=1 and review it"


async def test_resolution_opens_the_review_issue_branch_document_and_pull_request(
    harness: Harness,
) -> None:
    await p0_history(harness)
    github = harness.github
    writes = [(m, p) for m, p, _ in github.writes]
    start = writes.index(("POST", f"/repos/{REPO}/issues"))
    assert writes[start:] == [
        ("POST", f"/repos/{REPO}/issues"),
        ("POST", f"/repos/{REPO}/git/refs"),
        ("PUT", f"/repos/{REPO}/contents/{DOC}"),
        ("POST", f"/repos/{REPO}/pulls"),
        ("POST", f"/repos/{REPO}/issues/1/comments"),
    ]
    review = github.issue(2)
    assert review.title == "PIR: Checkout returns 502 for every user"
    assert review.labels == ["pir"] and review.assignees == ["rohan"]
    assert "Post-incident review of #1" in review.body
    assert "**Due: 2019-05-20 17:00 UTC**" in review.body  # Wed + 3 business days → Mon
    for item in (
        "Incident Summary** (10 minutes)",
        "Timeline Review** (20 minutes)",
        "Root Cause Analysis** (20 minutes)",
        "Response Evaluation** (15 minutes)",
        "Action Items** (15 minutes)",
    ):
        assert item in review.body
    assert github.refs[(REPO, "pir/1")] == "sha-main"
    (pull,) = github.pulls
    assert pull["head"] == "pir/1" and pull["base"] == "master"
    assert "Closes #2" in pull["body"]
    link = github.posted_comments()[-1]
    assert "Post-incident review: #2, document in #3." in link
    check_golden("pir-p0.md", github.branch_files[(REPO, "pir/1", DOC)])


async def test_a_second_tick_writes_nothing(harness: Harness) -> None:
    await p0_history(harness)
    before = len(harness.github.writes)
    harness.clock.advance(minutes=10)
    await tick(harness)
    await tick(harness)
    assert len(harness.github.writes) == before


async def test_a_run_that_crashed_after_the_branch_is_finished_by_the_next_tick(
    harness: Harness,
) -> None:
    harness.github.fail("POST", r"/pulls$", 500)
    await p0_history(harness)
    github = harness.github
    assert github.pulls == [] and (REPO, "pir/1") in github.refs
    harness.clock.advance(minutes=10)
    body = await tick(harness)
    assert body["errors"] == []
    writes = [(m, p) for m, p, _ in github.writes]
    assert writes.count(("POST", f"/repos/{REPO}/git/refs")) == 1
    assert writes.count(("PUT", f"/repos/{REPO}/contents/{DOC}")) == 1
    assert writes.count(("POST", f"/repos/{REPO}/issues")) == 1
    assert len(github.pulls) == 1
    assert "document in #3" in github.posted_comments()[-1]


async def test_reopened_and_resolved_again_starts_a_second_round(harness: Harness) -> None:
    await p0_history(harness)
    github = harness.github
    harness.clock.now = T0 + timedelta(hours=3)
    github.issue().state = "open"
    github.issue().timeline.append(github._event("reopened", harness.clock.now, "rohan", False))
    await harness.deliver("issues", delivery_for(github, "issues.reopened.json"))
    assert "status:investigating" in github.issue().labels
    await say(harness, 240, "/status resolved again", by="rohan")
    assert (REPO, "pir/1-r2") in github.refs
    second = DOC.replace(".md", "-r2.md")
    assert (REPO, "pir/1-r2", second) in github.branch_files
    assert len(github.pulls) == 2
    titles = [i.title for (_, n), i in github.issues.items() if "pir" in i.labels]
    assert titles == [
        "PIR: Checkout returns 502 for every user",
        "PIR: Checkout returns 502 for every user (round 2)",
    ]


async def test_a_protected_repository_gets_the_document_in_the_review_issue(
    harness: Harness,
) -> None:
    harness.github.protected.add(REPO)
    await p0_history(harness)
    github = harness.github
    assert github.pulls == []
    review = [c["body"] for c in github.issue(2).comments]
    (fallback,) = review
    assert "No pull request with the review document could be opened" in fallback
    assert "# PIR: Checkout returns 502 for every user" in fallback
    assert "No pull request could be opened" in github.posted_comments()[-1]
    before = len(github.writes)
    harness.clock.advance(minutes=10)
    await tick(harness)
    assert len(github.writes) == before


async def test_an_overdue_review_reminds_its_assignee_once_per_business_day(
    harness: Harness,
) -> None:
    await p0_history(harness)
    github = harness.github

    def reminders() -> list[str]:
        return [c["body"] for c in github.issue(2).comments if "pir-reminder" in c["body"]]

    harness.clock.now = datetime(2019, 5, 20, 16, 0, tzinfo=UTC)  # due Mon 17:00: not yet
    await tick(harness)
    assert reminders() == []
    harness.clock.now = datetime(2019, 5, 20, 17, 30, tzinfo=UTC)
    await tick(harness)
    await tick(harness)
    assert len(reminders()) == 1 and "@rohan" in reminders()[0]
    harness.clock.now = datetime(2019, 5, 21, 9, 30, tzinfo=UTC)  # the next business day
    await tick(harness)
    assert len(reminders()) == 2
    github.issue(2).state = "closed"
    harness.clock.now = datetime(2019, 5, 22, 9, 30, tzinfo=UTC)
    await tick(harness)
    assert len(reminders()) == 2


async def test_a_minimal_p3_document(harness: Harness) -> None:
    github = harness.github
    github.add_issue(labels=("sev:P3",), title="Typo in the status page footer")
    await harness.deliver(
        "issues",
        delivery_for(github, "issues.labeled-sev-p1.json", updated_at="2019-05-15T15:20:18Z"),
    )
    harness.clock.now = T0 + timedelta(days=1)
    github.permissions[(REPO.lower(), "alice")] = "write"  # a responder closes it
    github.close(1, at=harness.clock.now, by="alice")
    await harness.deliver("issues", delivery_for(github, "issues.closed-incident.json"))
    path = "ops/docs/incidents/2019-05-16-1-typo-in-the-status-page-footer.md"
    check_golden("pir-p3.md", github.branch_files[(REPO, "pir/1", path)])


async def test_a_breach_review_has_its_compliance_record(harness: Harness) -> None:
    """A breach on a private repository: the document is written there, with a Compliance
    section measured against "notify legal team within 1 hour of confirmed breach"."""
    github = harness.github
    github.private[REPO] = True
    github.files[(REPO.lower(), ".github/incident.yml")] = (
        ROSTER + "  legal.counsel: lena\n  security.officer: sid\n"
    )
    github.add_issue(labels=("incident", "sev:P2"), title="Customer export bucket was public")
    opened = delivery_for(github, "issues.opened-incident-p0.json")
    opened["repository"]["private"] = True
    await harness.deliver("issues", opened)
    await say(harness, 4, "/ack", by="rohan", private=True)
    await say(
        harness,
        6,
        "/breach export bucket readable by anyone; PII exposed",
        by="rohan",
        private=True,
    )
    await say(harness, 20, "/status mitigating bucket locked down", by="rohan", private=True)
    await say(harness, 50, "/legal notified LEGAL-2041", by="lena", private=True)
    await say(
        harness, 90, "/status resolved keys rotated, access logs reviewed", by="rohan", private=True
    )
    path = "ops/docs/incidents/2019-05-15-1-customer-export-bucket-was-public.md"
    document = github.branch_files[(REPO, "pir/1", path)]
    assert "## Compliance" in document
    assert (
        "| legal notified | 2019-05-15 16:26 UTC (1 hour) | 2019-05-15 16:10 UTC by lena | met |"
        in document
    )
    check_golden("pir-breach.md", document)


async def test_the_compliance_section_shows_legal_and_the_regulator(harness: Harness) -> None:
    """`breach: {regulator_within: 72h}`: `/regulator notified REF-1` by the legal counsel is
    recorded with its time and reference beside legal's; a second one changes nothing."""
    github = harness.github
    github.private[REPO] = True
    github.files[(REPO.lower(), ".github/incident.yml")] = (
        ROSTER
        + "  legal.counsel: lena\n  security.officer: sid\n"
        + "breach: {regulator_within: 72h}\n"
    )
    github.add_issue(labels=("incident", "sev:P2"), title="Customer export bucket was public")
    opened = delivery_for(github, "issues.opened-incident-p0.json")
    opened["repository"]["private"] = True
    await harness.deliver("issues", opened)
    await say(harness, 4, "/ack", by="rohan", private=True)
    await say(harness, 6, "/breach export bucket readable by anyone", by="rohan", private=True)
    await say(harness, 50, "/legal notified LEGAL-2041", by="lena", private=True)
    await say(harness, 70, "/regulator notified REF-1", by="lena", private=True)
    await say(harness, 75, "/regulator notified REF-2", by="lena", private=True)
    await say(harness, 90, "/status resolved keys rotated", by="rohan", private=True)
    path = "ops/docs/incidents/2019-05-15-1-customer-export-bucket-was-public.md"
    document = github.branch_files[(REPO, "pir/1", path)]
    assert (
        "| legal notified | 2019-05-15 16:26 UTC (1 hour) | 2019-05-15 16:10 UTC by lena | met |"
        in document
    )
    assert (
        "| regulator notified | 2019-05-18 15:26 UTC (72 hours) | 2019-05-15 16:30 UTC by lena "
        "| met |" in document
    )
    assert "| regulator reference | | REF-1 | |" in document
    assert "| Regulator notified (REF-1) | lena |" in document  # the timeline
    assert "REF-2" not in document
