"""People are reached where they are, end to end: webhook deliveries and alerts → the app →
GitHub (the double) and, behind it, Slack and PagerDuty (loopback stand-ins speaking their
wire formats), configured as an operator does: NOTIFIERS_FILE, SLACK_API_URL,
PAGERDUTY_EVENTS_URL, and a repository's `notify:` (docs/behaviour.md §10).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from pydantic import SecretStr

from app.settings import Settings
from app.web.server import create_app
from tests.conftest import (
    REPO,
    SECRETS,
    Clock,
    GitHubDouble,
    Harness,
    Sleeps,
    comment_payload,
    delivery_for,
)
from tests.standins import PagerDutyStandIn, SlackStandIn

pytestmark = pytest.mark.anyio

BOT_TOKEN = "xoxb-paging-bot-token"
ROUTING_KEY = "pd-paging-routing-key"
ALERTS_TOKEN = "paging-alerts-token"
SECRETS.extend([BOT_TOKEN, ROUTING_KEY, ALERTS_TOKEN])
CHANNEL = "incident-hello-world-1"
CONFIG = """\
roster:
  release_manager.rohan-patel: {login: rohan, slack: U0ROHAN1}
  architect.morgan-lee: morgan
notify:
  - {to: payments-slack, severities: [P0, P1]}
  - {to: payments-pager, severities: [P0, P1]}
