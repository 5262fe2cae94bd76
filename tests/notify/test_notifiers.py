"""Notifiers against loopback stand-ins of Slack, PagerDuty and a webhook receiver.

What is asserted is what the services received. Background sends are awaited with
`Notifications.drain()`, never slept for; retries' waits go to a recording `sleep`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.core.notify import Event, Kind
from app.core.policy import Severity
from app.notify import slack_text
from app.notify.dispatch import Notifications
from app.notify.ledger import SharedLedger
from app.notify.operator import parse
from app.notify.pagerduty import enqueue_body
from app.runtime.cluster import Cluster
from app.settings import Settings
from tests.conftest import SECRETS
from tests.runtime.test_cluster import RedisServer, _server
from tests.standins import PagerDutyStandIn, SlackStandIn, WebhookStandIn

pytestmark = pytest.mark.anyio

BOT_TOKEN = "xoxb-bot-token-for-tests"
ROUTING_KEY = "pd-routing-key-for-tests"
HOOK_SECRET = "hook-secret-for-tests"
WEBHOOK_PATH = "/services/T000/B000/hook-path-secret"
SECRETS.extend([BOT_TOKEN, ROUTING_KEY, HOOK_SECRET, "hook-path-secret"])

T = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
REPO = "acme/Hello-World"
ISSUE = f"https://github.com/{REPO}/issues/7"
CHANNEL = "incident-hello-world-7"


def event(
    kind: Kind = Kind.DECLARED,
    *,
    key: str | None = None,
    severity: Severity = Severity.P1,
    number: int = 7,
    text: str = "**Checkout** fails: see [the dashboard](https://grafana.example.com/d/1)",
    at: datetime = T,
    people: tuple[str, ...] = ("octocat", "hubot", "stranger"),
    confidential: bool = False,
) -> Event:
    return Event(
        key=key or f"{REPO}#{number}:{kind.value}:{uuid.uuid4().hex[:6]}",
        kind=kind,
        repo=REPO,
        number=number,
        title="Checkout <down>",
        severity=severity,
        status="resolved" if kind is Kind.RESOLVED else "investigating",
        issue_url=f"https://github.com/{REPO}/issues/{number}",
        url=f"https://github.com/{REPO}/issues/{number}#issuecomment-1",
        text=text,
        at=at,
        people=people,
        slack_ids={"hubot": "U0HUBOT"},
        confidential=confidential,
    )


@dataclass
class Sleeps:
    """The retries' waits, recorded instead of waited."""

    waits: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@dataclass
class World:
    slack: SlackStandIn
    pagerduty: PagerDutyStandIn
    hook: WebhookStandIn
    sleeps: Sleeps = field(default_factory=Sleeps)
    results: list[tuple[str, str, str]] = field(default_factory=list)
    made: list[Notifications] = field(default_factory=list)

    def operator_text(self) -> str:
        return f"""
notifiers:
  payments-slack: {{kind: slack, bot_token: "${{SLACK_BOT_TOKEN}}", archive_after: 24h}}
  team-webhook: {{kind: slack, webhook_url: "{self.slack.url}{WEBHOOK_PATH}"}}
  payments-pager: {{kind: pagerduty, routing_key: "${{PD_ROUTING_KEY}}"}}
  ops-hook: {{kind: webhook, url: "{self.hook.url}/incidents", secret: "${{HOOK_SECRET}}"}}
people:
  octocat: U0123ABCD
"""

    def notifications(self, **options: Any) -> Notifications:
        operator = parse(
            self.operator_text(),
            env={
                "SLACK_BOT_TOKEN": BOT_TOKEN,
                "PD_ROUTING_KEY": ROUTING_KEY,
                "HOOK_SECRET": HOOK_SECRET,
            },
        )
        found = Notifications(
            operator,
            slack_api_url=self.slack.api_url,
            pagerduty_events_url=self.pagerduty.url,
            sleep=self.sleeps,
            on_result=lambda *r: self.results.append(r),
            timeout=5.0,
            **options,
        )
        self.made.append(found)
        return found


@pytest.fixture
async def world() -> AsyncIterator[World]:
    standins = (
        await SlackStandIn(token=BOT_TOKEN).start(),
        await PagerDutyStandIn().start(),
        await WebhookStandIn().start(),
    )
    found = World(*standins)  # type: ignore[arg-type]
    yield found
    for notifications in found.made:
        await notifications.drain()
        await notifications.aclose()
    for standin in standins:
        await standin.close()


# --- Slack with a bot token ----------------------------------------------------------


