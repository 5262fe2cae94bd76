"""Declaring an incident end to end: signed delivery → ASGI app → GitHub double (docs/behaviour.md §2)."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest

from app.core import markers
from app.settings import Settings
from app.web.server import create_app
from tests.conftest import (
    INSTALLATION_ID,
    REPO,
    SECRET,
    T0,
    GitHubDouble,
    Harness,
    delivery_for,
    load,
    marked,
)
from tests.factories import SENIOR_MANAGEMENT, roster

pytestmark = pytest.mark.anyio

ROSTER = roster("dev.avery-kim: avery") + SENIOR_MANAGEMENT


def briefs(github: GitHubDouble) -> list[str]:
    return marked(github.posted_comments(), markers.Brief)


# --- the webhook endpoint ---------------------------------------------------------------


async def post_raw(harness: Harness, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return await harness.client.post("/api/github/webhooks", content=body, headers=headers)


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"X-Hub-Signature-256": "sha256=" + "0" * 64}, 401),
        ({"X-Hub-Signature": "sha1=0123"}, 401),
        ({"X-Hub-Signature-256": "sha1=abc"}, 401),
        ({"X-Hub-Signature-256": "garbage"}, 401),
    ],
)
async def test_bad_signatures_are_refused_before_anything_else(
    harness: Harness, headers: dict[str, str], status: int
) -> None:
    body = json.dumps(load("issues.opened-incident-p0.json")).encode()
    response = await post_raw(harness, body, {"X-GitHub-Event": "issues", **headers})
    await harness.drain()
    assert response.status_code == status
    assert harness.github.requests == []


async def test_signature_with_another_secret_is_refused(harness: Harness) -> None:
    harness.github.add_issue(labels=("incident", "sev:P0"))
    response = await harness.deliver(
        "issues", delivery_for(harness.github, "issues.opened-incident-p0.json"), secret="other"
    )
    assert response.status_code == 401
    assert harness.github.requests == []


async def test_non_json_and_missing_event_are_400(harness: Harness) -> None:
    from app.web.webhooks import sign

    body = b"not json{"
    sig = sign(SECRET.encode(), body)
    bad_json = await post_raw(
        harness, body, {"X-GitHub-Event": "issues", "X-Hub-Signature-256": sig}
    )
    body2 = b'{"action": "opened"}'
    no_event = await post_raw(harness, body2, {"X-Hub-Signature-256": sign(SECRET.encode(), body2)})
    body3 = b"[1, 2]"
    not_object = await post_raw(
        harness,
        body3,
        {"X-GitHub-Event": "issues", "X-Hub-Signature-256": sign(SECRET.encode(), body3)},
    )
    assert (bad_json.status_code, no_event.status_code, not_object.status_code) == (400, 400, 400)
    assert "JSON" in bad_json.json()["error"]
    assert "X-GitHub-Event" in no_event.json()["error"]


async def test_ping_answers_200(harness: Harness) -> None:
    response = await harness.deliver("ping", load("ping.json"))
    assert response.status_code == 200
    assert response.json()["ok"] is True
    assert harness.github.requests == []


async def test_unknown_events_and_deliveries_without_installation_are_acknowledged(
    harness: Harness,
) -> None:
    payload = load("issues.opened-incident-p0.json")
    del payload["installation"]
    no_installation = await harness.deliver("issues", payload)
    unknown = await harness.deliver("star", {"action": "created"})
    assert no_installation.status_code == 202 and unknown.status_code == 202
    assert harness.github.requests == []


async def test_healthz(harness: Harness) -> None:
    response = await harness.client.get("/healthz")
    assert response.status_code == 200


# --- declaration --------------------------------------------------------------------------


async def test_p0_declaration_assigns_labels_and_posts_one_brief(harness: Harness) -> None:
    github = harness.github
    github.files[(REPO.lower(), ".github/incident.yml")] = ROSTER
    github.add_issue(labels=("incident", "sev:P0"))
    response = await harness.deliver(
        "issues", delivery_for(github, "issues.opened-incident-p0.json")
    )
    assert response.status_code == 202
    issue = github.issue()
    assert sorted(issue.labels) == ["incident", "sev:P0", "status:investigating"]
    assert issue.assignees == ["rohan", "morgan", "casey"]
    (brief,) = briefs(github)
    assert "P0 Critical incident declared" in brief
    assert "Respond by 2019-05-15 15:35 UTC" in brief  # 15 minutes after creation
    assert "Next status update due 2019-05-15 15:50 UTC" in brief
    assert "| Incident Commander | @rohan |" in brief
    assert "- [ ] Gather information: logs, metrics, user reports" in brief
    assert "INCIDENT UPDATE" in brief and "/incident help" in brief
    # P0: everyone, teams included, is mentioned in the brief itself, once.
    assert "@acme/leadership" in brief and "@avery" in brief
    assert len(github.posted_comments()) == 1


async def test_p0_declaration_costs_seven_requests(harness: Harness) -> None:
    """token, the issue as GitHub has it now, config read, the repository's recent incidents,
    labels, assignees, brief.

    The issue is read, never taken from the payload: a redelivered payload says "no
    comments" even when the brief exists (see test_faults' restart test). The recent
    incidents (one page) let the brief name a recurrence.
    """
    github = harness.github
    github.files[(REPO.lower(), ".github/incident.yml")] = ROSTER
    github.add_issue(labels=("incident", "sev:P0"))
    await harness.deliver("issues", delivery_for(github, "issues.opened-incident-p0.json"))
    assert [(m, p) for m, p, _ in github.requests] == [
        ("POST", f"/app/installations/{INSTALLATION_ID}/access_tokens"),
        ("GET", f"/repos/{REPO}/issues/1"),
        ("GET", f"/repos/{REPO}/contents/.github/incident.yml"),
        ("GET", f"/repos/{REPO}/issues"),
        ("POST", f"/repos/{REPO}/issues/1/labels"),
        ("POST", f"/repos/{REPO}/issues/1/assignees"),
        ("POST", f"/repos/{REPO}/issues/1/comments"),
    ]


async def test_burst_of_three_deliveries_yields_one_brief_and_one_assignment(
    harness: Harness,
) -> None:
    github = harness.github
    github.files[(REPO.lower(), ".github/incident.yml")] = ROSTER
    github.add_issue(labels=("incident", "sev:P0"))
    opened = delivery_for(github, "issues.opened-incident-p0.json")
    labeled1 = delivery_for(
        github, "issues.labeled-incident.json", updated_at="2019-05-15T15:20:18Z"
    )
    labeled2 = delivery_for(github, "issues.labeled-sev-p0.json")
    for i, payload in enumerate((opened, labeled1, labeled2)):
        await harness.deliver("issues", payload, delivery=f"burst-{i}", drain=False)
    await harness.drain()
    assert len(briefs(github)) == 1
    assert [p for m, p, _ in github.writes].count(f"/repos/{REPO}/issues/1/assignees") == 1


async def test_same_delivery_twice_makes_no_new_writes(harness: Harness) -> None:
    github = harness.github
    github.add_issue(labels=("incident", "sev:P1"))
    payload = delivery_for(github, "issues.opened-incident-p0.json")
    await harness.deliver("issues", payload, delivery="same")
    writes = list(github.writes)
    await harness.deliver("issues", payload, delivery="same")
    assert github.writes == writes
    assert len(briefs(github)) == 1


async def test_redelivery_after_restart_makes_no_new_writes(
    settings: Settings, github: GitHubDouble, clock: object
) -> None:
    """A new process knows nothing; GitHub's record (the brief's marker) tells it."""
    github.add_issue(labels=("incident", "sev:P1"))
    payload = delivery_for(github, "issues.opened-incident-p0.json")
    for _ in range(2):
        clock.advance(minutes=5)  # type: ignore[attr-defined]
        app = create_app(settings, now=clock)  # type: ignore[arg-type]
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as client:
            h = Harness(app, client, github, clock)  # type: ignore[arg-type]
            stale = dict(payload, issue=dict(payload["issue"], comments=0))
            await h.deliver("issues", stale)
    assert len(briefs(github)) == 1


async def test_a_duplicate_brief_from_a_racing_process_is_removed(harness: Harness) -> None:
    """Two processes that each got one delivery of a burst may both post; the next run heals."""
    github = harness.github
    github.add_issue(labels=("incident", "sev:P1"))
    await harness.deliver("issues", delivery_for(github, "issues.opened-incident-p0.json"))
    (first,) = briefs(github)
    github.comment(1, first, at=harness.clock.now, ours=True)  # the other process's brief
    harness.clock.advance(minutes=2)
    relabeled = delivery_for(github, "issues.labeled-sev-p1.json")
    await harness.deliver("issues", relabeled)
    assert len(briefs(github)) == 1
    assert github.writes[-1][0] == "DELETE"


async def test_non_incident_issue_costs_no_request(harness: Harness) -> None:
    github = harness.github
    github.add_issue(labels=("bug",))
    response = await harness.deliver("issues", delivery_for(github, "issues.labeled-bug.json"))
    opened = await harness.deliver("issues", delivery_for(github, "issues.opened.json"))
    assert response.status_code == 202 and opened.status_code == 202
    assert github.requests == []


async def test_incident_label_alone_gets_default_severity_and_the_ask(harness: Harness) -> None:
    github = harness.github
    github.add_issue()
    github.label(1, "incident", at=T0 + timedelta(minutes=5))
    await harness.deliver(
        "issues",
        delivery_for(github, "issues.labeled-incident.json", updated_at="2019-05-15T15:25:18Z"),
    )
    assert sorted(github.issue().labels) == ["incident", "sev:P2", "status:investigating"]
    (brief,) = briefs(github)
    assert "P2 Medium incident declared" in brief
    assert "Severity defaulted to **P2**" in brief
    assert "Respond by 2019-05-15 19:25 UTC" in brief  # 4 h after the label, not the issue


async def test_sev_label_alone_adds_incident(harness: Harness) -> None:
    github = harness.github
    github.add_issue()
    github.label(1, "sev:P1", at=T0 + timedelta(minutes=5))
    await harness.deliver(
        "issues",
        delivery_for(github, "issues.labeled-sev-p1.json", updated_at="2019-05-15T15:25:18Z"),
    )
    assert sorted(github.issue().labels) == ["incident", "sev:P1", "status:investigating"]
    (brief,) = briefs(github)
    assert "Severity defaulted" not in brief


async def test_declaration_time_comes_from_github_when_the_delivery_is_20_minutes_late(
    harness: Harness,
) -> None:
    github = harness.github
    labeled_at = T0 + timedelta(minutes=2)
    github.add_issue()
    github.label(1, "sev:P0", at=labeled_at)
    harness.clock.now = labeled_at + timedelta(minutes=20)
    await harness.deliver(
        "issues",
        delivery_for(github, "issues.labeled-sev-p0.json", updated_at="2019-05-15T15:22:18Z"),
    )
    (brief,) = briefs(github)
    assert "Declared 2019-05-15 15:22 UTC" in brief
    assert "Respond by 2019-05-15 15:37 UTC" in brief  # not 15:57, the app's clock + 15 min


async def test_late_delivery_of_an_issue_with_comments_reads_the_label_event(
    harness: Harness,
) -> None:
    github = harness.github
    github.add_issue()
    github.comment(1, "Seeing errors in checkout", at=T0 + timedelta(minutes=1), by="alice")
    github.label(1, "sev:P0", at=T0 + timedelta(minutes=2))
    harness.clock.now = T0 + timedelta(minutes=40)
    await harness.deliver("issues", delivery_for(github, "issues.labeled-sev-p0.json"))
    (brief,) = briefs(github)
    assert "Respond by 2019-05-15 15:37 UTC" in brief


async def test_closed_issue_labelled_incident_is_not_declared(harness: Harness) -> None:
    github = harness.github
    github.add_issue(labels=("incident",), state="closed")
    await harness.deliver("issues", delivery_for(github, "issues.closed-incident.json"))
    assert github.writes == []


# --- severity change ----------------------------------------------------------------------


async def test_severity_change_reassigns_and_adds_checklist_once(harness: Harness) -> None:
    github = harness.github
    github.files[(REPO.lower(), ".github/incident.yml")] = ROSTER
    github.add_issue(labels=("incident", "sev:P2"))
    await harness.deliver("issues", delivery_for(github, "issues.opened-incident-p0.json"))
    assert github.issue().assignees == ["rohan"]

    harness.clock.advance(minutes=30)
    github.permissions[(REPO.lower(), "alice")] = "write"  # a responder's label
    github.label(1, "sev:P1", at=harness.clock.now, by="alice")
    await harness.deliver("issues", delivery_for(github, "issues.labeled-sev-p1-upgrade.json"))
    issue = github.issue()
    assert sorted(issue.labels) == ["incident", "sev:P1", "status:investigating"]
    assert issue.assignees == ["rohan", "morgan"]
    notes = marked(github.posted_comments(), markers.SeverityNote)
    assert len(notes) == 1
    assert "Severity changed P2 → **P1 High** by @alice" in notes[0]
    assert "### Checklist (P1)" in notes[0]
    # Respond-by restarts from the change (GitHub's time of the label): 15:50 + 1 h.
    assert "Respond by 2019-05-15 16:51 UTC" in notes[0]

    # Back to P2 and up to P1 again: P1's checklist is not posted a second time.
    for sev in ("sev:P2", "sev:P1"):
        harness.clock.advance(minutes=5)
        github.label(1, sev, at=harness.clock.now, by="alice")
        await harness.deliver("issues", delivery_for(github, "issues.labeled-sev-p1-upgrade.json"))
    notes = marked(github.posted_comments(), markers.SeverityNote)
    assert len(notes) == 3
    assert sum("### Checklist (P1)" in n for n in notes) == 1
    assert sum("### Checklist (P2)" in n for n in notes) == 0  # the brief had P2's


# --- security -----------------------------------------------------------------------------


async def test_security_incident_on_public_repository_warns_and_mentions_security(
    harness: Harness,
) -> None:
    github = harness.github
    github.files[(REPO.lower(), ".github/incident.yml")] = (
        'roles:\n  security: {title: Security Officer, members: ["@acme/security"]}\n'
    )
    github.add_issue(labels=("incident", "sev:P1", "security"))
    payload = delivery_for(github, "issues.opened-incident-p0.json")
    payload["repository"]["private"] = False
    await harness.deliver("issues", payload)
    (brief,) = briefs(github)
    assert "**Security incident:** @acme/security" in brief
    assert "Anyone can read this issue" in brief


async def test_security_incident_on_private_repository_has_no_public_warning(
    harness: Harness,
) -> None:
    github = harness.github
    github.add_issue(labels=("incident", "sev:P1", "security"))
    payload = delivery_for(github, "issues.opened-incident-p0.json")
    payload["repository"]["private"] = True
    await harness.deliver("issues", payload)
    (brief,) = briefs(github)
    assert "Security incident" in brief and "Anyone can read" not in brief


# A brief as the app posted it before its marker carried `security` (recorded from a P1
# security incident on a public repository; the checklist, template and commands left out).
OLD_SECURITY_BRIEF = (
    "## 🚨 P1 High incident declared\n\n"
    "Declared 2026-11-24 15:00 UTC (Tue 10:00 America/New_York).\n"
    "**Respond by 2026-11-24 16:00 UTC (Tue 11:00 America/New_York)** (1 hour): acknowledge "
    "with `/ack`.\n"
    "**Next status update due 2026-11-24 17:00 UTC (Tue 12:00 America/New_York)** (every 2 "
    "hours).\n\n"
    "| Role | Who |\n| --- | --- |\n| Incident Commander | @rohan |\n\n"
    "**Security incident:** no security role named in the config.\n\n"
    "> [!CAUTION]\n> **Security incident on a public repository.** Anyone can read this issue: "
    "keep details (affected data, exploit, indicators) in a private channel and post only "
    "status here.\n\n"
    '<!-- incident-app {"checklist":"P1","k":"brief","sev":"P1","v":1} -->'
)


def security_planned(brief_body: str) -> list[str]:
    """The `security` notes planned for a security incident whose brief is `brief_body`."""
    from dataclasses import replace

    from app.core.runbook import plan
    from app.core.snapshot import Comment
    from tests.factories import DECLARED, POLICY, snapshot

    base = snapshot("P1")
    brief = Comment(1, "bot", True, "NONE", DECLARED, brief_body, True)
    issue = replace(base.issue, labels=base.issue.labels | {"security"})
    found = plan(replace(base, comments=(brief,), issue=issue), POLICY, DECLARED)
    return [a.body for a in found if getattr(a, "kind", "") == "security"]


def test_a_security_brief_says_so_in_its_marker() -> None:
    (brief,) = markers.of(markers.Brief, markers.render(markers.Brief("P1", security=True)))
    assert brief.security
    assert security_planned(markers.render(markers.Brief("P1", security=True))) == []


def test_a_brief_posted_before_the_marker_field_is_read_by_its_text() -> None:
    assert markers.of(markers.Brief, OLD_SECURITY_BRIEF)[0].security is False
    assert security_planned(OLD_SECURITY_BRIEF) == []
    # A brief that said nothing of security: the incident flagged later gets its note.
    assert len(security_planned(markers.render(markers.Brief("P1", checklist="P1")))) == 1


# --- GitHub Enterprise Server ---------------------------------------------------------------


async def test_github_enterprise_server_requests_use_the_api_v3_prefix(
    settings: Settings, clock: object
) -> None:
    import respx

    ghes = "https://ghe.example.com/api/v3"
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        github = GitHubDouble(router, clock, api=ghes)  # type: ignore[arg-type]
        github.add_issue(labels=("incident", "sev:P0"))
        app = create_app(settings.model_copy(update={"github_api_url": ghes}), now=clock)  # type: ignore[arg-type]
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as client:
            h = Harness(app, client, github, clock)  # type: ignore[arg-type]
            await h.deliver("issues", delivery_for(github, "issues.opened-incident-p0.json"))
        urls = [str(call.request.url) for call in router.calls]
    assert urls and all(u.startswith(ghes + "/") for u in urls)
    assert any(u == f"{ghes}/app/installations/{INSTALLATION_ID}/access_tokens" for u in urls)
    assert all(
        call.request.headers["X-GitHub-Api-Version"] == "2022-11-28"
        for call in router.calls
        if "access_tokens" not in str(call.request.url)
    )
    assert len(briefs(github)) == 1


async def test_without_app_credentials_incident_deliveries_are_acknowledged_not_queued(
    settings: Settings, github: GitHubDouble, clock: object
) -> None:
    """Setup mode: nothing could act on them, so nothing is queued."""
    bare = settings.model_copy(update={"app_id": None, "private_key": None})
    app = create_app(bare, now=clock)  # type: ignore[arg-type]
    github.add_issue(labels=("incident", "sev:P0"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        h = Harness(app, c, github, clock)  # type: ignore[arg-type]
        response = await h.deliver("issues", delivery_for(github, "issues.opened-incident-p0.json"))
    assert response.status_code == 202
    assert response.json() == {"ignored": "no GitHub App credentials yet (setup mode)"}
    assert app.state.queue.busy == 0 and github.requests == []