alerts: {enabled: true}
"""


@dataclass
class Paging:
    h: Harness
    slack: SlackStandIn
    pagerduty: PagerDutyStandIn

    async def settle(self) -> None:
        """GitHub work first, then what it told: nothing is slept for."""
        if self.h.app.state.alerts is not None:
            await self.h.app.state.alerts.drain()
        await self.h.drain()
        await self.h.app.state.notifications.drain()

    def pages(self) -> list[tuple[str, str]]:
        """The events PagerDuty accepted: (action, dedup_key)."""
        return [(e["event_action"], e["dedup_key"]) for e in self.pagerduty.events]


@pytest.fixture
async def paging(
    settings: Settings, clock: Clock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Paging]:
    slack = await SlackStandIn(token=BOT_TOKEN).start()
    pagerduty = await PagerDutyStandIn(routing_keys=frozenset({ROUTING_KEY})).start()
    operator = tmp_path / "notifiers.yml"
    operator.write_text(
        "notifiers:\n"
        '  payments-slack: {kind: slack, bot_token: "${SLACK_BOT_TOKEN}"}\n'
        '  payments-pager: {kind: pagerduty, routing_key: "${PD_ROUTING_KEY}"}\n'
    )
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("PD_ROUTING_KEY", ROUTING_KEY)
    configured = settings.model_copy(
        update={
            "notifiers_file": operator,
            "slack_api_url": slack.api_url,
            "pagerduty_events_url": pagerduty.url,
            "alerts_token": SecretStr(ALERTS_TOKEN),
        }
    )
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        router.route(host="127.0.0.1").pass_through()  # the stand-ins are real servers
        github = GitHubDouble(router, clock)
        github.files[(REPO.lower(), ".github/incident.yml")] = CONFIG
        app = create_app(configured, now=clock, sleep=Sleeps())
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as client:
            yield Paging(Harness(app, client, github, clock), slack, pagerduty)
        slack.release()
        await app.state.notifications.drain()
        await app.state.notifications.aclose()
    await slack.close()
    await pagerduty.close()


async def declare(p: Paging, *labels: str) -> None:
    p.h.github.add_issue(labels=labels or ("incident", "sev:P1"))
    await p.h.deliver(
        "issues", delivery_for(p.h.github, "issues.opened-incident-p0.json"), drain=False
    )
    await p.settle()
    p.h.clock.advance(minutes=1)


async def say(p: Paging, body: str, *, by: str = "rohan", settle: bool = True) -> dict[str, Any]:
    p.h.github.permissions[(REPO.lower(), by)] = "write"
    item = p.h.github.comment(1, body, at=p.h.clock.now, by=by)
    await p.h.deliver(
        "issue_comment", comment_payload(p.h, item), delivery=f"c-{item['id']}", drain=False
    )
    if settle:
        await p.settle()
    p.h.clock.advance(minutes=1)
    return item


async def test_a_p1_is_paged_and_gets_its_channel_once(paging: Paging) -> None:
    await declare(paging)

    [created] = paging.slack.calls("conversations.create")
    assert created.params()["name"] == CHANNEL
    invited = paging.slack.calls("conversations.invite")
    assert any("U0ROHAN1" in r.params()["users"] for r in invited)
    assert len(paging.slack.posted(CHANNEL)) == 1  # the brief
    assert len(paging.slack.posted("#incidents")) == 1  # the announcement
    assert paging.pages() == [("trigger", f"{REPO}#1")]

    # The same delivery again, and a second declaration delivery: nothing new anywhere.
    await paging.h.deliver(
        "issues", delivery_for(paging.h.github, "issues.opened-incident-p0.json"), drain=False
    )
    await paging.settle()
    assert len(paging.slack.calls("conversations.create")) == 1
    assert len(paging.slack.posted(CHANNEL)) == 1
    assert len(paging.pagerduty.requests) == 1


async def test_ack_status_and_resolution_reach_slack_and_pagerduty_once_each(
    paging: Paging,
) -> None:
    await declare(paging)
    ack = await say(paging, "/ack")
    update = await say(
        paging,
        "🚨 INCIDENT UPDATE #1\nStatus: Mitigating\nImpact: checkout fails for 5% of users\n"
        "ETA: 30 minutes",
    )
    await say(paging, "/status resolved rolled back")
    # Redelivered comments: nothing is told twice.
    for item in (ack, update):
        await paging.h.deliver(
            "issue_comment",
            comment_payload(paging.h, item),
            delivery=f"again-{item['id']}",
            drain=False,
        )
    await paging.settle()

    assert paging.pages() == [
        ("trigger", f"{REPO}#1"),
        ("acknowledge", f"{REPO}#1"),
        ("resolve", f"{REPO}#1"),
    ]
    posted = paging.slack.posted(CHANNEL)
    assert sum("checkout fails for 5% of users" in text for text in posted) == 1
    assert sum("All clear" in text for text in posted) == 1
    assert sum("Post-incident review" in text for text in posted) == 1


async def test_a_p1_lowered_to_p2_still_resolves_its_page(paging: Paging) -> None:
    """`payments-pager` takes P0 and P1 only; the page a P1 declaration triggered is still
    resolved when the incident, lowered to P2 meanwhile, is resolved."""
    await declare(paging)
    await say(paging, "/sev P2")
    await say(paging, "/status resolved fixed")
    assert [action for action, _ in paging.pages()] == ["trigger", "trigger", "resolve"]


async def test_a_dead_slack_does_not_delay_the_github_work(paging: Paging) -> None:
    await declare(paging)
    paging.slack.hang()

    item = await say(paging, "/status mitigating rolling back", settle=False)
    await paging.h.drain()  # the GitHub work: done while Slack holds every request

    comment = next(c for c in paging.h.github.issue(1).comments if c["id"] == item["id"])
    assert comment["reactions"]["+1"] == 1  # the update was handled on GitHub
    assert "status:mitigating" in paging.h.github.issue(1).labels
    await paging.slack.holding()  # and Slack has the post, held

    paging.slack.release()
    await paging.h.app.state.notifications.drain()
    assert sum("rolling back" in text for text in paging.slack.posted(CHANNEL)) == 1


async def test_a_slack_500_is_retried_and_posted_once(paging: Paging) -> None:
    await declare(paging)
    paging.slack.fail(1)
    await say(paging, "/status mitigating bad deploy")
    assert sum("bad deploy" in text for text in paging.slack.posted(CHANNEL)) == 1
    metrics = (await paging.h.client.get("/metrics")).text
    assert (
        'incident_app_notifications_total{kind="status",notifier="payments-slack",result="retried"}'
        in metrics
    )


async def test_an_alert_opened_incident_pages_too(paging: Paging) -> None:
    payload = json.loads(
        (
            Path(__file__).resolve().parents[2] / "webhooks/alerts/alertmanager-firing.json"
        ).read_text()
    )
    answer = await paging.h.client.post(
        f"/alerts/alertmanager/{REPO}",
        json=payload,
        headers={"Authorization": f"Bearer {ALERTS_TOKEN}"},
    )
    assert answer.status_code == 202
    await paging.settle()
    [issue] = [i for i in paging.h.github.issues.values() if "alert" in i.labels]
    assert paging.pages() == [("trigger", f"{REPO}#{issue.number}")]


async def test_drills_page_nobody(paging: Paging) -> None:
    await declare(paging, "incident", "sev:P0", "drill")
    await say(paging, "/ack")
    assert paging.slack.requests == [] and paging.pagerduty.requests == []


async def test_the_status_page_shows_the_notifiers(paging: Paging) -> None:
    await declare(paging)
    status = (await paging.h.client.get("/", headers={"Accept": "application/json"})).json()
    assert status["notifications"]["notifiers"] == {
        "payments-pager": "pagerduty",
        "payments-slack": "slack",
    }
    assert status["notifications"]["counts"]["sent"] == 2  # the declaration, to each


TITLE = "Checkout returns 502 for every user"  # the GitHub double's issue title


async def declare_where(p: Paging, *labels: str, private: bool) -> None:
    """As `declare`, with the repository private or public both on GitHub and in the
    delivery's payload."""
    p.h.github.private[REPO] = private
    p.h.github.add_issue(labels=labels)
    payload = delivery_for(p.h.github, "issues.opened-incident-p0.json")
    payload["repository"]["private"] = private
    await p.h.deliver("issues", payload, drain=False)
    await p.settle()
    p.h.clock.advance(minutes=1)