async def test_a_p1_declaration_gets_a_channel_with_its_people_the_brief_and_an_announcement(
    world: World,
) -> None:
    notifications = world.notifications()
    notifications.submit(event(), ["payments-slack"])
    await notifications.drain()

    slack = world.slack
    assert [r.path.removeprefix("/api/") for r in slack.calls()] == [
        "conversations.create",
        "conversations.setTopic",
        "conversations.invite",
        "chat.postMessage",
        "chat.postMessage",
    ]
    assert all(r.headers["authorization"] == f"Bearer {BOT_TOKEN}" for r in slack.calls())
    channel = slack.named(CHANNEL)
    assert channel is not None and not channel.is_archived
    assert channel.topic == f"[P1] Checkout <down> · {ISSUE}"
    # octocat through the operator's people, hubot through the roster; stranger unknown
    assert slack.calls("conversations.invite")[0].params()["users"] == "U0123ABCD,U0HUBOT"
    assert channel.members == ["UBOT", "U0123ABCD", "U0HUBOT"]
    assert slack.posted(channel.id) == [
        "*[P1] Checkout &lt;down&gt;* · Incident declared\n"
        "*Checkout* fails: see <https://grafana.example.com/d/1|the dashboard>\n"
        f"<{ISSUE}#issuecomment-1|View on GitHub>"
    ]
    assert slack.posted("#incidents") == [
        f":rotating_light: *[P1] <{ISSUE}|{REPO}#7>* Checkout &lt;down&gt; · <#{channel.id}>"
    ]
    assert world.results == [("payments-slack", "declared", "sent")]


async def test_later_events_go_to_the_incident_channel(world: World) -> None:
    notifications = world.notifications()
    for kind in (Kind.DECLARED, Kind.STATUS, Kind.ESCALATED, Kind.RESOLVED, Kind.REVIEW):
        notifications.submit(event(kind), ["payments-slack"])
    await notifications.drain()
    channel = world.slack.named(CHANNEL)
    assert channel is not None
    heads = [text.splitlines()[0] for text in world.slack.posted(channel.id)]
    assert heads == [
        "*[P1] Checkout &lt;down&gt;* · Incident declared",
        "*[P1] Checkout &lt;down&gt;* · Status: investigating",
        "*[P1] Checkout &lt;down&gt;* · Escalated",
        "*[P1] Checkout &lt;down&gt;* · All clear",
        "*[P1] Checkout &lt;down&gt;* · Post-incident review opened",
    ]
    assert len(world.slack.posted("#incidents")) == 1  # the announcement only
    assert channel.topic == f"Resolved 2024-05-01T12:00:00Z · {ISSUE}"
    assert len(world.slack.calls("conversations.create")) == 1
    assert len(world.slack.calls("conversations.invite")) == 1  # everyone known is in


async def test_p2_and_p3_events_go_to_the_channel_only(world: World) -> None:
    notifications = world.notifications()
    notifications.submit(event(severity=Severity.P2), ["payments-slack"])
    notifications.submit(event(Kind.RESOLVED, severity=Severity.P3), ["payments-slack"])
    await notifications.drain()
    assert world.slack.calls("conversations.create") == []
    heads = [text.splitlines()[0] for text in world.slack.posted("#incidents")]
    assert heads == [
        f"*[P2] <{ISSUE}|{REPO}#7> Checkout &lt;down&gt;* · Incident declared",
        f"*[P3] <{ISSUE}|{REPO}#7> Checkout &lt;down&gt;* · All clear",
    ]


async def test_a_severity_raised_to_p1_later_creates_the_channel_then(world: World) -> None:
    notifications = world.notifications()
    notifications.submit(event(severity=Severity.P2), ["payments-slack"])
    notifications.submit(event(Kind.SEVERITY, severity=Severity.P1), ["payments-slack"])
    await notifications.drain()
    channel = world.slack.named(CHANNEL)
    assert channel is not None
    assert [t.splitlines()[0] for t in world.slack.posted(channel.id)] == [
        "*[P1] Checkout &lt;down&gt;* · Severity now P1"
    ]
    assert world.slack.posted("#incidents")[-1].endswith(f"<#{channel.id}>")


async def test_one_channel_for_concurrent_declarations_and_for_a_second_process(
    world: World,
) -> None:
    first = world.notifications()
    first.submit(event(), ["payments-slack"])
    first.submit(event(), ["payments-slack"])  # another event for the same incident, at once
    await first.drain()
    second = world.notifications()  # another replica: nothing cached
    second.submit(event(Kind.STATUS), ["payments-slack"])
    await second.drain()

    incident_channels = [c for c in world.slack.channels.values() if c.name.startswith("incident-")]
    assert [c.name for c in incident_channels] == [CHANNEL]
    creates = world.slack.calls("conversations.create")
    assert [r.status for r in creates] == [200, 200]  # the second process: name_taken, found
    assert len(world.slack.posted(incident_channels[0].id)) == 3
    assert world.results.count(("payments-slack", "status", "sent")) == 1


