"""Customers hear public updates only, end to end: webhook deliveries → the app → the GitHub
double, and behind it the operator's notifiers (NOTIFIERS_FILE): Slack for the incident's
people, and with `public: true` a Statuspage page (the loopback stand-in of its REST API) and
an `email` notifier speaking SMTP with STARTTLS to a real aiosmtpd server
(docs/operator-guide/customers.md). Nothing internal reaches the customers' places, nothing
public reaches the internal one; redeliveries tell nobody twice."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

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
from tests.e2e.test_paging import CHANNEL, Paging, declare, say
from tests.smtp import PASSWORD, USER, Certificates, Received, Server
from tests.standins import PagerDutyStandIn, SlackStandIn, StatuspageStandIn

pytestmark = pytest.mark.anyio

BOT_TOKEN = "xoxb-customers-bot-token"
API_KEY = "statuspage-customers-api-key"
SECRETS.extend([BOT_TOKEN, API_KEY])
CHECKOUT = "cmpchk000001"  # the Statuspage id of the component `checkout`
CONFIG = """\
roster:
  release_manager.rohan-patel: {login: rohan, slack: U0ROHAN1}
notify:
  - {to: payments-slack}
  - {to: status-page, public: true}
  - {to: customers-mail, public: true}
"""
INTERNAL = "db-primary-3 replica lag 40s, failing over"
PUBLIC = "We are investigating elevated errors"
CUSTOMER = "ana@customer.example"
UNSUBSCRIBE = "mailto:unsubscribe@acme.example"


@dataclass
class Customers:
    paging: Paging
    page: StatuspageStandIn
    mail: Server

    @property
    def h(self) -> Harness:
        return self.paging.h

    def incidents(self) -> list[dict[str, Any]]:
        return list(self.page.incidents.values())

    def messages(self) -> list[Received]:
        return self.mail.received

    def slack(self) -> list[str]:
        return self.paging.slack.posted(CHANNEL)

    def said_to_customers(self) -> str:
        """Every byte Statuspage and the mail server were sent."""
        sent = [r.body.decode() for r in self.page.requests]
        sent += [(m.envelope.original_content or b"").decode() for m in self.messages()]
        return "\n".join(sent)


def operator_file(page: StatuspageStandIn, mail: Server, certificates: Certificates) -> str:
    return (
        "notifiers:\n"
        '  payments-slack: {kind: slack, bot_token: "${SLACK_BOT_TOKEN}"}\n'
        f'  status-page: {{kind: statuspage, page_id: {page.page_id}, api_key: "${{SP_KEY}}",'
        f" api_url: {page.url}, components: {{checkout: {CHECKOUT}}}}}\n"
        f"  customers-mail: {{kind: email, host: 127.0.0.1, port: {mail.port},"
        f' username: {USER}, password: "${{SMTP_PASSWORD}}", from: {USER}, to: [{CUSTOMER}],'
        f' unsubscribe: ["{UNSUBSCRIBE}"], ca_file: {certificates.ca_file}}}\n'
    )


@pytest.fixture
async def customers(
    settings: Settings,
    clock: Clock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    smtp: Server,
    certificates: Certificates,
) -> AsyncIterator[Customers]:
    slack = await SlackStandIn(token=BOT_TOKEN).start()
    page = await StatuspageStandIn(api_key=API_KEY, component_ids=frozenset({CHECKOUT})).start()
    pagerduty = await PagerDutyStandIn().start()  # unused: Paging's shape
    operator = tmp_path / "notifiers.yml"
    operator.write_text(operator_file(page, smtp, certificates))
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("SP_KEY", API_KEY)
    monkeypatch.setenv("SMTP_PASSWORD", PASSWORD)
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
            paging = Paging(Harness(app, client, github, clock), slack, pagerduty)
            yield Customers(paging, page, smtp)
        await app.state.notifications.drain()
        await app.state.notifications.aclose()
    for standin in (slack, page, pagerduty):
        await standin.close()


async def published(c: Customers, *, impact: int = 25) -> list[dict[str, Any]]:
    """A P1 with an internal status update and, for customers, a public update, a component
    and the share of users affected; the comments handled on GitHub."""
    await declare(c.paging)
    await say(c.paging, f"/status mitigating {INTERNAL}")
    comments = [await say(c.paging, f"/public {PUBLIC}")]
    comments.append(await say(c.paging, "/component checkout major-outage"))
    comments.append(await say(c.paging, f"/impact {impact}"))
    return comments


async def test_a_public_update_reaches_statuspage_and_the_mail_and_nothing_internal_does(
    customers: Customers,
) -> None:
    await published(customers)

    [incident] = customers.incidents()
    assert incident["status"] == "identified"  # /status mitigating, in Statuspage's words
    assert incident["components"] == {CHECKOUT: "major_outage"}
    # One incident update: the component came as a change of the incident, without words.
    assert incident["incident_updates"] == [{"status": "identified", "body": PUBLIC}]
    assert [r.method for r in customers.page.writes()] == ["POST", "PATCH"]
    [mail] = customers.messages()  # 25 % of users: above the notifier's 10 %
    assert mail.tls and mail.envelope.rcpt_tos == [CUSTOMER]
    message = mail.message
    assert message["List-Unsubscribe"].strip() == f"<{UNSUBSCRIBE}>"
    plain = message.get_body(preferencelist=("plain",))
    assert plain is not None and PUBLIC in plain.get_content()
    assert "checkout: Major outage" in plain.get_content()
    said = customers.said_to_customers()
    for internal in (INTERNAL, "Hello-World", "Codertocat", "github.com"):
        assert internal not in said
    # The incident's people heard the internal detail, and never the public text.
    assert sum(INTERNAL in text for text in customers.slack()) == 1
    assert not any(PUBLIC in text for text in customers.slack())


async def test_resolution_resolves_on_statuspage_and_is_mailed_once(
    customers: Customers,
) -> None:
    await published(customers)
    await say(customers.paging, "/status resolved rolled back the failover")

    [incident] = customers.incidents()
    assert incident["status"] == "resolved"
    assert incident["components"] == {CHECKOUT: "operational"}
    assert [u["status"] for u in incident["incident_updates"]] == ["identified", "resolved"]
    subjects = [m.message["Subject"] for m in customers.messages()]
    assert subjects == ["Identified: Service disruption", "Resolved: Service disruption"]
    resolved = customers.messages()[-1].message.get_body(preferencelist=("plain",))
    assert resolved is not None and "has been resolved" in resolved.get_content()
    assert "rolled back the failover" not in customers.said_to_customers()
    assert sum("All clear" in text for text in customers.slack()) == 1


async def test_a_redelivered_public_update_tells_nobody_twice(customers: Customers) -> None:
    comments = await published(customers)
    writes, mails = len(customers.page.writes()), len(customers.messages())
    for item in comments:
        await customers.h.deliver(
            "issue_comment",
            comment_payload(customers.h, item),
            delivery=f"c-{item['id']}",  # the same delivery, again
            drain=False,
        )
    await customers.paging.settle()

    assert len(customers.incidents()) == 1
    assert len(customers.page.writes()) == writes
    assert len(customers.messages()) == mails == 1


async def test_the_impact_stated_again_mails_nobody_twice(customers: Customers) -> None:
    """The update was mailed when `/impact 25` made it due; a later impact (a command, or a
    status update's `Impact:`) restates it to whoever has not had it: nobody."""
    await published(customers)
    writes = len(customers.page.writes())
    await say(customers.paging, "/impact 40")
    await say(
        customers.paging,
        "🚨 INCIDENT UPDATE #2\nStatus: Mitigating\nImpact: about 35% of users\n"
        f"Actions taken: {INTERNAL}",
    )

    assert len(customers.messages()) == 1
    assert len(customers.page.writes()) == writes


async def test_an_incident_affecting_few_users_is_not_mailed(customers: Customers) -> None:
    await published(customers, impact=5)
    await say(customers.paging, "/status resolved rolled back")

    [incident] = customers.incidents()  # Statuspage still tells whoever looks
    assert incident["status"] == "resolved"
    assert customers.messages() == []


async def test_internal_events_never_reach_a_public_route(customers: Customers) -> None:
    paging = customers.paging
    await declare(paging)
    await say(paging, "/ack")
    await say(paging, f"/status mitigating {INTERNAL}")
    await say(
        paging,
        "🚨 INCIDENT UPDATE #1\nStatus: Monitoring\nImpact: checkout fails for 30% of users\n"
        f"Actions taken: {INTERNAL}",
    )
    await say(paging, "/status resolved rolled back")

    assert sum(INTERNAL in text for text in customers.slack()) == 2  # heard it all
    assert sum("All clear" in text for text in customers.slack()) == 1
    assert customers.page.requests == []  # the customers' places heard nothing of it
    assert customers.messages() == []
    status = (await paging.h.client.get("/", headers={"Accept": "application/json"})).json()
    assert status["notifications"]["notifiers"] == {
        "payments-slack": "slack",
        "status-page": "statuspage",
        "customers-mail": "email",
    }


async def test_a_report_is_told_to_customers_only_once_someone_with_authority_publishes(
    customers: Customers,
) -> None:
    paging = customers.paging
    paging.h.github.add_issue(labels=("incident", "sev:P1"), author="mallory")
    await paging.h.deliver(
        "issues",
        delivery_for(paging.h.github, "issues.opened-incident-p0.json"),
        drain=False,
    )
    await paging.settle()
    item = paging.h.github.comment(
        1, "/component checkout major-outage", at=paging.h.clock.now, by="mallory"
    )
    await paging.h.deliver("issue_comment", comment_payload(paging.h, item), delivery="c-m")
    await paging.settle()  # mallory has no authority: her command counts for nobody
    assert customers.page.requests == [] and customers.messages() == []

    await say(paging, f"/public {PUBLIC}")  # rohan's: confirms the report, and publishes
    [incident] = customers.incidents()
    assert incident["incident_updates"] == [{"status": "investigating", "body": PUBLIC}]
    assert incident["components"] == {}  # mallory's /component counts for nobody
    assert customers.messages() == []  # the impact is not known yet
    await say(paging, "/impact 25")
    [mail] = customers.messages()
    plain = mail.message.get_body(preferencelist=("plain",))
    assert plain is not None and PUBLIC in plain.get_content()
