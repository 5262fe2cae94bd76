"""Who is on call, end to end over the GitHub double: the declaration assigns who is on call,
a handoff hands the open P0/P1 over (once, however many ticks), escalations after it reach
the incoming person, and `/oncall` and `/oncall cover` (docs/user-guide/oncall.md)."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import respx

from app.core import markers
from app.core.labels import ONCALL
from app.runtime import handover
from app.settings import Settings
from app.web.server import create_app
from tests.conftest import (
    CRON_SECRET,
    INSTALLATION_ID,
    REPO,
    T0,
    Clock,
    GitHubDouble,
    Harness,
    Sleeps,
    delivery_for,
    marked,
)
from tests.e2e.test_hostile_users import say
from tests.notify.test_calendars import ICS, Served

pytestmark = pytest.mark.anyio

# T0 is Wednesday 2019-05-15 15:20 UTC, 17:20 in Berlin: ken's turn (the daily handoff is
# 18:00 Berlin, 16:00 UTC, when ana takes over; the technical lead's seat is the next in turn).
CONFIG = """\
calendar: {timezone: Europe/Berlin}
rotations:
  primary:
    members: [ada, ken, ana]
    start: "2019-05-13 18:00"
    every: 1d
roster:
  release_manager.rohan-patel: {rotation: primary}
  architect.morgan-lee: {rotation: primary, offset: 1}
  team_lead.casey-brooks: casey
