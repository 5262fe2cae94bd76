"""The `email` notifier against a real SMTP server on loopback (aiosmtpd, in the test's event
loop): STARTTLS with a certificate made here, AUTH, one message per recipient with
List-Unsubscribe; only public updates of incidents above `email_above`; the password in no
log line."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

from app.core.notify import Event, Kind
from app.core.policy import Severity
from app.notify.dispatch import Notifications
from app.notify.operator import OperatorError, parse
from tests.conftest import SECRETS
from tests.smtp import PASSWORD, USER, Certificates, Server, serve

pytestmark = pytest.mark.anyio

T = dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC)
REPO = "acme/payments-internal"
TITLE = "db-primary-3 failover stuck"  # the issue's title: internal
INTERNAL = "replica lag 40s on db-primary-3, paging @dba-oncall"
CUSTOMERS = ["ana@customer.example", "bo@other.example"]
UNSUBSCRIBE = ["mailto:unsubscribe@acme.example", "https://status.acme.example/unsubscribe"]


# --- the notifier -----------------------------------------------------------------------


def public(
    text: str = "Payments are slower than usual.\n\nWe are investigating.",
    *,
    kind: Kind = Kind.PUBLIC,
    status: str = "investigating",
    impact: float | None = 25.0,
    key: str = "comment:101",
) -> Event:
    return Event(
        key=f"{REPO}#7:{key}",
        kind=kind,
        repo=REPO,
        number=7,
        title=TITLE,
        severity=Severity.P1,
        status=status,
        issue_url=f"https://github.com/{REPO}/issues/7",
        url=f"https://github.com/{REPO}/issues/7#issuecomment-101",
        text=INTERNAL,
        at=T,
        public_text=text,
        public_title="Slow payments <EU>",
        components={"api": "partial-outage", "checkout": "degraded"},
        impact=impact,
    )


def notifier_text(port: int, ca_file: Path | None, **extra: Any) -> str:
    options = {
        "kind": "email",
        "host": "127.0.0.1",
        "port": port,
        "username": USER,
        "password": "${SMTP_PASSWORD}",
        "from": "status@acme.example",
        "to": CUSTOMERS,
        "unsubscribe": UNSUBSCRIBE,
        "status_url": "https://status.acme.example/",
        **({"ca_file": str(ca_file)} if ca_file else {}),
        **extra,
    }
    return "notifiers:\n  customers: " + json.dumps(options) + "\n"


@dataclass
class Mailer:
    results: list[tuple[str, str, str]] = field(default_factory=list)
    made: list[Notifications] = field(default_factory=list)

    def notifications(self, text: str, password: str = PASSWORD) -> Notifications:
        async def no_wait(_seconds: float) -> None:
            return None

        found = Notifications(
            parse(text, env={"SMTP_PASSWORD": password}),
            on_result=lambda *r: self.results.append(r),
            sleep=no_wait,
            timeout=5.0,
        )
        self.made.append(found)
        return found

    async def send(self, notifications: Notifications, *events: Event) -> None:
        for one in events:
            notifications.submit(one, ["customers"])
        await notifications.drain()


@pytest.fixture
async def mailer() -> AsyncIterator[Mailer]:
    found = Mailer()
    yield found
    for notifications in found.made:
        await notifications.aclose()


PLAIN = """Slow payments <EU>

Status: Investigating

Payments are slower than usual.

We are investigating.

Affected components:
- api: Partial outage
- checkout: Degraded performance

Current status: https://status.acme.example/