def assert_confidential_channel(p: Paging) -> None:
    """The incident's own channel is private, and `#incidents` has a link, never the title."""
    [created] = p.slack.calls("conversations.create")
    assert created.params()["name"] == CHANNEL
    assert str(created.params()["is_private"]).lower() in ("1", "true")
    channel = p.slack.named(CHANNEL)
    assert channel is not None and channel.is_private
    [shared] = p.slack.posted("#incidents")
    assert TITLE not in shared and "Checkout" not in shared
    assert f"{REPO}/issues/1" in shared  # a link to the issue
    assert f"<#{channel.id}>" in shared
    assert p.pages() == [("trigger", f"{REPO}#1")]


async def test_a_private_repositorys_p1_gets_a_private_channel_and_a_link_only(
    paging: Paging,
) -> None:
    await declare_where(paging, "incident", "sev:P1", private=True)
    assert_confidential_channel(paging)

    # Its updates stay in the private channel; `#incidents` hears nothing more.
    await say(paging, "/status mitigating rolled back the deploy")
    assert sum("rolled back the deploy" in t for t in paging.slack.posted(CHANNEL)) == 1
    assert len(paging.slack.posted("#incidents")) == 1
    assert len(paging.slack.calls("conversations.create")) == 1


async def test_a_public_repositorys_security_incident_is_confidential_from_its_declaration(
    paging: Paging,
) -> None:
    await declare_where(paging, "incident", "sev:P1", "security", private=False)
    assert_confidential_channel(paging)
    assert "security" in paging.h.github.issue().labels


async def test_a_handoff_invites_the_incoming_person_to_the_incident_s_channel(
    paging: Paging,
) -> None:
    from tests.conftest import CRON_SECRET
    from tests.e2e.test_oncall import CONFIG as ONCALL
    from tests.e2e.test_oncall import HANDOFF

    paging.h.github.files[(REPO.lower(), ".github/incident.yml")] = (
        ONCALL
        + "slack: {ken: U0KEN001, ana: U0ANA001, ada: U0ADA001}\n"
        + "notify:\n  - {to: payments-slack, severities: [P0, P1]}\n"
    )
    await declare(paging)
    invited = " ".join(r.params()["users"] for r in paging.slack.calls("conversations.invite"))
    assert "U0KEN001" in invited and "U0ADA001" not in invited
    paging.h.clock.now = HANDOFF + timedelta(minutes=1)
    tick = await paging.h.client.post(
        "/cron/tick", headers={"Authorization": f"Bearer {CRON_SECRET}"}
    )
    assert tick.status_code == 200
    await paging.settle()
    invited = " ".join(r.params()["users"] for r in paging.slack.calls("conversations.invite"))
    assert "U0ADA001" in invited  # the incoming technical lead (ana was invited already)
    assert any("On-call handover" in m for m in paging.slack.posted(CHANNEL))