async def test_two_owners_repositories_of_one_name_get_a_channel_each(world: World) -> None:
    """`acme/Hello-World#7` and `other/Hello-World#7` share `incident-hello-world-7`'s name:
    the second incident takes `incident-other-hello-world-7`, never the first one's channel,
    whichever process asks later."""
    ours, theirs = event(), replace(event(), repo="other/Hello-World", title="Theirs")
    theirs = replace(theirs, issue_url="https://github.com/other/Hello-World/issues/7")
    notifications = world.notifications()
    notifications.submit(ours, ["payments-slack"])
    await notifications.drain()
    notifications.submit(theirs, ["payments-slack"])
    await notifications.drain()
    later = world.notifications()  # another replica, nothing cached
    later.submit(replace(theirs, kind=Kind.STATUS, key="other:status"), ["payments-slack"])
    await later.drain()

    names = sorted(c.name for c in world.slack.channels.values() if c.name.startswith("incident-"))
    assert names == [CHANNEL, "incident-other-hello-world-7"]
    assert len(world.slack.posted(CHANNEL)) == 1  # only ours
    assert len(world.slack.posted("incident-other-hello-world-7")) == 2


async def test_an_event_submitted_twice_is_posted_once(world: World) -> None:
    notifications = world.notifications()
    once = event(Kind.STATUS, severity=Severity.P2)
    notifications.submit(once, ["payments-slack"])
    notifications.submit(once, ["payments-slack"])
    await notifications.drain()
    notifications.submit(once, ["payments-slack"])
    await notifications.drain()
    assert len(world.slack.posted("#incidents")) == 1
    assert world.results == [
        ("payments-slack", "status", "sent"),
        ("payments-slack", "status", "skipped"),
        ("payments-slack", "status", "skipped"),
    ]


async def test_a_500_is_retried_with_backoff_then_sent(world: World) -> None:
    notifications = world.notifications()
    world.slack.fail(2)
    notifications.submit(event(severity=Severity.P3), ["payments-slack"])
    await notifications.drain()
    assert [r.status for r in world.slack.calls()] == [500, 500, 200]
    assert len(world.slack.posted("#incidents")) == 1
    assert len(world.sleeps.waits) == 2 and all(0 < w <= 8 for w in world.sleeps.waits)
    assert world.results == [
        ("payments-slack", "declared", "retried"),
        ("payments-slack", "declared", "retried"),
        ("payments-slack", "declared", "sent"),
    ]


async def test_attempts_are_bounded(world: World) -> None:
    notifications = world.notifications()
    world.slack.fail(10)
    notifications.submit(event(severity=Severity.P3), ["payments-slack"])
    await notifications.drain()
    assert len(world.slack.calls()) == 4
    assert world.results[-1] == ("payments-slack", "declared", "failed")
    failure = notifications.status()["recent_failures"][0]
    assert failure["reason"] == "Slack chat.postMessage: internal_error"


async def test_a_hanging_slack_does_not_hold_submit(world: World) -> None:
    notifications = world.notifications()
    world.slack.hang()
    notifications.submit(event(severity=Severity.P2), ["payments-slack"])
    assert notifications.status()["in_flight"] == 1  # submit returned; the send waits
    await world.slack.holding()
    assert [r.status for r in world.slack.requests] == [0]  # received, not answered
    assert world.slack.posted("#incidents") == []
    world.slack.release()
    await notifications.drain()
    assert len(world.slack.posted("#incidents")) == 1
    assert notifications.status()["in_flight"] == 0


async def test_a_refusal_is_not_retried(world: World) -> None:
    notifications = world.notifications()
    world.slack.token = "xoxb-another-workspace"
    notifications.submit(event(severity=Severity.P2), ["payments-slack"])
    await notifications.drain()
    assert len(world.slack.calls()) == 1
    assert world.sleeps.waits == []
    assert world.results == [("payments-slack", "declared", "failed")]