You receive this because you subscribed to status updates. Unsubscribe: mailto:unsubscribe@acme.example
"""


async def test_a_public_update_is_mailed_over_starttls_one_message_per_recipient(
    smtp: Server, certificates: Certificates, mailer: Mailer
) -> None:
    notifications = mailer.notifications(notifier_text(smtp.port, certificates.ca_file))
    await mailer.send(notifications, public())

    assert [(r.envelope.mail_from, r.envelope.rcpt_tos) for r in smtp.received] == [
        ("status@acme.example", [CUSTOMERS[0]]),
        ("status@acme.example", [CUSTOMERS[1]]),
    ]
    assert all(r.tls and r.user == USER for r in smtp.received)
    first = smtp.received[0].message
    assert first["From"] == "status@acme.example"
    assert first["To"] == CUSTOMERS[0]  # nobody sees the other recipients
    assert first["Subject"] == "Investigating: Slow payments <EU>"
    # Folded onto its own line by the generator: the value is the same.
    assert first["List-Unsubscribe"].strip() == (
        "<mailto:unsubscribe@acme.example>, <https://status.acme.example/unsubscribe>"
    )
    assert first["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert first["Auto-Submitted"] == "auto-generated"
    assert first["Message-ID"].endswith("@acme.example>")
    assert first["Message-ID"] != smtp.received[1].message["Message-ID"]
    plain = first.get_body(preferencelist=("plain",))
    html = first.get_body(preferencelist=("html",))
    assert plain is not None and html is not None
    assert plain.get_content().replace("\r\n", "\n") == PLAIN
    assert "<h1>Slow payments &lt;EU&gt;</h1>" in html.get_content()
    assert '<a href="https://status.acme.example/">' in html.get_content()
    assert mailer.results == [("customers", "public", "sent")]


async def test_nothing_internal_is_in_a_message(
    smtp: Server, certificates: Certificates, mailer: Mailer
) -> None:
    notifications = mailer.notifications(notifier_text(smtp.port, certificates.ca_file))
    await mailer.send(
        notifications,
        public(),
        public("Resolved.", kind=Kind.RESOLVED, status="resolved", key="comment:102"),
    )
    raw = b"".join(r.envelope.original_content or b"" for r in smtp.received).decode()
    for secret in (TITLE, INTERNAL, REPO, "payments-internal", "github.com", "issues/7"):
        assert secret not in raw
    assert smtp.received[-1].message["Subject"] == "Resolved: Slow payments <EU>"


@pytest.mark.parametrize("kind", [k for k in Kind if k is not Kind.PUBLIC])
async def test_internal_events_are_never_mailed(
    smtp: Server, certificates: Certificates, mailer: Mailer, kind: Kind
) -> None:
    notifications = mailer.notifications(notifier_text(smtp.port, certificates.ca_file))
    internal = Event(**{**public().__dict__, "kind": kind, "public_text": ""})
    await mailer.send(notifications, internal)
    assert smtp.received == [] and smtp.logins == []
    assert mailer.results == [("customers", kind.value, "skipped")]


@pytest.mark.parametrize(
    ("impact", "threshold", "mailed"),
    [(None, None, False), (10.0, None, False), (10.5, None, True), (3.0, 2.5, True),
     (50.0, 50.0, False)],
)  # fmt: skip
async def test_only_incidents_above_email_above_are_mailed(
    smtp: Server,
    certificates: Certificates,
    mailer: Mailer,
    impact: float | None,
    threshold: float | None,
    mailed: bool,
) -> None:
    extra = {} if threshold is None else {"email_above": threshold}
    notifications = mailer.notifications(notifier_text(smtp.port, certificates.ca_file, **extra))
    await mailer.send(notifications, public(impact=impact))
    assert len(smtp.received) == (2 if mailed else 0)
    assert mailer.results == [("customers", "public", "sent" if mailed else "skipped")]


async def test_an_event_submitted_twice_is_mailed_once(
    smtp: Server, certificates: Certificates, mailer: Mailer
) -> None:
    notifications = mailer.notifications(notifier_text(smtp.port, certificates.ca_file))
    await mailer.send(notifications, public(), public())
    assert len(smtp.received) == 2


async def test_a_refused_login_fails_and_the_password_is_in_no_log_line(
    smtp: Server,
    certificates: Certificates,
    mailer: Mailer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = PASSWORD[::-1]
    SECRETS.append(wrong)
    good = mailer.notifications(notifier_text(smtp.port, certificates.ca_file))
    bad = mailer.notifications(notifier_text(smtp.port, certificates.ca_file), password=wrong)
    await mailer.send(good, public())
    await mailer.send(bad, public(key="comment:102"))

    # smtplib tries each mechanism the server offers (PLAIN, LOGIN), and no attempt more.
    assert smtp.logins == [(USER, True), (USER, False), (USER, False)]
    (failure,) = bad.status()["recent_failures"]
    assert failure["reason"] == "SMTP refused the login (535)"
    for secret in (PASSWORD, wrong):
        assert secret not in caplog.text
    assert "notify:" in caplog.text  # the sends were logged


@pytest.mark.parametrize(
    ("before", "mailed"),
    [(None, True), (5.0, True), (10.0, True), (12.0, False), (25.0, False)],
)
async def test_an_update_told_again_is_mailed_only_when_the_impact_just_rose_above(
    smtp: Server, certificates: Certificates, mailer: Mailer, before: float | None, mailed: bool
) -> None:
    """`/impact 40` after a `/public` tells that update again: mailed if the impact was
    unknown or at most 10 % before (the update was skipped then), else it was mailed already
    (whatever this process's ledger remembers: a restart forgets it)."""
    notifications = mailer.notifications(notifier_text(smtp.port, certificates.ca_file))
    again = replace(public(impact=40.0), restated=True, impact_before=before)
    await mailer.send(notifications, again)
    assert len(smtp.received) == (len(CUSTOMERS) if mailed else 0)


async def test_a_component_alone_is_not_mailed(
    smtp: Server, certificates: Certificates, mailer: Mailer
) -> None:
    """`/component` without words changes Statuspage's components; a mail would be empty."""
    notifications = mailer.notifications(notifier_text(smtp.port, certificates.ca_file))
    await mailer.send(notifications, public(""))
    assert smtp.received == []
    assert mailer.results == [("customers", "public", "skipped")]


async def test_a_server_without_starttls_gets_no_password(
    certificates: Certificates, mailer: Mailer, quiet_server_log: None
) -> None:
    plain = Server()
    running = await serve(plain, None)  # offers no STARTTLS
    try:
        notifications = mailer.notifications(notifier_text(plain.port, certificates.ca_file))
        await mailer.send(notifications, public())
    finally:
        running.close()
        await running.wait_closed()
    assert plain.received == [] and plain.logins == []
    (failure,) = notifications.status()["recent_failures"]
    assert failure["reason"] == "the SMTP server offers no STARTTLS (or no AUTH)"


async def test_an_untrusted_certificate_is_refused(smtp: Server, mailer: Mailer) -> None:
    notifications = mailer.notifications(notifier_text(smtp.port, None))  # no ca_file
    await mailer.send(notifications, public())
    assert smtp.received == [] and smtp.logins == []
    (failure,) = notifications.status()["recent_failures"]
    assert failure["reason"].startswith("the SMTP server's certificate is not trusted")


async def test_a_subscribers_file_is_read_at_each_send(
    smtp: Server, certificates: Certificates, mailer: Mailer, tmp_path: Path
) -> None:
    subscribers = tmp_path / "subscribers.txt"
    subscribers.write_text("# customers\ncy@third.example\nnot an address\n\nbo@other.example\n")
    text = notifier_text(
        smtp.port, certificates.ca_file, to=[CUSTOMERS[1]], subscribers_file=str(subscribers)
    )
    notifications = mailer.notifications(text)
    await mailer.send(notifications, public())
    assert [r.envelope.rcpt_tos for r in smtp.received] == [[CUSTOMERS[1]], ["cy@third.example"]]
    subscribers.write_text("dee@fourth.example\n")
    await mailer.send(notifications, public(key="comment:102"))
    assert smtp.received[-1].envelope.rcpt_tos == ["dee@fourth.example"]


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        ({"starttls": False}, "notifiers.customers: a password is sent only after STARTTLS: "
         "set starttls: true"),
        ({"to": [], "subscribers_file": None}, "notifiers.customers: give the recipients: `to` "
         "or `subscribers_file`"),
        ({"unsubscribe": ["http://x.example/u"]}, "notifiers.customers.unsubscribe: each must "
         "be a mailto: address or an https:// URL"),
        ({"to": ["Ana <ana@customer.example>"]}, "notifiers.customers.to.0: String should "
         "match pattern"),
        ({"password": None}, "notifiers.customers: give both username and password, or "
         "neither"),
    ],
)  # fmt: skip
def test_the_operator_file_checks_an_email_notifier(extra: dict[str, Any], problem: str) -> None:
    with pytest.raises(OperatorError) as caught:
        parse(notifier_text(587, None, **extra), env={"SMTP_PASSWORD": PASSWORD})
    (found,) = caught.value.problems
    assert found.startswith(problem)
    assert PASSWORD not in str(caught.value)


