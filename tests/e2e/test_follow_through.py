"""Follow-through: action items that get done (runbook "Action Item Categories")."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.core import followup, markers
from tests.conftest import (
    INSTALLATION_ID,
    REPO,
    T0,
    Harness,
    delivery_for,
    load,
    marked,
)
from tests.e2e.test_pir import DOC, ROSTER, p0_history, say

GOLDEN = Path(__file__).resolve().parents[1] / "golden"

DOCUMENT = """\
# PIR: Checkout returns 502

## Action items

### Immediate (critical fixes, within 1 week: by 2019-05-22)

- [ ] Alert on connection pool saturation @alice
- [ ] TODO
- [x] Roll back deploy 412 (done during the incident)

### Short-term (improvements, within 1 month: by 2019-06-14)

- [ ] Load test checkout at 2x peak @bob
- [ ] …

### Long-term (strategic improvements, within 1 quarter: by 2019-08-14)

- [ ] Move payments to their own database

## Appendix

- [ ] not an action item
"""


def test_items_come_from_the_three_horizons_without_placeholders() -> None:
    found = followup.items(DOCUMENT)
    assert [(i.key, i.text, i.owner) for i in found] == [
        ("immediate-1", "Alert on connection pool saturation @alice", "alice"),
        ("short-term-1", "Load test checkout at 2x peak @bob", "bob"),
        ("long-term-1", "Move payments to their own database", None),
    ]
    merged = datetime(2019, 5, 17, 10, tzinfo=UTC)
    assert [i.due(merged).date().isoformat() for i in found] == [
        "2019-05-24",
        "2019-06-16",
        "2019-08-16",
    ]


@pytest.mark.parametrize("name", ["pir-p0.md", "pir-p3.md", "pir-breach.md"])
def test_the_generated_documents_placeholders_make_no_items(name: str) -> None:
    assert followup.items((GOLDEN / name).read_text()) == []


def merged_payload(harness: Harness, pull: int) -> dict[str, object]:
    payload = copy.deepcopy(load("pull_request.closed-merged-review.json"))
    payload["pull_request"]["number"] = pull
    payload["installation"] = {"id": INSTALLATION_ID}
    return payload


async def merge_the_review(harness: Harness, document: str) -> int:
    """The team fills in the document and merges the review's pull request."""
    github = harness.github
    (pull,) = github.pulls
    github.files[(REPO.lower(), DOC)] = document  # now on the default branch
    pull["merged_at"] = "2019-05-17T10:00:00Z"
    harness.clock.now = datetime(2019, 5, 17, 10, 1, tzinfo=UTC)
    await harness.deliver("pull_request", merged_payload(harness, pull["number"]), delivery="m1")
    return int(pull["number"])


def action_issues(harness: Harness) -> list[object]:
    return [i for i in harness.github.issues.values() if i.ours and "action-item" in i.labels]


@pytest.mark.anyio
async def test_a_merged_review_files_exactly_its_items_and_lists_them(harness: Harness) -> None:
    await p0_history(harness)
    await merge_the_review(harness, DOCUMENT)
    issues = action_issues(harness)
    assert sorted(i.title for i in issues) == [  # type: ignore[attr-defined]
        "Alert on connection pool saturation @alice",
        "Load test checkout at 2x peak @bob",
        "Move payments to their own database",
    ]
    alarm = next(i for i in issues if "saturation" in i.title)  # type: ignore[attr-defined]
    assert alarm.labels == ["action-item", "horizon:immediate"]  # type: ignore[attr-defined]
    assert alarm.assignees == ["alice"]  # type: ignore[attr-defined]
    assert "**due 2019-05-24**" in alarm.body  # type: ignore[attr-defined]
    (listing,) = marked(harness.github.posted_comments(), markers.ActionList)
    assert "**Immediate** (within 1 week): #" in listing
    # The review issue (#2) lists them too.
    assert marked(harness.github.posted_comments(2), markers.ActionList) == [listing]

    # The merge delivered again, and a tick: nothing more.
    writes = len(harness.github.writes)
    await harness.deliver(
        "pull_request", merged_payload(harness, harness.github.pulls[0]["number"]), delivery="m2"
    )
    await harness.client.post(
        "/cron/tick", headers={"Authorization": "Bearer cron-secret-for-tests"}
    )
    assert len(harness.github.writes) == writes