async def test_channels_resolved_longer_than_archive_after_ago_are_archived(world: World) -> None:
    notifications = world.notifications()
    notifications.submit(event(number=7), ["payments-slack"])
    notifications.submit(event(Kind.RESOLVED, number=7, at=T), ["payments-slack"])
    notifications.submit(event(number=8), ["payments-slack"])  # still open
    notifications.submit(event(Kind.RESOLVED, number=9, at=T), ["payments-slack"])  # no channel
    await notifications.drain()
    world.slack.add_channel("incident-drill-1", topic="not ours to judge")

    sweeper = world.notifications()  # the state lives in Slack: any process can sweep
    assert await sweeper.sweep(T + timedelta(hours=23, minutes=59)) == {}
    assert await sweeper.sweep(T + timedelta(hours=24)) == {"payments-slack": [CHANNEL]}
    assert await sweeper.sweep(T + timedelta(hours=48)) == {}
    archived = [c.name for c in world.slack.channels.values() if c.is_archived]
    assert archived == [CHANNEL]

    # Reopened after the channel was archived: a bot cannot unarchive, so #incidents hears it.
    notifications.submit(event(Kind.REOPENED, number=7), ["payments-slack"])
    await notifications.drain()
    assert world.slack.posted("#incidents")[-1].startswith(
        f"*[P1] <{ISSUE}|{REPO}#7> Checkout &lt;down&gt;* · Reopened"
    )
    assert world.results[-1] == ("payments-slack", "reopened", "sent")


async def test_reopened_before_archiving_sets_the_topic_back(world: World) -> None:
    notifications = world.notifications()
    for kind in (Kind.DECLARED, Kind.RESOLVED, Kind.REOPENED):
        notifications.submit(event(kind), ["payments-slack"])
    await notifications.drain()
    channel = world.slack.named(CHANNEL)
    assert channel is not None and channel.topic == f"[P1] Checkout <down> · {ISSUE}"
    assert await world.notifications().sweep(T + timedelta(days=3)) == {}


# --- confidential incidents (a private repository's, or labelled security / breach) ------

SECOND = "incident-acme-hello-world-7"
LINK = f":lock: *[P1] <{ISSUE}|{REPO}#7>* · a confidential incident: read it on GitHub"


def public_texts(slack: SlackStandIn) -> list[str]:
    """Everything posted where any workspace member may read it."""
    return [text for cid, text in slack.messages if not slack.channels[cid].is_private]


async def test_a_confidential_p1_gets_a_private_channel_and_only_a_link_in_incidents(
    world: World,
) -> None:
    notifications = world.notifications()
    for kind in (Kind.DECLARED, Kind.BREACH, Kind.STATUS):
        notifications.submit(event(kind, confidential=True), ["payments-slack"])
    await notifications.drain()

    (create,) = world.slack.calls("conversations.create")
    assert create.params()["is_private"] in ("1", "true", "True")
    channel = world.slack.named(CHANNEL)
    assert channel is not None and channel.is_private
    assert channel.members == ["UBOT", "U0123ABCD", "U0HUBOT"]
    heads = [t.splitlines()[0] for t in world.slack.posted(channel.id)]
    assert heads == [
        "*[P1] Checkout &lt;down&gt;* · Incident declared",
        "*[P1] Checkout &lt;down&gt;* · Data breach confirmed",
        "*[P1] Checkout &lt;down&gt;* · Status: investigating",
    ]
    assert world.slack.posted("#incidents") == [f"{LINK} · <#{channel.id}>"]
    assert not [t for t in public_texts(world.slack) if "Checkout" in t or "dashboard" in t]


async def test_confidential_events_in_shared_places_are_a_link_only(world: World) -> None:
    """P2/P3 events go to the notifier's channel, every event to an incoming webhook."""
    notifications = world.notifications()
    notifications.submit(
        event(severity=Severity.P2, confidential=True), ["payments-slack", "team-webhook"]
    )
    notifications.submit(event(Kind.BREACH, confidential=True), ["team-webhook"])
    await notifications.drain()
    link = LINK.replace("[P1]", "[P2]")
    assert world.slack.posted("#incidents") == [link]
    assert [m["text"] for m in world.slack.webhook_messages] == [link, LINK]
    assert world.slack.calls("conversations.create") == []


async def test_pagerduty_and_signed_webhooks_still_get_a_confidential_incidents_text(
    world: World,
) -> None:
    """They are the operator's own endpoints, not shared places."""
    notifications = world.notifications()
    sent = event(Kind.BREACH, confidential=True)
    notifications.submit(sent, ["payments-pager", "ops-hook"])
    await notifications.drain()
    assert world.pagerduty.events[0]["payload"]["custom_details"]["text"] == sent.text
    assert json.loads(world.hook.requests[0].body)["title"] == "Checkout <down>"