async def test_a_retry_goes_on_with_the_recipients_not_yet_sent_to(
    smtp: Server, certificates: Certificates, mailer: Mailer, monkeypatch: pytest.MonkeyPatch
) -> None:
    accept = smtp.handle_DATA
    refusals = {CUSTOMERS[1]: ["451 4.3.0 try again later", "550 5.7.1 not this one"]}

    async def handle_DATA(server: SMTP, session: Session, envelope: Envelope) -> str:
        answers = refusals.get(envelope.rcpt_tos[0]) or []
        return answers.pop(0) if answers else await accept(server, session, envelope)

    monkeypatch.setattr(smtp, "handle_DATA", handle_DATA)
    notifications = mailer.notifications(notifier_text(smtp.port, certificates.ca_file))
    await mailer.send(notifications, public())  # 451 for the second: tried again, from it
    assert [r.envelope.rcpt_tos for r in smtp.received] == [[CUSTOMERS[0]]]
    assert mailer.results == [
        ("customers", "public", "retried"),
        ("customers", "public", "sent"),
    ]
    assert [user for user, _ in smtp.logins] == [USER, USER]  # two sessions


def test_only_the_components_the_notifier_lists_are_named() -> None:
    from app.notify.mail import html_text, plain_text
    from app.notify.operator import EmailNotifier

    config = EmailNotifier.model_validate(
        {
            "kind": "email",
            "host": "smtp.acme.example",
            "from": "status@acme.example",
            "to": CUSTOMERS,
            "unsubscribe": UNSUBSCRIBE,
            "components": ["Checkout", "API"],
        }
    )
    event = replace(public(), components={"checkout": "degraded", "db-7": "major-outage"})
    text, page = plain_text(event, config), html_text(event, config)
    assert "- Checkout: Degraded performance" in text  # spelled as the notifier lists it
    assert "db-7" not in text + page  # an internal name /component gave never reaches mail
    unlisted = config.model_copy(update={"components": []})
    assert "- db-7: Major outage" in plain_text(event, unlisted)  # no list: every one named