@pytest.mark.anyio
async def test_an_item_added_later_is_filed_and_the_list_edited_in_place(
    harness: Harness,
) -> None:
    await p0_history(harness)
    await merge_the_review(harness, DOCUMENT)
    more = DOCUMENT.replace(
        "- [ ] Move payments to their own database",
        "- [ ] Move payments to their own database\n- [ ] Chaos drill for the pool @carol",
    )
    await merge_the_review(harness, more)
    assert len(action_issues(harness)) == 4
    (listing,) = marked(harness.github.posted_comments(), markers.ActionList)
    assert listing.count("#") >= 4
    edits = [p for m, p, _ in harness.github.writes if m == "PATCH" and "/comments/" in p]
    assert len(edits) == 2  # the incident's list and the review issue's, each edited once


@pytest.mark.anyio
async def test_action_command_files_one_issue_at_once(harness: Harness) -> None:
    github = harness.github
    github.files[(REPO.lower(), ".github/incident.yml")] = ROSTER
    github.add_issue(labels=("incident", "sev:P1"))
    await harness.deliver("issues", delivery_for(github, "issues.opened-incident-p0.json"))
    await say(harness, 10, "/action short add a runbook entry for pool exhaustion @alice")
    await say(harness, 11, "thanks")  # another delivery: nothing more
    (issue,) = action_issues(harness)
    assert issue.title == "add a runbook entry for pool exhaustion @alice"  # type: ignore[attr-defined]
    assert issue.labels == ["action-item", "horizon:short-term"]  # type: ignore[attr-defined]
    due = (T0 + timedelta(minutes=10) + timedelta(days=30)).date().isoformat()
    assert f"**due {due}**" in issue.body  # type: ignore[attr-defined]
    assert len(marked(github.posted_comments(), markers.ActionList)) == 1


# --- "Dry-Run Exercises" ---------------------------------------------------------------


@pytest.mark.anyio
async def test_a_drill_is_headed_as_one_and_mentions_no_management(harness: Harness) -> None:
    from tests.e2e.test_hostile_users import say as comment

    github = harness.github
    github.files[(REPO.lower(), ".github/incident.yml")] = (
        ROSTER + "  management.senior: sam\n  management.executive: erin\n  legal.counsel: lena\n"
    )
    github.add_issue(labels=("incident", "sev:P1", "drill"))
    await harness.deliver("issues", delivery_for(github, "issues.opened-incident-p0.json"))
    await comment(harness, "/escalate business pretend the top customer is down", by="rohan")
    harness.clock.now = T0 + timedelta(hours=3)  # P1 unresolved: senior management's step
    await harness.client.post(
        "/cron/tick", headers={"Authorization": "Bearer cron-secret-for-tests"}
    )
    posted = github.posted_comments()
    assert posted and all(c.startswith("🧪 **DRILL — exercise, no real impact**") for c in posted)
    text = "\n".join(posted)
    assert "`@sam`" in text  # named…
    for login in ("@sam", "@erin", "@lena"):  # …but never notified
        assert all(login not in part for c in posted for part in c.split("`")[::2]), login
    assert "@rohan" in text  # the response team is reached as usual


# --- Recurrence -------------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_recurrence_is_named_in_the_brief(harness: Harness) -> None:
    github = harness.github
    github.files[(REPO.lower(), ".github/incident.yml")] = ROSTER
    github.add_issue(1, labels=("incident", "sev:P2", "component:search"), title="Search is slow")
    github.close(1, at=T0 - timedelta(days=3))
    github.add_issue(
        2,
        labels=("incident", "sev:P3", "component:search"),
        title="Search results flicker",
        created_at=T0,
    )
    await harness.deliver(
        "issues", delivery_for(github, "issues.opened-incident-p0.json", number=2)
    )
    (brief,) = marked(github.posted_comments(2), markers.Brief)
    assert "🔁 **Recurrence** of #1" in brief


