"""The `statuspage` notifier against a loopback stand-in of Atlassian Statuspage's REST API v1:
public updates create, update and resolve one Statuspage incident per incident, with the
mapping table's statuses; nothing internal ever reaches it; a redelivery after a restart
changes nothing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.core.notify import Event, Kind
from app.core.policy import Severity
from app.notify.dispatch import Notifications
from app.notify.operator import parse
from app.notify.statuspage import METADATA, opaque
from tests.conftest import SECRETS
from tests.standins import StatuspageStandIn

pytestmark = pytest.mark.anyio

API_KEY = "statuspage-api-key-for-tests"
SECRETS.append(API_KEY)

T = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
REPO = "acme/payments-internal"
TITLE = "db-primary-3 failover stuck"  # the issue's title: internal
INTERNAL = "replica lag 40s on db-primary-3, paging @dba-oncall"  # an internal status text
COMPONENTS = {"api": "cmpapi000001", "checkout": "cmpweb000002"}


def public(
    text: str = "Payments are slower than usual; we are investigating.",
    *,
    kind: Kind = Kind.PUBLIC,
    status: str = "investigating",
    key: str = "comment:101",
    components: Mapping[str, str] | None = None,
    title: str = "Slow payments",
    at: datetime = T,
) -> Event:
    """A public event as the public-updates work makes it (`/public <text>`)."""
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
        at=at,
        public_text=text,
        public_title=title,
        components=dict(components or {}),
        impact=25.0,
    )


def internal(kind: Kind, key: str) -> Event:
    return Event(
        key=f"{REPO}#7:{key}",
        kind=kind,
        repo=REPO,
        number=7,
        title=TITLE,
        severity=Severity.P1,
        status="mitigating",
        issue_url=f"https://github.com/{REPO}/issues/7",
        url=f"https://github.com/{REPO}/issues/7",
        text=INTERNAL,
        at=T,
    )


@dataclass
class Page:
    standin: StatuspageStandIn
    results: list[tuple[str, str, str]] = field(default_factory=list)
    made: list[Notifications] = field(default_factory=list)

    def notifications(self) -> Notifications:
        """A fresh process's notifiers (its own in-memory ledger)."""
        text = f"""
notifiers:
  status-page:
    kind: statuspage
    page_id: {self.standin.page_id}
    api_key: "${{STATUSPAGE_API_KEY}}"
    api_url: {self.standin.url}
    components: {json.dumps(COMPONENTS)}
"""

        async def no_wait(_seconds: float) -> None:
            return None

        found = Notifications(
            parse(text, env={"STATUSPAGE_API_KEY": API_KEY}),
            on_result=lambda *r: self.results.append(r),
            sleep=no_wait,
            timeout=5.0,
        )
        self.made.append(found)
        return found

    async def send(self, *events: Event, notifications: Notifications | None = None) -> None:
        notifications = notifications or self.notifications()
        for one in events:
            notifications.submit(one, ["status-page"])
        await notifications.drain()


@pytest.fixture
async def page() -> AsyncIterator[Page]:
    standin = await StatuspageStandIn(api_key=API_KEY).start()
    found = Page(standin)  # type: ignore[arg-type]
    yield found
    for notifications in found.made:
        await notifications.aclose()
    await standin.close()


def incident(page: Page) -> dict[str, Any]:
    (only,) = page.standin.incidents.values()
    return only


async def test_the_first_public_update_creates_the_incident_with_its_components(
    page: Page,
) -> None:
    first = public(components={"api": "major-outage", "checkout": "degraded", "search": "x"})
    await page.send(first)

    requests = page.standin.requests
    assert [(r.method, r.path) for r in requests] == [
        ("GET", "/v1/pages/kctbh9vrtdwd/incidents/unresolved"),
        ("POST", "/v1/pages/kctbh9vrtdwd/incidents"),
    ]
    assert all(r.headers["authorization"] == f"OAuth {API_KEY}" for r in requests)
    assert requests[1].json() == {
        "incident": {
            "name": "Slow payments",
            "status": "investigating",
            "body": "Payments are slower than usual; we are investigating.",
            "metadata": {METADATA: {"incident": opaque(f"{REPO}#7"), "update": opaque(first.key)}},
            # Only the components the operator mapped: `search` is not on Statuspage.
            "component_ids": ["cmpapi000001", "cmpweb000002"],
            "components": {"cmpapi000001": "major_outage", "cmpweb000002": "degraded_performance"},
        }
    }
    assert requests[1].status == 201
    assert page.results == [("status-page", "public", "sent")]


