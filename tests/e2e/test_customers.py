"""Customers hear nothing internal, end to end: a repository that routes to Slack and, with
`public: true`, to Statuspage; a P1's declaration, acknowledgement, status updates with
internal detail and its resolution reach Slack, and Statuspage receives not one request
(public updates are the only events a public route gets; docs/operator-guide/customers.md)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import respx

from app.settings import Settings
from app.web.server import create_app
from tests.conftest import REPO, SECRETS, Clock, GitHubDouble, Harness, Sleeps
from tests.e2e.test_paging import CHANNEL, Paging, declare, say
from tests.standins import PagerDutyStandIn, SlackStandIn, StatuspageStandIn

pytestmark = pytest.mark.anyio

BOT_TOKEN = "xoxb-customers-bot-token"
API_KEY = "statuspage-customers-api-key"
SECRETS.extend([BOT_TOKEN, API_KEY])
CONFIG = """\
roster:
  release_manager.rohan-patel: {login: rohan, slack: U0ROHAN1}
notify:
  - {to: payments-slack}
  - {to: status-page, public: true}
"""
INTERNAL = "db-primary-3 replica lag 40s, failing over"


@pytest.fixture
async def customers(
    settings: Settings, clock: Clock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Paging, StatuspageStandIn]]:
    slack = await SlackStandIn(token=BOT_TOKEN).start()
    page = await StatuspageStandIn(api_key=API_KEY).start()
    pagerduty = await PagerDutyStandIn().start()  # unused: Paging's shape
    operator = tmp_path / "notifiers.yml"
    operator.write_text(
        "notifiers:\n"
        '  payments-slack: {kind: slack, bot_token: "${SLACK_BOT_TOKEN}"}\n'
        f'  status-page: {{kind: statuspage, page_id: {page.page_id}, api_key: "${{SP_KEY}}",'
        f" api_url: {page.url}, components: {{api: cmpapi000001}}}}\n"
    )
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("SP_KEY", API_KEY)
    configured = settings.model_copy(
        update={"notifiers_file": operator, "slack_api_url": slack.api_url}
    )
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        router.route(host="127.0.0.1").pass_through()
        github = GitHubDouble(router, clock)
        github.files[(REPO.lower(), ".github/incident.yml")] = CONFIG
        app = create_app(configured, now=clock, sleep=Sleeps())
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as client:
            yield Paging(Harness(app, client, github, clock), slack, pagerduty), page
        await app.state.notifications.drain()
        await app.state.notifications.aclose()
    for standin in (slack, page, pagerduty):
        await standin.close()


async def test_internal_events_never_reach_a_public_route(
    customers: tuple[Paging, StatuspageStandIn],
) -> None:
    paging, page = customers
    await declare(paging)
    await say(paging, "/ack")
    await say(paging, f"/status mitigating {INTERNAL}")
    await say(
        paging,
        "🚨 INCIDENT UPDATE #1\nStatus: Monitoring\nImpact: checkout fails for 30% of users\n"
        f"Actions taken: {INTERNAL}",
    )
    await say(paging, "/status resolved rolled back")
    await paging.settle()

    posted = paging.slack.posted(CHANNEL)
    assert sum(INTERNAL in text for text in posted) == 2  # the internal place heard it all
    assert sum("All clear" in text for text in posted) == 1
    assert page.requests == []  # and the customers' place heard nothing of it
    status = (await paging.h.client.get("/", headers={"Accept": "application/json"})).json()
    assert status["notifications"]["notifiers"] == {
        "payments-slack": "slack",
        "status-page": "statuspage",
    }