"""
HANDOFF = datetime(2019, 5, 15, 16, 0, tzinfo=UTC)
TICK = {"Authorization": f"Bearer {CRON_SECRET}"}


async def declare(harness: Harness, *labels: str) -> None:
    github = harness.github
    github.files[(REPO.lower(), ".github/incident.yml")] = CONFIG
    github.add_issue(labels=labels or ("incident", "sev:P1"))
    await harness.deliver("issues", delivery_for(github, "issues.opened-incident-p0.json"))


async def tick(harness: Harness) -> None:
    response = await harness.client.post("/cron/tick", headers=TICK)
    assert response.status_code == 200, response.text


def handover_issues(harness: Harness) -> list[str]:
    return [
        i.body
        for i in harness.github.issues.values()
        if ONCALL in i.labels and markers.of(markers.HandoverIssue, i.body)
    ]


async def test_the_declaration_assigns_and_mentions_who_is_on_call(harness: Harness) -> None:
    await declare(harness)
    issue = harness.github.issue()
    assert sorted(issue.assignees) == ["ana", "ken"]  # commander ken, technical lead ana
    (brief,) = marked(harness.github.posted_comments(), markers.Brief)
    assert "@ken" in brief and "@ada" not in brief


async def test_a_handoff_hands_open_p1s_over_once_and_escalations_reach_the_incoming(
    harness: Harness,
) -> None:
    github = harness.github
    await declare(harness)
    harness.clock.now = HANDOFF + timedelta(minutes=1)
    await tick(harness)
    (note,) = marked(github.posted_comments(), markers.Handover)
    assert "@ana takes over from `ken`" in note and "@ada takes over from `ana`" in note
    assert sorted(github.issue().assignees) == ["ada", "ana"]
    (listing,) = handover_issues(harness)
    assert "#1 Checkout returns 502 for every user | P1 | investigating | response due" in listing
    writes = len(github.writes)

    await tick(harness)  # a second tick (or a replica's) adds nothing
    assert len(github.writes) == writes
    assert len(handover_issues(harness)) == 1

    # Nobody acknowledged within the hour: the escalation reaches the holders after the handoff.
    harness.clock.now = T0 + timedelta(hours=1, minutes=1)
    await tick(harness)
    (escalation,) = marked(github.posted_comments(), markers.Escalation)
    assert "@ada" in escalation and "@ken" not in escalation


async def test_a_replica_that_remembers_nothing_hands_over_nothing_twice(
    harness: Harness, settings: Settings
) -> None:
    github = harness.github
    await declare(harness)
    harness.clock.now = HANDOFF + timedelta(minutes=1)
    await tick(harness)
    writes = len(github.writes)
    replica = create_app(settings, now=harness.clock, sleep=Sleeps())
    transport = httpx.ASGITransport(app=replica)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        answer = await client.post("/cron/tick", headers=TICK)
    assert answer.status_code == 200
    assert len(github.writes) == writes  # the markers on GitHub are the record
    assert len(handover_issues(harness)) == 1


async def test_handover_issues_are_capped_per_installation_and_hour(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    github = harness.github
    monkeypatch.setattr(handover, "HANDOVER_ISSUES_PER_HOUR", 2)
    repos = [REPO, "Codertocat/Two", "Codertocat/Three"]
    github.repos[INSTALLATION_ID] = repos  # an organisation's rotation, three repositories
    for repo in repos:
        github.files[(repo.lower(), ".github/incident.yml")] = CONFIG
        github.add_issue(labels=("incident", "sev:P1"), repo=repo)
    harness.clock.now = HANDOFF + timedelta(minutes=1)
    await tick(harness)
    assert len(handover_issues(harness)) == 2
    harness.clock.advance(minutes=30)
    await tick(harness)
    assert len(handover_issues(harness)) == 2  # the hour's budget is spent
    harness.clock.now = HANDOFF + timedelta(minutes=62)
    await tick(harness)
    assert len(handover_issues(harness)) == 3  # the third follows, once
    await tick(harness)
    assert len(handover_issues(harness)) == 3


async def test_a_hand_made_assign_stays_through_a_handoff(harness: Harness) -> None:
    github = harness.github
    await declare(harness)
    await say(harness, "/assign ic @rohan")
    harness.clock.now = HANDOFF + timedelta(minutes=1)
    await tick(harness)
    assert sorted(github.issue().assignees) == ["ada", "rohan"]  # rohan stays commander
    (note,) = marked(github.posted_comments(), markers.Handover)
    assert "@ada takes over from `ana`" in note  # the technical lead's seat still moves


async def test_nothing_open_means_no_handover_issue(harness: Harness) -> None:
    github = harness.github
    github.files[(REPO.lower(), ".github/incident.yml")] = CONFIG
    github.add_issue(labels=("bug",))
    harness.clock.now = HANDOFF + timedelta(minutes=1)
    await tick(harness)
    assert handover_issues(harness) == []
    assert github.writes == []


async def test_oncall_replies_who_is_on_call_now_and_next(harness: Harness) -> None:
    await declare(harness)
    harness.clock.advance(minutes=5)
    item = await say(harness, "/oncall")
    (reply,) = marked(harness.github.posted_comments(), markers.OnCallReply)
    assert "| `primary` | `release_manager.rohan-patel` | `ken` |" in reply
    assert "Wed 2019-05-15 18:00 Europe/Berlin: `ana`" in reply
    assert markers.of(markers.OnCallReply, reply) == [markers.OnCallReply(item["id"])]


async def test_a_cover_is_recorded_in_the_on_call_issue_and_takes_effect_at_once(
    harness: Harness,
) -> None:
    github = harness.github
    await declare(harness)
    harness.clock.advance(minutes=5)
    await say(harness, "/oncall cover @ada until 17:30", by="ken")
    (log,) = [i for i in github.issues.values() if markers.of(markers.OnCallLog, i.body)]
    (cover,) = markers.of(markers.CoverNote, log.body)
    assert (cover.login, cover.rotation, cover.by, cover.until) == (
        "ada",
        "primary",
        "ken",
        "2019-05-15T15:30Z",
    )
    (reply,) = marked(github.posted_comments(), markers.OnCallReply)
    assert reply.startswith("@ada is on call for `primary` from now until Wed 2019-05-15 17:30")
    # At once (the same run reads the On-call issue again): ada takes the commander's seat.
    (note,) = marked(github.posted_comments(), markers.Handover)
    assert "@ada takes over from `ken`" in note
    assert "ada" in github.issue().assignees and "ken" not in github.issue().assignees
    await tick(harness)  # a cover is a handoff too: the tick opens its handover issue
    (listing,) = handover_issues(harness)
    assert listing.startswith("@ada takes over `primary` from `ken`")
    writes = len(github.writes)
    await tick(harness)
    assert len(github.writes) == writes  # and the next tick adds nothing
    # A second cover is a comment in the same On-call issue.
    await say(harness, "/oncall cover @ana", by="ken")
    assert len(markers.of(markers.CoverNote, "\n".join(github.posted_comments(log.number)))) == 1


# The commander's seat alone follows the rotation (no secondary to hide a stale assignee).
COMMANDER_ONLY = CONFIG.replace("  architect.morgan-lee: {rotation: primary, offset: 1}\n", "")


async def covered_by_ada_until_17_30(harness: Harness) -> None:
    harness.github.files[(REPO.lower(), ".github/incident.yml")] = COMMANDER_ONLY
    harness.github.add_issue(labels=("incident", "sev:P1"))
    await harness.deliver("issues", delivery_for(harness.github, "issues.opened-incident-p0.json"))
    harness.clock.advance(minutes=5)
    await say(harness, "/oncall cover @ada until 17:30", by="ken")
    assert harness.github.issue().assignees == ["ada"]


async def test_a_cover_s_end_hands_the_seat_back(harness: Harness) -> None:
    await covered_by_ada_until_17_30(harness)
    harness.clock.now = datetime(2019, 5, 15, 15, 31, tzinfo=UTC)  # 17:31 Berlin
    await tick(harness)
    notes = marked(harness.github.posted_comments(), markers.Handover)
    assert "@ken takes over from `ada`" in notes[-1]
    assert harness.github.issue().assignees == ["ken"]


async def test_a_handoff_after_a_missed_one_replaces_whom_the_app_had_assigned(
    harness: Harness,
) -> None:
    await covered_by_ada_until_17_30(harness)
    harness.clock.now = HANDOFF + timedelta(minutes=1)  # no tick saw the cover end at 17:30
    await tick(harness)
    notes = marked(harness.github.posted_comments(), markers.Handover)
    assert "@ana takes over from `ada`" in notes[-1]
    assert harness.github.issue().assignees == ["ana"]


@pytest.mark.parametrize(
    ("command", "reason"),
    [
        ("/oncall cover @mallory", "`mallory` is neither a member of `primary` nor has write"),
        ("/oncall cover @ada secondary", "there is no rotation `secondary`"),
        ("/oncall cover @ada until tea time", "`tea time` is no time to come"),
        ("/oncall cover @ada until 2019-05-15 09:00", "`2019-05-15 09:00` is no time to come"),
    ],
)
async def test_a_cover_that_cannot_be_given_is_refused_and_changes_nothing(
    harness: Harness, command: str, reason: str
) -> None:
    github = harness.github
    await declare(harness)
    harness.clock.advance(minutes=5)
    await say(harness, command, by="ken")
    (reply,) = marked(github.posted_comments(), markers.OnCallReply)
    assert reply.startswith("Nothing changed: " + reason)
    assert not [i for i in github.issues.values() if markers.of(markers.OnCallLog, i.body)]


async def test_a_cover_may_go_to_someone_with_write_access(harness: Harness) -> None:
    github = harness.github
    await declare(harness)
    github.permissions[(REPO.lower(), "rohan")] = "write"  # in no rotation, never commented
    harness.clock.advance(minutes=5)
    await say(harness, "/oncall cover @rohan", by="ken")
    (reply,) = marked(github.posted_comments(), markers.OnCallReply)
    assert reply.startswith(
        "@rohan is on call for `primary` from now until the next handoff "
        "(Wed 2019-05-15 18:00 Europe/Berlin)"
    )
    (log,) = [i for i in github.issues.values() if markers.of(markers.OnCallLog, i.body)]
    assert "until the next handoff (Wed 2019-05-15 18:00 Europe/Berlin), asked by `ken`" in log.body
    (note,) = marked(github.posted_comments(), markers.Handover)
    assert "@rohan takes over from `ken`" in note


async def test_a_cover_by_someone_without_authority_is_denied(harness: Harness) -> None:
    github = harness.github
    await declare(harness)
    harness.clock.advance(minutes=5)
    await say(harness, "/oncall cover @ada", by="mallory", perm="read")
    assert marked(github.posted_comments(), markers.OnCallReply) == []
    assert marked(github.posted_comments(), markers.Denied)
    assert not [i for i in github.issues.values() if markers.of(markers.OnCallLog, i.body)]


# --- a rotation that follows the operator's calendar ---------------------------------------

VENDOR = """\
calendar: {timezone: Europe/Berlin}
rotations:
  vendor:
    calendar: vendor-oncall
    people: {ada lovelace: ada, ken thompson: ken, grace hopper: grace}