async def test_nothing_internal_is_ever_in_what_statuspage_receives(page: Page) -> None:
    await page.send(
        public(components={"api": "partial-outage"}),
        public("Fixed.", kind=Kind.RESOLVED, status="resolved", key="comment:102"),
    )
    sent = b" ".join(r.body for r in page.standin.requests).decode()
    for secret in (TITLE, INTERNAL, REPO, "payments-internal", "github.com", "#7"):
        assert secret not in sent


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("investigating", "investigating"),
        ("mitigating", "identified"),
        ("monitoring", "monitoring"),
    ],
)
async def test_our_status_becomes_statuspages(page: Page, status: str, expected: str) -> None:
    await page.send(public(status=status))
    assert incident(page)["status"] == expected


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("operational", "operational"),
        ("degraded", "degraded_performance"),
        ("partial-outage", "partial_outage"),
        ("major-outage", "major_outage"),
    ],
)
async def test_our_component_states_become_statuspages(
    page: Page, state: str, expected: str
) -> None:
    await page.send(public(components={"api": state}))
    assert incident(page)["components"] == {"cmpapi000001": expected}


async def test_component_names_are_matched_whatever_their_case(page: Page) -> None:
    """`/component Checkout …` names the operator's `checkout` (the site matches names
    the same way)."""
    await page.send(public(components={"API": "major-outage", "Checkout": "degraded"}))
    assert incident(page)["components"] == {
        "cmpapi000001": "major_outage",
        "cmpweb000002": "degraded_performance",
    }


async def test_a_component_alone_changes_the_incident_without_an_update(page: Page) -> None:
    notifications = page.notifications()
    await page.send(public(), notifications=notifications)
    alone = public("", key="comment:102", components={"checkout": "major-outage"})
    await page.send(alone, notifications=notifications)

    patch = page.standin.writes()[-1]
    assert patch.method == "PATCH"
    assert patch.json()["incident"].keys() == {"name", "metadata", "component_ids", "components"}
    assert incident(page)["components"] == {"cmpweb000002": "major_outage"}
    assert len(incident(page)["incident_updates"]) == 1  # customers read no empty update


async def test_an_update_told_again_is_nothing_new_for_statuspage(page: Page) -> None:
    """A stated impact restates the last public update for email; Statuspage had it."""
    await page.send(replace(public(), restated=True, impact_before=None))
    assert page.standin.requests == []
    assert page.results == [("status-page", "public", "skipped")]


async def test_a_component_first_creates_the_incident_with_its_status(page: Page) -> None:
    await page.send(public("", components={"api": "partial-outage"}))
    [post] = page.standin.writes()
    assert "body" not in post.json()["incident"]
    assert incident(page)["status"] == "investigating"


async def test_updates_and_the_resolution_go_to_the_one_incident(page: Page) -> None:
    notifications = page.notifications()
    await page.send(
        public(components={"api": "major-outage"}),
        public("Cause found; fix rolling out.", status="mitigating", key="comment:102"),
        public("Watching the fix.", status="monitoring", key="comment:103",
               components={"api": "degraded"}),
        public("All payments go through again.", kind=Kind.RESOLVED, status="resolved",
               key="comment:104", components={"api": "degraded"}),
        notifications=notifications,
    )  # fmt: skip
    assert [r.method for r in page.standin.writes()] == ["POST", "PATCH", "PATCH", "PATCH"]
    found = incident(page)
    assert [u["status"] for u in found["incident_updates"]] == [
        "investigating",
        "identified",
        "monitoring",
        "resolved",
    ]
    assert found["incident_updates"][-1]["body"] == "All payments go through again."
    # Resolved: the components it touched are operational again.
    assert found["components"] == {"cmpapi000001": "operational"}
    patch = page.standin.writes()[1]
    assert patch.path == f"/v1/pages/kctbh9vrtdwd/incidents/{found['id']}"


async def test_a_redelivered_event_after_a_restart_changes_nothing(page: Page) -> None:
    first = public()
    await page.send(first)
    # A second process (or the same after a restart): its ledger knows nothing of `first`.
    await page.send(first)
    assert [r.method for r in page.standin.writes()] == ["POST"]
    assert len(page.standin.incidents) == 1
    # Its next update finds the incident again by its metadata: an update, no new incident.
    await page.send(public("Fix deployed.", status="monitoring", key="comment:102"))
    assert [r.method for r in page.standin.writes()] == ["POST", "PATCH"]
    assert len(page.standin.incidents) == 1 and incident(page)["status"] == "monitoring"


