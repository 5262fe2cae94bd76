"""The runbook, read closely: status updates keep every word, notify by severity, roles.

Each test quotes the runbook line it holds the app to.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.core import markers
from app.core.actions import PostComment
from app.core.runbook import plan
from app.core.state import derive
from app.github.config import check_text
from tests.conftest import Harness, marked
from tests.factories import DECLARED, POLICY, TEMPLATE, policy, roster, snapshot


def reminders(snap: object, now: object) -> list[str]:
    return [
        a.body
        for a in plan(snap, POLICY, now)  # type: ignore[arg-type]
        if isinstance(a, PostComment) and a.kind == "reminder"
    ]


# --- "Next Update: [When next update will be provided]" -----------------------------


@pytest.mark.parametrize(
    ("promise", "due_after_update"),
    [
        ("15:50 UTC", timedelta(minutes=30)),  # posted 15:20 UTC: earlier than the cadence
        ("10:50", timedelta(minutes=30)),  # the calendar's zone (New York): 15:50 UTC
        ("in 45 minutes", timedelta(minutes=45)),
        ("30m", timedelta(minutes=30)),
        ("1h", timedelta(hours=1)),
        ("20:00 UTC", timedelta(hours=2)),  # later than P1's 2 h cadence: never stretched
        ("after the deploy", timedelta(hours=2)),  # no time in it: the cadence holds
        ("[When next update will be provided]", timedelta(hours=2)),
    ],
)
def test_a_promised_next_update_moves_the_reminder_forward_never_back(
    promise: str, due_after_update: timedelta
) -> None:
    posted = DECLARED + timedelta(minutes=20)
    snap = snapshot("P1", comments=[(timedelta(minutes=20), TEMPLATE.format(next=promise))])
    due = posted + due_after_update
    assert reminders(snap, due - timedelta(seconds=1)) == []
    (body,) = reminders(snap, due)
    promised = due_after_update < timedelta(hours=2)
    assert ("as the last update promised" in body) is promised


def test_a_reminder_shows_the_latest_impact_and_eta_and_a_filled_in_template() -> None:
    snap = snapshot("P1", comments=[(timedelta(minutes=20), TEMPLATE.format(next="30m"))])
    (body,) = reminders(snap, DECLARED + timedelta(minutes=50))
    assert "Last update #1" in body
    assert "Impact: checkout fails for EU users about 30% of orders" in body
    assert "ETA: 16:30 UTC" in body
    assert "INCIDENT UPDATE #2" in body  # the next number
    assert "Severity: P1\nStatus: Mitigating" in body


# --- "Notify Team: Alert appropriate team members based on severity" -----------------


def brief_of(severity: str, policy: object = POLICY) -> str:
    snap = snapshot(severity)
    snap = type(snap)(
        repo=snap.repo,
        issue=snap.issue,
        events=snap.events,
        authorized=snap.authorized,
    )  # not yet briefed
    (body,) = [
        a.body
        for a in plan(snap, policy, DECLARED)  # type: ignore[arg-type]
        if isinstance(a, PostComment) and a.kind == "brief"
    ]
    return body


def mentioned(body: str) -> set[str]:
    import re

    outside_code = re.sub(r"`[^`]*`", "", body.split("<details>")[0])
    return set(re.findall(r"@[A-Za-z0-9-]+", outside_code))


def test_a_p3_brief_mentions_only_the_incident_commander() -> None:
    body = brief_of("P3")
    assert mentioned(body) == {"@rohan"}
    assert "`@morgan`" in body and "`@casey`" in body  # named, not notified


def test_a_p1_brief_mentions_the_roles_p1_assigns() -> None:
    assert mentioned(brief_of("P1")) == {"@rohan", "@morgan"}


def test_p0_notifies_all_roles() -> None:
    """Runbook: "P0: Immediate notification to all roles"."""
    assert {"@rohan", "@morgan", "@casey"} <= mentioned(brief_of("P0"))


def test_a_lead_nobody_holds_falls_back_to_the_backup_and_says_so() -> None:
    policy = check_text(
        "roster:\n  release_manager.rohan-patel: null\n  team_lead.casey-brooks: casey\n",
        source="test",
    )
    body = brief_of("P3", policy)
    assert "| Incident Commander | @casey (backup: `release_manager.rohan-patel`" in body


# --- "Development Team" and "QA Team" can be handed work ------------------------------


@pytest.mark.anyio
async def test_dev_and_qa_can_be_assigned(harness: Harness) -> None:
    from tests.e2e.test_hostile_users import declared, say

    await declared(harness)
    await say(harness, "/assign dev @avery\n/assign qa @quinn")
    assert {"avery", "quinn"} <= set(harness.github.issue().assignees)
    assert not marked(harness.github.posted_comments(), markers.InvalidReply)


# --- "Automatic Escalations" ----------------------------------------------------------

ACKED = [(timedelta(minutes=1), "/ack")]


def escalations(snap: object, now: object) -> list[str]:
    return [
        a.body
        for a in plan(snap, POLICY, now)  # type: ignore[arg-type]
        if isinstance(a, PostComment) and a.kind == "escalation"
    ]


def test_p1_unresolved_two_hours_escalates_to_senior_leadership_then_the_executives() -> None:
    """ "P1: 2 hours unresolved → escalate to senior leadership"."""
    policy = check_text(
        "roster:\n  management.senior: sam\n  management.executive: erin\n", source="t"
    )
    snap = snapshot("P1", comments=ACKED)

    def at(after: timedelta) -> list[str]:
        return [
            a.body
            for a in plan(snap, policy, DECLARED + after)
            if isinstance(a, PostComment) and a.kind == "escalation"
        ]

    assert at(timedelta(hours=2) - timedelta(seconds=1)) == []
    (first,) = at(timedelta(hours=2))
    assert "Escalating to **Senior Management**: @sam" in first
    (both,) = at(timedelta(hours=4))  # the app was down for the first: one comment for both
    assert "**Executive Team**: @erin" in both
    assert "@sam" not in both.split("Escalating to")[1]


def test_p2_gets_a_daily_review_with_management_on_business_days() -> None:
    """ "P2: 24 hours unresolved → daily review with management"."""
    snap = snapshot("P2", comments=ACKED)  # declared Tue 10:00 New York
    first = DECLARED + timedelta(hours=24)
    (review,) = escalations(snap, first)
    assert review.startswith("📋 **Daily review with management**")
    assert "**Team Lead**: @casey" in review
    state = derive(snap, POLICY)
    assert state is not None
    from app.core.runbook import due_steps

    # Wed 10:00, then the close of each next business day: Fri (Thu is Thanksgiving), Mon.
    dues = [s.due for s in due_steps(POLICY, state, DECLARED + timedelta(days=7))]
    local = [d.astimezone(POLICY.business_calendar.zone).strftime("%a %H:%M") for d in dues]
    assert local == ["Wed 10:00", "Fri 17:00", "Mon 17:00"]


def test_p3_weekly_review_only_without_progress() -> None:
    """ "P3: Weekly review if no progress"."""
    quiet = snapshot("P3", comments=ACKED)
    (review,) = escalations(quiet, DECLARED + timedelta(weeks=1))
    assert review.startswith("📋 **Weekly review**") and "no status update since" in review
    busy = snapshot(
        "P3", comments=[*ACKED, (timedelta(days=3), "/status mitigating rolling out the fix")]
    )
    assert escalations(busy, DECLARED + timedelta(weeks=1)) == []
    # …and a week without an update after that brings the review.
    (later,) = escalations(busy, DECLARED + timedelta(weeks=2))
    assert "Weekly review" in later


# --- "Manual Escalation Triggers" -----------------------------------------------------

TRIGGER_POLICY = policy(
    roster("management.senior: sam", "legal.counsel: lena", "security.officer: sid")
)


@pytest.mark.parametrize(
    ("command", "reaches", "not_reached"),
    [
        ("/escalate the DB is beyond us", ["**Technical Lead**: @morgan"], ["@sam", "@lena"]),
        ("/escalate technical the DB is beyond us", ["**Technical Lead**: @morgan"], ["@sam"]),
        ("/escalate business top customer down", ["**Senior Management**: @sam"], ["@lena"]),
        (
            "/escalate compliance PII in logs",
            [
                "**Legal/Compliance**: @lena — `legal@maxai-platform.com`",
                "**Security Officer**: @sid",
            ],
            ["@sam"],
        ),
        ("/escalate resources nobody on call", ["**Team Lead**: @casey"], ["@sam", "@lena"]),
    ],
)
def test_each_trigger_reaches_its_people(
    command: str, reaches: list[str], not_reached: list[str]
) -> None:
    snap = snapshot("P1", comments=[(timedelta(minutes=5), command)])
    (body,) = [
        a.body
        for a in plan(snap, TRIGGER_POLICY, DECLARED + timedelta(minutes=6))
        if isinstance(a, PostComment) and a.kind == "escalation"
    ]
    for text in reaches:
        assert text in body
    for login in not_reached:
        assert login not in body


# --- "Data Breach Response: notify legal team within 1 hour of confirmed breach" ------

BREACH_ROSTER = (
    roster("management.senior: sam", "legal.counsel: {legal}", "security.officer: sid")
    + "breach: {{regulator_within: 72h}}\n"
)
BREACH_POLICY = check_text(BREACH_ROSTER.format(legal="lena"), source="test")
# The comments of test_deadlines' snapshots are alice's: here she is the legal counsel.
ALICE_IS_LEGAL = check_text(BREACH_ROSTER.format(legal="alice"), source="test")


def breach_snapshot(*comments: tuple[timedelta, str], severity: str = "P3") -> object:
    from app.core.snapshot import Event

    label = Event(50, "labeled", DECLARED + timedelta(minutes=10), "alice", False, label="breach")
    return snapshot(severity, comments=[*ACKED, *comments], events=[label])


def comments_at(snap: object, now: object, kind: str, policy: object = BREACH_POLICY) -> list[str]:
    return [
        a.body
        for a in plan(snap, policy, now)  # type: ignore[arg-type]
        if isinstance(a, PostComment) and a.kind == kind
    ]


def test_a_breach_on_a_p3_is_raised_to_p0_and_legal_told_in_one_comment() -> None:
    snap = breach_snapshot()
    now = DECLARED + timedelta(minutes=11)
    (note,) = comments_at(snap, now, "breach")
    assert "Severity raised P3 → **P0 Critical**" in note
    assert "**Legal/Compliance**: @lena" in note and "**Security Officer**: @sid" in note
    assert "notify legal by 2026-11-24 16:10 UTC" in note  # the label's time + 1 hour
    assert "Regulator deadline: **2026-11-27 15:10 UTC" in note
    assert comments_at(snap, now, "severity") == []  # said once, in the breach note
    labels = [a for a in plan(snap, BREACH_POLICY, now) if type(a).__name__ == "AddLabels"]
    assert labels and "sev:P0" in labels[0].labels  # type: ignore[attr-defined]


def test_legal_notified_in_time_stops_the_breach_escalation() -> None:
    snap = breach_snapshot((timedelta(minutes=40), "/legal notified ticket LEGAL-7"))
    state = derive(snap, ALICE_IS_LEGAL)  # type: ignore[arg-type]
    assert state is not None and state.breach is not None
    assert state.breach.reference == "ticket LEGAL-7"
    later = DECLARED + timedelta(hours=2)
    escalations = comments_at(snap, later, "escalation", ALICE_IS_LEGAL)
    assert not any("legal not notified" in b for b in escalations)


def test_legal_not_notified_escalates_once_at_the_deadline() -> None:
    snap = breach_snapshot()
    assert comments_at(snap, DECLARED + timedelta(minutes=69), "escalation") == []
    (note,) = [
        b
        for b in comments_at(snap, DECLARED + timedelta(minutes=70), "escalation")
        if "legal not notified" in b
    ]
    for who in ("**Incident Commander**: @rohan", "**Senior Management**: @sam", "@lena"):
        assert who in note


def test_only_legal_the_commander_or_security_can_record_it() -> None:
    """alice has write access but, with lena as legal counsel, holds none of those roles."""
    snap = breach_snapshot((timedelta(minutes=20), "/legal notified"))
    state = derive(snap, BREACH_POLICY)  # type: ignore[arg-type]
    assert state is not None and state.breach is not None and state.breach.legal_at is None


def test_the_regulator_deadline_is_reminded_a_quarter_before_and_escalated_at_it() -> None:
    snap = breach_snapshot((timedelta(minutes=30), "/legal notified"))
    deadline = DECLARED + timedelta(minutes=10) + timedelta(hours=72)
    reminder_at = deadline - timedelta(hours=18)

    def regulator(now: object) -> list[str]:
        found = comments_at(snap, now, "escalation", ALICE_IS_LEGAL)
        return [b for b in found if "regulator" in b]

    assert regulator(reminder_at - timedelta(seconds=1)) == []
    (reminder,) = regulator(reminder_at)
    assert reminder.startswith("📋 **Regulator deadline**")
    (both,) = regulator(deadline)  # one comment covers what came due meanwhile
    assert "the regulator's deadline (2026-11-27 15:10 UTC" in both


@pytest.mark.anyio
async def test_the_breach_track_end_to_end(harness: Harness) -> None:
    from tests.conftest import CRON_SECRET, REPO, delivery_for
    from tests.e2e.test_hostile_users import declared

    github = harness.github
    await declared(harness, "incident", "sev:P3")
    github.permissions[(REPO.lower(), "alice")] = "write"
    github.label(1, "breach", at=harness.clock.now, by="alice")
    breach_at = harness.clock.now
    payload = delivery_for(github, "issues.labeled-sev-p1.json", action="labeled")
    payload["label"] = {"name": "breach"}
    await harness.deliver("issues", payload, delivery="breach")
    issue = github.issue()
    assert "sev:P0" in issue.labels and "sev:P3" not in issue.labels
    assert len(marked(github.posted_comments(), markers.BreachNote)) == 1
    assert marked(github.posted_comments(), markers.SeverityNote) == marked(
        github.posted_comments(), markers.BreachNote
    )  # the severity change is said in the breach note itself

    harness.clock.now = breach_at + timedelta(minutes=61)
    auth = {"Authorization": f"Bearer {CRON_SECRET}"}
    await harness.client.post("/cron/tick", headers=auth)
    await harness.client.post("/cron/tick", headers=auth)
    late = [
        c for c in marked(github.posted_comments(), markers.Escalation) if "legal not notified" in c
    ]
    assert len(late) == 1


@pytest.mark.anyio
async def test_a_breach_closed_before_its_deadline_is_escalated_by_the_tick(
    harness: Harness,
) -> None:
    """Closed 30 minutes after the `breach` label: at +60 min the tick, which revisits
    recently closed incidents, still posts "legal not notified", once, on the closed issue."""
    from tests.conftest import CRON_SECRET, REPO, delivery_for
    from tests.e2e.test_hostile_users import declared

    github = harness.github
    await declared(harness, "incident", "sev:P3")
    github.permissions[(REPO.lower(), "alice")] = "write"
    github.label(1, "breach", at=harness.clock.now, by="alice")
    breach_at = harness.clock.now
    payload = delivery_for(github, "issues.labeled-sev-p1.json", action="labeled")
    payload["label"] = {"name": "breach"}
    await harness.deliver("issues", payload, delivery="breach")
    harness.clock.now = breach_at + timedelta(minutes=30)
    github.close(1, at=harness.clock.now, by="alice")
    await harness.deliver("issues", delivery_for(github, "issues.closed-incident.json"))
    assert github.issue().state == "closed"

    def late() -> list[str]:
        found = marked(github.posted_comments(), markers.Escalation)
        return [c for c in found if "legal not notified" in c]

    auth = {"Authorization": f"Bearer {CRON_SECRET}"}
    harness.clock.now = breach_at + timedelta(minutes=59)
    await harness.client.post("/cron/tick", headers=auth)
    assert late() == []
    harness.clock.now = breach_at + timedelta(minutes=61)
    await harness.client.post("/cron/tick", headers=auth)
    await harness.client.post("/cron/tick", headers=auth)
    assert len(late()) == 1
    assert github.issue().state == "closed"  # told on the closed issue, not reopened


# --- "Fix Implementation", "Service Recovery", "Post-Incident Activities" --------------


def said(snap: object, now: object, kind: str) -> list[str]:
    return [
        a.body
        for a in plan(snap, POLICY, now)  # type: ignore[arg-type]
        if isinstance(a, PostComment) and a.kind == kind
    ]


def test_entering_mitigating_posts_the_fix_implementation_checklist_once() -> None:
    snap = snapshot("P1", comments=[(timedelta(minutes=5), "/status mitigating rolling back")])
    (note,) = said(snap, DECLARED + timedelta(minutes=6), "phase")
    assert note.startswith("### Fix implementation checklist")
    assert "- [ ] Change control: follow emergency change procedures" in note
    monitoring = snapshot(
        "P1",
        comments=[
            (timedelta(minutes=5), "/status mitigating rolling back"),
            (timedelta(minutes=30), "/status monitoring error rate normal"),
        ],
    )
    (recovery,) = said(monitoring, DECLARED + timedelta(minutes=31), "phase")
    assert recovery.startswith("### Service recovery checklist")  # only the phase it is in
    assert "- [ ] User notification: inform users of service restoration" in recovery


def test_resolution_gets_one_all_clear_with_everyone_and_the_monitoring_window() -> None:
    snap = snapshot(
        "P1",
        comments=[
            (timedelta(minutes=5), "/assign tl @bob"),
            (timedelta(minutes=90), "/status resolved rolled back"),
        ],
    )
    (note,) = said(snap, DECLARED + timedelta(minutes=91), "all-clear")
    assert note.startswith("✅ **All clear**")
    assert "1 h 30 min after it was declared" in note
    assert "@rohan" in note and "@alice" in note and "@bob" in note
    assert "Enhanced monitoring until **2026-11-25 16:30 UTC" in note  # resolution + 24 h


def test_a_reopen_inside_the_monitoring_window_is_a_recurrence() -> None:
    from app.core.snapshot import Event

    resolved = DECLARED + timedelta(hours=1)
    events = [
        Event(60, "closed", resolved, "alice", False),
        Event(61, "reopened", resolved + timedelta(hours=5), "alice", False),
    ]
    snap = snapshot("P1", comments=ACKED, events=events)
    (note,) = said(snap, resolved + timedelta(hours=5, minutes=1), "recurrence")
    assert "reopened 5 h after it was resolved" in note
    late = [
        Event(60, "closed", resolved, "alice", False),
        Event(61, "reopened", resolved + timedelta(hours=30), "alice", False),
    ]
    snap = snapshot("P1", comments=ACKED, events=late)
    assert said(snap, resolved + timedelta(hours=31), "recurrence") == []


# --- A security incident's review is never written on a public repository -------------


async def resolve_security_incident(harness: Harness, config: str = "") -> None:
    from tests.conftest import CRON_SECRET
    from tests.e2e.test_hostile_users import ROSTER, say

    github = harness.github
    github.files[("codertocat/hello-world", ".github/incident.yml")] = ROSTER + config
    github.add_issue(labels=("incident", "sev:P1", "security"))
    await harness.deliver("issues", delivery_for_issue(harness))
    harness.clock.advance(minutes=5)
    await say(harness, "/status resolved patched and rotated")
    await harness.client.post("/cron/tick", headers={"Authorization": f"Bearer {CRON_SECRET}"})


def delivery_for_issue(harness: Harness) -> dict[str, object]:
    from tests.conftest import delivery_for

    return delivery_for(harness.github, "issues.opened-incident-p0.json")


@pytest.mark.anyio
async def test_a_security_review_on_a_public_repository_is_held_privately(
    harness: Harness,
) -> None:
    await resolve_security_incident(harness)
    github = harness.github
    (review,) = [i for i in github.issues.values() if i.ours and "pir" in i.labels]
    assert "held privately" in review.title and "held privately" in review.body
    assert "patched" not in review.body and "Timeline" not in review.body
    assert github.refs == {} and github.branch_files == {} and github.pulls == []
    (link,) = marked(github.posted_comments(), markers.PirLink)
    assert "the review is held privately" in link


@pytest.mark.anyio
async def test_a_security_review_goes_to_the_private_repository(harness: Harness) -> None:
    github = harness.github
    github.private["Codertocat/incident-reviews"] = True
    github.add_issue(99, repo="Codertocat/incident-reviews", title="placeholder")
    await resolve_security_incident(
        harness, "pir: {private_repository: Codertocat/incident-reviews}\n"
    )
    public = [w for w in github.writes if w[1].startswith("/repos/Codertocat/Hello-World/")]
    assert not any(p.endswith(("/git/refs", "/pulls")) or "/contents/" in p for _, p, _ in public)
    (review,) = [
        i
        for (repo, _), i in github.issues.items()
        if repo == "Codertocat/incident-reviews" and i.ours and "pir" in i.labels
    ]
    assert "Codertocat/Hello-World#1" in review.body
    (pull,) = github.pulls
    assert pull["repo"] == "Codertocat/incident-reviews"
    assert pull["head"] == "pir/Codertocat-Hello-World-1"
    ((repo, _, path),) = github.branch_files
    assert repo == "Codertocat/incident-reviews" and "Codertocat-Hello-World-1" in path
    (link,) = marked(github.posted_comments(), markers.PirLink)
    assert f"Codertocat/incident-reviews#{review.number}" in link


@pytest.mark.anyio
async def test_the_all_clear_end_to_end(harness: Harness) -> None:
    """ "All Clear: official incident closure notification" — once, to everyone who took part."""
    from tests.e2e.test_hostile_users import declared, say

    await declared(harness)
    await say(harness, "/status mitigating rolling back", by="alice")
    await say(harness, "looking at the graphs too", by="bob")
    await say(harness, "/status resolved rolled back", by="alice")
    await say(harness, "/status resolved", by="alice")  # said again: no second all-clear
    (note,) = marked(harness.github.posted_comments(), markers.AllClear)
    assert "@alice" in note and "@bob" in note and "@rohan" in note
    assert "Enhanced monitoring until" in note