@pytest.mark.parametrize("topic", ["", f"[P1] Checkout <down> · {ISSUE}"])
async def test_a_channel_someone_else_made_under_the_name_is_never_adopted(
    world: World, topic: str
) -> None:
    """A member who creates `#incident-hello-world-7` first (even with the app's topic)
    gets nothing: the bot did not create it, so the incident takes the next name."""
    squatted = world.slack.add_channel(CHANNEL, topic=topic, members=["U0PERSON"])
    notifications = world.notifications()
    notifications.submit(event(), ["payments-slack"])
    await notifications.drain()
    later = world.notifications()  # another replica, nothing cached
    later.submit(event(Kind.STATUS), ["payments-slack"])
    await later.drain()

    assert world.slack.posted(squatted.id) == []
    assert squatted.members == ["U0PERSON"] and squatted.topic == topic
    ours = world.slack.named(SECOND)
    assert ours is not None and ours.creator == "UBOT"
    assert len(world.slack.posted(ours.id)) == 2
    assert world.slack.posted("#incidents")[0].endswith(f"<#{ours.id}>")
    assert [r.params()["name"] for r in world.slack.calls("conversations.create")] == [
        CHANNEL,
        SECOND,
        CHANNEL,
        SECOND,
    ]


async def test_a_public_channel_made_earlier_gets_nothing_once_the_incident_is_confidential(
    world: World,
) -> None:
    """Slack's API cannot make a public channel private: a channel made public (before this
    version, or before the incident was labelled `security`) stays as it is, and the
    incident goes on in a private channel under the next name."""
    notifications = world.notifications()
    notifications.submit(event(), ["payments-slack"])
    await notifications.drain()
    public = world.slack.named(CHANNEL)
    assert public is not None and not public.is_private

    notifications.submit(event(Kind.BREACH, confidential=True), ["payments-slack"])
    await notifications.drain()
    later = world.notifications()  # another replica, nothing cached
    later.submit(event(Kind.STATUS, confidential=True), ["payments-slack"])
    await later.drain()

    assert len(world.slack.posted(public.id)) == 1  # the brief before, nothing since
    private = world.slack.named(SECOND)
    assert private is not None and private.is_private
    heads = [t.splitlines()[0] for t in world.slack.posted(private.id)]
    assert heads == [
        "*[P1] Checkout &lt;down&gt;* · Data breach confirmed",
        "*[P1] Checkout &lt;down&gt;* · Status: investigating",
    ]
    assert world.slack.posted("#incidents")[-1] == f"{LINK} · <#{private.id}>"


async def test_a_private_channel_is_found_again_and_archived(world: World) -> None:
    notifications = world.notifications()
    notifications.submit(event(confidential=True), ["payments-slack"])
    await notifications.drain()
    later = world.notifications()  # another replica: found by listing private channels too
    later.submit(event(Kind.RESOLVED, confidential=True), ["payments-slack"])
    await later.drain()
    channel = world.slack.named(CHANNEL)
    assert channel is not None and channel.is_private
    assert len(world.slack.posted(channel.id)) == 2
    assert channel.topic == f"Resolved 2024-05-01T12:00:00Z · {ISSUE}"
    assert len(world.slack.calls("conversations.create")) == 1
    assert all(
        r.params()["types"] == "public_channel,private_channel"
        for r in world.slack.calls("conversations.list")
    )
    assert await world.notifications().sweep(T + timedelta(hours=25)) == {
        "payments-slack": [CHANNEL]
    }
    assert channel.is_archived


def test_channel_names_are_slack_names() -> None:
    long = event(number=123456)
    long = Event(**{**long.__dict__, "repo": "Acme/" + "Very.Long_Repo Name!" * 10})
    name = slack_text.channel_name(long)
    assert (
        len(name) <= 80 and name.endswith("-123456") and name.startswith("incident-very-long_repo")
    )
    assert name == name.lower() and all(c.isalnum() or c in "-_" for c in name)
    assert slack_text.channel_name(event()) == CHANNEL
    assert slack_text.channel_names(event()) == [CHANNEL, SECOND, f"{SECOND}-2", f"{SECOND}-3"]
    assert all(
        len(n) <= 80 and n.endswith(("-123456", "-2", "-3")) for n in slack_text.channel_names(long)
    )


# --- Slack through an incoming webhook ------------------------------------------------


async def test_an_incoming_webhook_gets_every_event(world: World) -> None:
    notifications = world.notifications()
    notifications.submit(event(), ["team-webhook"])
    notifications.submit(event(Kind.RESOLVED), ["team-webhook"])
    await notifications.drain()
    assert [r.path for r in world.slack.requests] == [WEBHOOK_PATH, WEBHOOK_PATH]
    assert [m["text"].splitlines()[0] for m in world.slack.webhook_messages] == [
        f"*[P1] <{ISSUE}|{REPO}#7> Checkout &lt;down&gt;* · Incident declared",
        f"*[P1] <{ISSUE}|{REPO}#7> Checkout &lt;down&gt;* · All clear",
    ]
    assert await notifications.sweep(T + timedelta(days=9)) == {}


# --- PagerDuty ------------------------------------------------------------------------