async def test_an_event_submitted_twice_to_one_process_is_sent_once(page: Page) -> None:
    notifications = page.notifications()
    first = public()
    await page.send(first, first, notifications=notifications)
    assert [r.method for r in page.standin.requests] == ["GET", "POST"]


async def test_a_resolution_with_no_open_incident_creates_none(page: Page) -> None:
    resolved = public("Resolved.", kind=Kind.RESOLVED, status="resolved", key="comment:104")
    await page.send(public(), resolved)
    await page.send(resolved)  # redelivered after a restart: resolved there already
    await page.send(public("Fine.", kind=Kind.RESOLVED, status="resolved", key="comment:105"))
    assert [r.method for r in page.standin.writes()] == ["POST", "PATCH"]


async def test_two_incidents_get_two_statuspage_incidents(page: Page) -> None:
    other = Event(**{**public().__dict__, "number": 8, "key": f"{REPO}#8:comment:201"})
    await page.send(public(), other, public("Update.", key="comment:102"))
    assert len(page.standin.incidents) == 2
    assert [r.method for r in page.standin.writes()] == ["POST", "POST", "PATCH"]


@pytest.mark.parametrize("kind", [k for k in Kind if k is not Kind.PUBLIC])
async def test_internal_events_never_reach_statuspage(page: Page, kind: Kind) -> None:
    await page.send(internal(kind, f"{kind.value}:1"))
    assert page.standin.requests == []
    assert page.results == [("status-page", kind.value, "skipped")]


async def test_a_5xx_or_its_rate_limit_is_retried(page: Page) -> None:
    page.standin.fail(1, 500)
    page.standin.fail(1, 420)
    await page.send(public())
    assert [r.status for r in page.standin.requests] == [500, 420, 200, 201]
    assert page.results[-1] == ("status-page", "public", "sent")


async def test_a_wrong_key_is_a_failure_that_names_no_key(page: Page) -> None:
    page.standin.api_key = "another-key-entirely"
    notifications = page.notifications()
    await page.send(public(), notifications=notifications)
    (failure,) = notifications.status()["recent_failures"]
    assert failure["reason"] == "Statuspage refused GET (401): Could not authenticate"
    assert API_KEY not in json.dumps(notifications.status())
    assert [r.method for r in page.standin.requests] == ["GET"]  # a refusal is not retried


async def test_a_refused_body_is_reported_in_statuspages_words(page: Page) -> None:
    page.standin.component_ids = frozenset({"cmpother0001"})
    notifications = page.notifications()
    await page.send(public(components={"api": "major-outage"}), notifications=notifications)
    (failure,) = notifications.status()["recent_failures"]
    assert failure["reason"] == (
        "Statuspage refused POST (422): component cmpapi000001 is not on this page"
    )


def test_the_operator_file_checks_a_statuspage_notifier() -> None:
    with pytest.raises(Exception) as caught:
        parse(
            "notifiers:\n  sp: {kind: statuspage, page_id: 'no spaces', api_url: ftp://x}\n",
            env={},
        )
    problems = caught.value.problems  # type: ignore[attr-defined]
    assert problems == [
        "notifiers.sp.page_id: String should match pattern '^[A-Za-z0-9]{1,64}$'",
        "notifiers.sp.api_key: Field required",
        "notifiers.sp.api_url: must be an https:// URL",
    ]


def test_a_long_title_is_cut_to_statuspages_limit() -> None:
    from app.notify.statuspage import incident_body

    body = incident_body(public(title="x" * 300, at=T + timedelta(minutes=1)), COMPONENTS)
    assert len(body["incident"]["name"]) == 255


async def test_public_resolved_resolves_the_incident(page: Page) -> None:
    """`/public resolved <text>`: a public update whose status is resolved."""
    await page.send(
        public(components={"api": "major-outage"}),
        public("Back to normal.", status="resolved", key="public:102",
               components={"api": "major-outage"}),
    )  # fmt: skip
    found = incident(page)
    assert found["status"] == "resolved"
    assert found["components"] == {"cmpapi000001": "operational"}
    assert found["incident_updates"][-1] == {"status": "resolved", "body": "Back to normal."}