def test_a_recurring_p3_gets_its_weekly_review_even_with_updates() -> None:
    """Runbook, P3: "Escalation: Weekly review if recurring"."""
    from app.core.runbook import plan
    from app.core.snapshot import Comment
    from tests.factories import DECLARED, POLICY, snapshot

    busy = snapshot(
        "P3",
        comments=[(timedelta(minutes=1), "/ack"), (timedelta(days=3), "/status mitigating")],
    )
    brief = markers.render(markers.Brief("P3", checklist="P3", recurs=("7",)))
    recurring = type(busy)(
        **{
            **busy.__dict__,
            "comments": (
                Comment(1, "bot", True, "NONE", DECLARED, brief, True),
                *busy.comments[1:],
            ),
        }
    )
    week = DECLARED + timedelta(weeks=1)
    kinds = [getattr(a, "kind", "") for a in plan(busy, POLICY, week)]
    assert "escalation" not in kinds  # updates: no weekly review…
    kinds = [getattr(a, "kind", "") for a in plan(recurring, POLICY, week)]
    assert "escalation" in kinds  # …unless it recurs


# --- The tick: overdue items and the monthly review -----------------------------------

AUTH = {"Authorization": "Bearer cron-secret-for-tests"}


@pytest.mark.anyio
async def test_an_overdue_action_item_is_reminded_once_a_week(harness: Harness) -> None:
    await p0_history(harness)
    await merge_the_review(harness, DOCUMENT)
    alarm = next(i for i in action_issues(harness) if "saturation" in i.title)  # type: ignore[attr-defined]
    harness.clock.now = datetime(2019, 5, 27, 9, tzinfo=UTC)  # Monday after the due date
    await harness.client.post("/cron/tick", headers=AUTH)
    harness.clock.now = datetime(2019, 5, 29, 9, tzinfo=UTC)  # the same week
    await harness.client.post("/cron/tick", headers=AUTH)
    number = alarm.number  # type: ignore[attr-defined]
    reminders = marked(harness.github.posted_comments(number), markers.ActionReminder)
    assert len(reminders) == 1 and reminders[0].startswith("⏰ @alice: this action item was due")
    harness.clock.now = datetime(2019, 6, 3, 9, tzinfo=UTC)  # the next week
    await harness.client.post("/cron/tick", headers=AUTH)
    assert len(marked(harness.github.posted_comments(number), markers.ActionReminder)) == 2
    # Items not yet due get nothing.
    later = [i for i in action_issues(harness) if i is not alarm]
    assert all(harness.github.posted_comments(i.number) == [] for i in later)  # type: ignore[attr-defined]


@pytest.mark.anyio
async def test_the_monthly_review_opens_once_on_the_first_business_day(harness: Harness) -> None:
    """December's incidents; 1 January is a holiday (US): the review opens on the 2nd, once."""
    github = harness.github
    github.files[(REPO.lower(), ".github/incident.yml")] = (
        ROSTER + "calendar: {timezone: America/New_York, holidays_country: US}\n"
    )
    december = datetime(2019, 12, 10, 15, tzinfo=UTC)
    github.add_issue(1, labels=("incident", "sev:P2"), created_at=december, title="Slow search")
    github.comment(1, "/ack", at=december + timedelta(hours=1), by="rohan")
    github.close(1, at=december + timedelta(hours=5), by="rohan")
    github.permissions[(REPO.lower(), "rohan")] = "write"

    def reviews() -> list[object]:
        return [i for i in github.issues.values() if i.ours and "incident-review" in i.labels]

    harness.clock.now = datetime(2020, 1, 1, 17, tzinfo=UTC)  # New Year's Day
    await harness.client.post("/cron/tick", headers=AUTH)
    assert reviews() == []
    harness.clock.now = datetime(2020, 1, 2, 14, tzinfo=UTC)
    await harness.client.post("/cron/tick", headers=AUTH)
    await harness.client.post("/cron/tick", headers=AUTH)
    (review,) = reviews()
    assert review.title == "Incident review: December 2019"  # type: ignore[attr-defined]
    assert review.assignees == ["rohan"]  # type: ignore[attr-defined]
    assert "| P2 | 1 |" in review.body  # type: ignore[attr-defined]
    assert "pie title Incidents by severity" in review.body  # type: ignore[attr-defined]