async def test_pagerduty_triggers_acknowledges_and_resolves_one_alert(world: World) -> None:
    notifications = world.notifications()
    for kind in (Kind.DECLARED, Kind.STATUS, Kind.ACKNOWLEDGED, Kind.ESCALATED, Kind.RESOLVED):
        notifications.submit(event(kind, severity=Severity.P0), ["payments-pager"])
    await notifications.drain()
    events = world.pagerduty.events
    assert [e["event_action"] for e in events] == [
        "trigger",
        "acknowledge",
        "trigger",
        "resolve",
    ]
    assert {e["dedup_key"] for e in events} == {f"{REPO}#7"}
    assert {e["routing_key"] for e in events} == {ROUTING_KEY}
    first = events[0]
    assert first["payload"]["summary"] == (
        "[P0] Checkout <down> — **Checkout** fails: see [the dashboard](https://grafana.example.com/d/1)"
    )
    assert first["payload"]["source"] == REPO
    assert first["payload"]["severity"] == "critical"
    assert first["links"] == [{"href": ISSUE, "text": f"{REPO}#7 on GitHub"}]
    assert first["payload"]["custom_details"]["event"] == "declared"
    assert ("payments-pager", "status", "skipped") in world.results
    assert all(r.status == 202 for r in world.pagerduty.requests)


@pytest.mark.parametrize(
    ("severity", "expected"),
    [
        (Severity.P0, "critical"),
        (Severity.P1, "error"),
        (Severity.P2, "warning"),
        (Severity.P3, "info"),
    ],
)
def test_pagerduty_severities(severity: Severity, expected: str) -> None:
    body = enqueue_body(event(severity=severity, text="x" * 2000), "k")
    assert body["payload"]["severity"] == expected
    assert len(body["payload"]["summary"]) == 1024


async def test_pagerduty_400_is_a_permanent_failure(world: World) -> None:
    world.pagerduty.routing_keys = frozenset({"another"})
    notifications = world.notifications()
    notifications.submit(event(), ["payments-pager"])
    await notifications.drain()
    assert len(world.pagerduty.requests) == 1
    assert world.sleeps.waits == []
    assert world.results == [("payments-pager", "declared", "failed")]
    (failure,) = notifications.status()["recent_failures"]
    assert failure["notifier"] == "payments-pager"
    assert failure["reason"] == (
        "PagerDuty refused the event (400): Event object is invalid (Invalid routing key)"
    )
    assert notifications.status()["counts"] == {"sent": 0, "failed": 1, "retried": 0, "skipped": 0}


async def test_pagerduty_5xx_is_retried(world: World) -> None:
    world.pagerduty.fail(1, 503)
    notifications = world.notifications()
    notifications.submit(event(Kind.RESOLVED), ["payments-pager"])
    await notifications.drain()
    assert [r.status for r in world.pagerduty.requests] == [503, 202]
    assert world.pagerduty.events[0] == {
        "routing_key": ROUTING_KEY,
        "event_action": "resolve",
        "dedup_key": f"{REPO}#7",
    }


# --- signed webhooks ------------------------------------------------------------------


async def test_a_webhook_is_signed_and_retried_after_a_5xx(world: World) -> None:
    world.hook.fail(1, 502)
    notifications = world.notifications()
    sent = event(Kind.BREACH)
    notifications.submit(sent, ["ops-hook"])
    await notifications.drain()
    first, second = world.hook.requests
    assert (first.status, second.status) == (502, 200)
    assert first.body == second.body
    assert second.path == "/incidents"
    expected = hmac.new(HOOK_SECRET.encode(), second.body, hashlib.sha256).hexdigest()
    assert second.headers["x-incident-signature-256"] == f"sha256={expected}"
    assert second.headers["x-incident-event"] == "breach"
    assert second.headers["x-incident-delivery"] == sent.key
    assert json.loads(second.body) == {
        "kind": "breach",
        "key": sent.key,
        "incident": f"{REPO}#7",
        "repo": REPO,
        "number": 7,
        "title": "Checkout <down>",
        "severity": "P1",
        "status": "investigating",
        "url": sent.url,
        "issue_url": ISSUE,
        "text": sent.text,
        "at": "2024-05-01T12:00:00Z",
    }


def readme_verify() -> dict[str, Any]:
    """The docs' snippet for receivers (Paging and Slack, "Verifying a webhook"), run as it is
    printed there; its namespace."""
    page = Path(__file__).resolve().parents[2] / "docs" / "operator-guide" / "paging.md"
    text = page.read_text()
    start = text.index("# Verifying an incident-app webhook")
    code = text[start : text.index("```", start)]
    namespace: dict[str, Any] = {}
    exec(compile(code, "docs/operator-guide/paging.md", "exec"), namespace)
    return namespace