roster:
  release_manager.rohan-patel: {rotation: vendor}
  team_lead.casey-brooks: casey
"""
IN_KENS_WEEK = datetime(2026, 3, 25, 10, 0, tzinfo=UTC)  # the hand-written calendar's


@pytest.fixture
async def vendor(
    settings: Settings, clock: Clock, tmp_path: Path
) -> AsyncIterator[tuple[Harness, Served]]:
    served = Served()
    thread = threading.Thread(target=served.server.serve_forever, daemon=True)
    thread.start()
    operator = tmp_path / "notifiers.yml"
    operator.write_text(f"calendars:\n  vendor-oncall: {{url: '{served.url}/vendor.ics'}}\n")
    configured = settings.model_copy(update={"notifiers_file": operator})
    clock.now = IN_KENS_WEEK
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        router.route(host="127.0.0.1").pass_through()  # the calendar is a real server
        github = GitHubDouble(router, clock)
        github.files[(REPO.lower(), ".github/incident.yml")] = VENDOR
        app = create_app(configured, now=clock, sleep=Sleeps())
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield Harness(app, c, github, clock), served
    served.server.shutdown()
    served.server.server_close()


async def declared_in_kens_week(h: Harness) -> None:
    h.github.add_issue(labels=("incident", "sev:P1"), created_at=IN_KENS_WEEK)
    await h.deliver("issues", delivery_for(h.github, "issues.opened-incident-p0.json"))


async def test_a_calendar_s_shift_decides_whom_the_declaration_assigns(
    vendor: tuple[Harness, Served],
) -> None:
    h, served = vendor
    served.routes["/vendor.ics"] = (200, ICS)
    await declared_in_kens_week(h)
    assert h.github.issue().assignees == ["ken"]
    assert marked(h.github.posted_comments(), markers.CalendarProblem) == []


async def test_an_unreachable_calendar_is_said_once_and_the_seat_s_backup_is_reached(
    vendor: tuple[Harness, Served],
) -> None:
    h, served = vendor
    served.routes["/vendor.ics"] = (503, b"down")
    await declared_in_kens_week(h)
    (problem,) = marked(h.github.posted_comments(), markers.CalendarProblem)
    assert "`vendor-oncall` could not be read (HTTP 503)" in problem
    assert h.github.issue().assignees == []
    h.clock.now = IN_KENS_WEEK + timedelta(hours=1, minutes=1)  # nobody acknowledged
    await tick(h)
    (escalation,) = marked(h.github.posted_comments(), markers.Escalation)
    assert "@casey" in escalation
    assert len(marked(h.github.posted_comments(), markers.CalendarProblem)) == 1