@pytest.mark.anyio
async def test_the_monthly_review_is_found_again_after_a_restart(
    harness: Harness, settings: object, clock: object
) -> None:
    import httpx

    from app.web.server import create_app

    github = harness.github
    github.files[(REPO.lower(), ".github/incident.yml")] = ROSTER
    github.add_issue(1, labels=("incident", "sev:P3"), created_at=datetime(2019, 4, 10, tzinfo=UTC))
    harness.clock.now = datetime(2019, 5, 1, 14, tzinfo=UTC)
    await harness.client.post("/cron/tick", headers=AUTH)
    again = create_app(settings, now=harness.clock)  # type: ignore[arg-type]
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=again), base_url="http://t"
    ) as c:
        await c.post("/cron/tick", headers=AUTH)
    assert len([i for i in github.issues.values() if i.ours and "incident-review" in i.labels]) == 1


@pytest.mark.anyio
async def test_scheduled_drills_open_once_per_period_with_scenarios_in_turn(
    harness: Harness,
) -> None:
    """ "Dry-Run Exercises: monthly for P0 scenarios, quarterly for P1/P2"."""
    github = harness.github
    github.files[(REPO.lower(), ".github/incident.yml")] = ROSTER + (
        "drills:\n  P0: monthly\n  P1: quarterly\n"
        "  scenarios: [Primary database lost, Payments provider down]\n"
    )

    def drills() -> list[object]:
        return [i for i in github.issues.values() if i.ours and "drill" in i.labels]

    harness.clock.now = datetime(2019, 6, 1, 12, tzinfo=UTC)  # a Saturday
    await harness.client.post("/cron/tick", headers=AUTH)
    # Q2's P1 drill was due since April's first business day (the app heals a missed one);
    # June's P0 drill waits for Monday, June's first business day.
    assert [d.title for d in drills()] == ["Drill (P1, 2019-Q2): Primary database lost"]  # type: ignore[attr-defined]
    harness.clock.now = datetime(2019, 6, 3, 12, tzinfo=UTC)
    await harness.client.post("/cron/tick", headers=AUTH)
    await harness.client.post("/cron/tick", headers=AUTH)
    p0 = [d for d in drills() if "P0" in d.title]  # type: ignore[attr-defined]
    assert len(p0) == 1 and len(drills()) == 2
    assert {"incident", "sev:P0", "drill"} <= set(p0[0].labels)  # type: ignore[attr-defined]
    assert "Primary database lost" in p0[0].title  # type: ignore[attr-defined]
    harness.clock.now = datetime(2019, 7, 1, 12, tzinfo=UTC)  # July: a new month and quarter
    await harness.client.post("/cron/tick", headers=AUTH)
    titles = sorted(d.title for d in drills())  # type: ignore[attr-defined]
    assert len(titles) == 4
    assert "Drill (P0, 2019-07): Payments provider down" in titles  # the next scenario
    assert any(t.startswith("Drill (P1, 2019-Q3)") for t in titles)


def test_no_drills_when_not_configured() -> None:
    from app.github.config import bundled_policy

    assert bundled_policy().drills is None


@pytest.mark.anyio
async def test_a_review_with_too_many_items_files_the_first_twenty_and_lists_the_rest(
    harness: Harness,
) -> None:
    """Finding (low): a merged review with 400 task items filed all of them; at most
    `pir.max_action_items` (20) are filed, the rest listed in the review's comment."""
    await p0_history(harness)
    many = "\n".join(f"- [ ] Fix thing number {n}" for n in range(1, 401))
    document = DOCUMENT.replace("- [ ] Move payments to their own database", many)
    await merge_the_review(harness, document)

    issues = action_issues(harness)
    assert len(issues) == 20
    (listing,) = marked(harness.github.posted_comments(), markers.ActionList)
    assert "**Not filed** (382 past `pir.max_action_items`, 20)" in listing
    assert "- Fix thing number 400" not in listing  # a long tail is counted, not pasted
    assert "… and 282 more" in listing
    await merge_the_review(harness, document)  # redelivered: nothing more
    assert len(action_issues(harness)) == 20