async def test_a_webhook_carries_a_timestamp_and_a_v2_signature_the_readme_verifies(
    world: World,
) -> None:
    notifications = world.notifications()
    sent = event(Kind.DECLARED)
    notifications.submit(sent, ["ops-hook"])
    await notifications.drain()
    (received,) = world.hook.requests
    headers = httpx.Headers(received.headers)  # case-insensitive, as a receiver's framework
    timestamp = headers["x-incident-timestamp"]
    assert timestamp.isdigit() and abs(int(timestamp) - time.time()) < 60
    signed = timestamp.encode() + b"." + received.body
    expected = hmac.new(HOOK_SECRET.encode(), signed, hashlib.sha256).hexdigest()
    assert headers["x-incident-signature-v2"] == f"sha256={expected}"
    # Today's receivers keep working: the body's own signature is still there.
    body_only = hmac.new(HOOK_SECRET.encode(), received.body, hashlib.sha256).hexdigest()
    assert headers["x-incident-signature-256"] == f"sha256={body_only}"

    snippet = readme_verify()
    verify = snippet["verify"]
    secret = HOOK_SECRET.encode()
    assert verify(secret, headers, received.body) is True
    assert verify(b"another-secret-entirely", headers, received.body) is False
    assert verify(secret, headers, received.body.replace(b"P1", b"P3")) is False
    later = {**headers, "X-Incident-Timestamp": str(int(timestamp) + 1)}
    assert verify(secret, later, received.body) is False  # a changed timestamp breaks it
    # The same delivery replayed ten minutes later is refused by its age.
    snippet["time"] = type("Clock", (), {"time": staticmethod(lambda: int(timestamp) + 600)})
    assert verify(secret, headers, received.body) is False


async def test_each_attempt_is_dated_and_signed_anew(world: World) -> None:
    moments = iter([T, T + timedelta(seconds=4)])
    world.hook.fail(1, 503)
    notifications = world.notifications(clock=lambda: next(moments))
    notifications.submit(event(Kind.ESCALATED), ["ops-hook"])
    await notifications.drain()
    first, second = world.hook.requests
    assert first.body == second.body
    assert first.headers["x-incident-delivery"] == second.headers["x-incident-delivery"]
    stamps = [int(r.headers["x-incident-timestamp"]) for r in (first, second)]
    assert stamps == [int(T.timestamp()), int(T.timestamp()) + 4]
    for request, stamp in zip((first, second), stamps, strict=True):
        signed = f"{stamp}.".encode() + request.body
        digest = hmac.new(HOOK_SECRET.encode(), signed, hashlib.sha256).hexdigest()
        assert request.headers["x-incident-signature-v2"] == f"sha256={digest}"


# --- the dispatcher -------------------------------------------------------------------


async def test_unknown_names_are_skipped_and_the_others_sent(world: World) -> None:
    notifications = world.notifications()
    notifications.submit(event(severity=Severity.P3), ["nobody", "ops-hook", "ops-hook"])
    await notifications.drain()
    assert len(world.hook.requests) == 1
    assert world.results == [("nobody", "declared", "skipped"), ("ops-hook", "declared", "sent")]
    assert notifications.names() == {"payments-slack", "team-webhook", "payments-pager", "ops-hook"}
    assert notifications.status()["notifiers"] == {
        "ops-hook": "webhook",
        "payments-pager": "pagerduty",
        "payments-slack": "slack",
        "team-webhook": "slack",
    }


async def test_secrets_are_never_in_failures(world: World) -> None:
    notifications = world.notifications()
    await world.slack.close()  # nobody listens on Slack's port any more
    notifications.submit(event(), ["team-webhook"])
    await notifications.drain()
    (failure,) = notifications.status()["recent_failures"]
    assert failure["reason"].startswith("Slack webhook: unreachable")
    assert "hook-path-secret" not in json.dumps(notifications.status())
    assert sorted(notifications.secrets()) == sorted(
        [
            BOT_TOKEN,
            f"{world.slack.url}{WEBHOOK_PATH}",
            ROUTING_KEY,
            f"{world.hook.url}/incidents",  # a webhook's URL may carry its key
            HOOK_SECRET,
        ]
    )


URL_SECRET = "teams-key-in-the-path-42"
QUERY_SECRET = "query-code-in-the-url-43"
SECRETS.extend([URL_SECRET, QUERY_SECRET])


@pytest.mark.parametrize("level", [logging.DEBUG, logging.INFO])
async def test_a_send_logs_no_url_secret_at_any_level(
    world: World, caplog: pytest.LogCaptureFixture, level: int
) -> None:
    """A Teams- or Slack-style hook's URL is its secret: httpx logs each request's URL at
    INFO, for every handler, so the notifier's URL is hidden in httpx's own lines."""
    caplog.set_level(level)
    hook = f"{world.hook.url}/webhook/{URL_SECRET}/in?code={QUERY_SECRET}"
    operator = parse(
        f"""
notifiers:
  ops-hook: {{kind: webhook, url: "{world.hook.url}/webhook/${{HOOK_KEY}}/in?code={QUERY_SECRET}", secret: "${{HOOK_SECRET}}"}}
  payments-pager: {{kind: pagerduty, routing_key: "${{PD_ROUTING_KEY}}"}}
""",
        env={"HOOK_KEY": URL_SECRET, "HOOK_SECRET": HOOK_SECRET, "PD_ROUTING_KEY": ROUTING_KEY},
    )
    assert hook in operator.secrets() and URL_SECRET in operator.secrets()
    notifications = Notifications(
        operator, pagerduty_events_url=world.pagerduty.url, sleep=world.sleeps, timeout=5.0
    )
    world.made.append(notifications)
    world.hook.fail(1, 503)  # a retry logs too
    notifications.submit(event(Kind.ESCALATED), ["ops-hook", "payments-pager"])
    await notifications.drain()
    assert [r.status for r in world.hook.requests] == [503, 200]
    assert len(world.pagerduty.events) == 1
    assert [r.path for r in world.hook.requests] == [f"/webhook/{URL_SECRET}/in"] * 2

    text = caplog.text
    for secret in (URL_SECRET, QUERY_SECRET, HOOK_SECRET, ROUTING_KEY):
        assert secret not in text
    # The lines are still there, saying where and what came back.
    assert f'HTTP Request: POST {world.hook.url}/[redacted] "HTTP/1.1 200 OK"' in text
    assert f'HTTP Request: POST {world.pagerduty.url}/v2/enqueue "HTTP/1.1 202 Accepted"' in text


def test_from_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert Notifications.from_settings(Settings(_env_file=None)) is None  # type: ignore[call-arg]
    path = tmp_path / "notifiers.yml"
    path.write_text('notifiers:\n  pager: {kind: pagerduty, routing_key: "${PD_KEY}"}\n')
    monkeypatch.setenv("PD_KEY", ROUTING_KEY)
    settings = Settings(_env_file=None, notifiers_file=path)  # type: ignore[call-arg]
    found = Notifications.from_settings(settings)
    assert found is not None and found.names() == {"pager"}


# --- across replicas ------------------------------------------------------------------


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    yield from _server(tmp_path)


async def test_two_replicas_sharing_redis_send_an_event_once(
    world: World, redis_server: RedisServer
) -> None:
    prefix = f"t-{uuid.uuid4().hex[:8]}"
    clusters = [Cluster.from_url(redis_server.url, prefix=prefix) for _ in range(2)]
    try:
        a, b = (world.notifications(ledger=SharedLedger(c.once)) for c in clusters)
        once = event(Kind.ESCALATED)
        a.submit(once, ["payments-pager", "ops-hook"])
        b.submit(once, ["payments-pager", "ops-hook"])
        await a.drain()
        await b.drain()
        assert len(world.pagerduty.events) == 1
        assert len(world.hook.requests) == 1
        assert sorted(world.results) == sorted(
            [
                ("payments-pager", "escalated", "sent"),
                ("ops-hook", "escalated", "sent"),
                ("payments-pager", "escalated", "skipped"),
                ("ops-hook", "escalated", "skipped"),
            ]
        )
    finally:
        for cluster in clusters:
            await cluster.close()


async def test_a_public_update_never_reaches_an_internal_notifier(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """Only `statuspage` and `email` read public updates: a `public: true` route naming
    another kind gets nothing (its messages carry the issue's title and links)."""
    notifications = world.notifications()
    update = replace(event(Kind.PUBLIC), public_text="We are investigating.", impact=20.0)
    notifications.submit(update, ["payments-slack", "team-webhook", "payments-pager", "ops-hook"])
    await notifications.drain()
    assert world.slack.requests == [] and world.pagerduty.requests == []
    assert world.hook.requests == []
    assert [r[2] for r in world.results] == ["skipped"] * 4
    assert "is not for customers (slack)" in caplog.text


async def test_an_all_clear_carrying_the_final_public_entry_still_resolves_the_page(
    world: World,
) -> None:
    notifications = world.notifications()
    notifications.submit(event(), ["payments-pager"])
    final = replace(event(Kind.RESOLVED), public_text="Resolved after 42 minutes.")
    notifications.submit(final, ["payments-pager"])
    await notifications.drain()
    assert [e["event_action"] for e in world.pagerduty.events] == ["trigger", "resolve"]
