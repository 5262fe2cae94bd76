"""Alerts open incidents: Alertmanager, Grafana and generic notifications in, one incident
issue per firing group out, told once when it changes or resolves (docs/behaviour.md §9).

Payloads are the recorded shapes in webhooks/alerts/ (see its README for where each came
from); tests vary labels and statuses on copies of them.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import settings as examples
from hypothesis import strategies as st
from pydantic import SecretStr

from app.core import alerts, markers
from app.core.policy import AlertsPolicy, ConfigError
from app.github.config import check_text
from app.settings import Settings
from app.web.server import create_app
from tests.conftest import (
    REPO,
    T0,
    GitHubDouble,
    Harness,
    Sleeps,
    delivery_for,
    iso,
    marked,
)

pytestmark = pytest.mark.anyio

TOKEN = "alerts-token-for-tests"
ALERTS = Path(__file__).resolve().parents[2] / "webhooks" / "alerts"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
CONFIG = (REPO.lower(), ".github/incident.yml")
OPT_IN = "alerts:\n  enabled: true\n"  # a repository receives alerts only when it says so


def recorded(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ALERTS / name).read_text())
    return data


@pytest.fixture
async def alerting(settings: Settings, github: GitHubDouble, clock: Any) -> AsyncIterator[Harness]:
    sleeps = Sleeps()
    github.files[CONFIG] = OPT_IN
    app = create_app(
        settings.model_copy(update={"alerts_token": SecretStr(TOKEN)}), now=clock, sleep=sleeps
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield Harness(app, client, github, clock, sleeps)


async def send(
    h: Harness,
    payload: Any,
    source: str = "alertmanager",
    *,
    repo: str = REPO,
    headers: dict[str, str] | None = None,
    drain: bool = True,
) -> httpx.Response:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    response = await h.client.post(
        f"/alerts/{source}/{repo}",
        content=body,
        headers={"Content-Type": "application/json", **(AUTH if headers is None else headers)},
    )
    if drain:
        await settle(h)
    return response


async def settle(h: Harness) -> None:
    """Alert work first (it queues the new incident's reconciliation), then the queue."""
    await h.app.state.alerts.drain()
    await h.app.state.queue.drain()


def alert_issues(github: GitHubDouble) -> list[Any]:
    return [i for i in github.issues.values() if "alert" in i.labels]


def am(
    status: str = "firing",
    *,
    alerts: list[dict[str, Any]] | None = None,
    severity: str = "critical",
    group_key: str | None = None,
) -> dict[str, Any]:
    """Alertmanager's recorded notification with this group's status and alerts."""
    payload = copy.deepcopy(recorded("alertmanager-firing.json"))
    if alerts is not None:
        payload["alerts"] = alerts
    for alert in payload["alerts"]:
        alert["labels"]["severity"] = severity
    payload["commonLabels"]["severity"] = severity
    payload["status"] = status
    if status == "resolved":
        for alert in payload["alerts"]:
            alert["status"] = "resolved"
            alert["endsAt"] = alert["startsAt"]  # in the past, as Alertmanager sends it
    if group_key is not None:
        payload["groupKey"] = group_key
    return payload


def extra_alert(
    payload: dict[str, Any], name: str = "HighLatency", fp: str = "ab12cd34ef56ab78"
) -> dict[str, Any]:
    alert = copy.deepcopy(payload["alerts"][0])
    alert["labels"]["alertname"] = name
    alert["fingerprint"] = fp
    return alert


# --- one firing group, one incident ------------------------------------------------------


async def test_a_firing_group_opens_one_incident_that_the_runbook_takes_over(
    alerting: Harness,
) -> None:
    payload = am()
    answer = await send(alerting, payload)

    assert answer.status_code == 202, answer.text
    assert answer.json()["accepted"] is True
    [issue] = alert_issues(alerting.github)
    assert issue.labels[:3] == ["incident", "sev:P0", "alert"]
    alert = payload["alerts"][0]
    assert issue.title.startswith(alert["labels"]["alertname"])
    summary = payload["commonAnnotations"].get("summary") or alert["annotations"].get("summary")
    if summary:
        assert summary.split()[0] in issue.title
    assert alerts._url(alert["generatorURL"]) in issue.body
    assert "Alertmanager" in issue.body
    # The normal declaration flow took over: the brief is on the issue.
    assert marked(alerting.github.posted_comments(issue.number), markers.Brief)


@pytest.mark.parametrize(
    ("name", "label"),
    [("alertmanager-firing.json", "sev:P1"), ("alertmanager-real.json", "sev:P1")],
)
async def test_each_recorded_alertmanager_delivery_opens_its_incident(
    alerting: Harness, name: str, label: str
) -> None:
    """The documented shape (newer releases add `notification_reason`, `routeLabels`) and a
    delivery recorded from Debian's Alertmanager 0.25 (without them) both open one issue."""
    payload = recorded(name)
    answer = await send(alerting, payload)
    assert answer.status_code == 202, answer.text
    [issue] = alert_issues(alerting.github)
    assert label in issue.labels
    assert payload["commonAnnotations"]["summary"] in issue.title


async def test_the_same_group_again_adds_nothing(alerting: Harness) -> None:
    await send(alerting, am())
    writes = len(alerting.github.writes)
    for _ in range(3):
        answer = await send(alerting, am())
        assert answer.status_code == 202
    assert len(alert_issues(alerting.github)) == 1
    assert len(alerting.github.writes) == writes


async def test_alerts_joining_the_group_add_one_short_update(alerting: Harness) -> None:
    await send(alerting, am())
    [issue] = alert_issues(alerting.github)
    joined = am()
    joined["alerts"].append(extra_alert(joined))

    await send(alerting, joined)
    await send(alerting, joined)  # the same set again: nothing more

    notes = marked(alerting.github.posted_comments(issue.number), markers.AlertNote)
    assert len(notes) == 1
    assert "Alerts changed" in notes[0] and "2 firing" in notes[0] and "1 new" in notes[0]
    assert "HighLatency" in notes[0]
    assert len(alert_issues(alerting.github)) == 1


async def test_resolved_is_told_once_and_the_incident_stays_open(alerting: Harness) -> None:
    await send(alerting, am())
    [issue] = alert_issues(alerting.github)

    await send(alerting, am("resolved"))
    await send(alerting, am("resolved"))  # Alertmanager repeats: nothing more

    notes = marked(alerting.github.posted_comments(issue.number), markers.AlertNote)
    assert len(notes) == 1
    assert "Alerts resolved** at" in notes[0]
    assert issue.state == "open"


async def test_firing_again_after_resolved_is_told_on_the_same_issue(alerting: Harness) -> None:
    await send(alerting, am())
    await send(alerting, am("resolved"))
    await send(alerting, am())

    [issue] = alert_issues(alerting.github)
    notes = marked(alerting.github.posted_comments(issue.number), markers.AlertNote)
    assert len(notes) == 2
    assert "Firing again" in notes[1]


async def test_auto_resolve_resolves_the_incident_through_the_runbook(alerting: Harness) -> None:
    alerting.github.files[CONFIG] = OPT_IN + "  auto_resolve: true\n"
    await send(alerting, am())
    [issue] = alert_issues(alerting.github)

    await send(alerting, am("resolved"))

    assert issue.state == "closed"
    assert "status:resolved" in issue.labels
    bodies = alerting.github.posted_comments(issue.number)
    assert len(marked(bodies, markers.AllClear)) == 1
    assert "auto_resolve` is on" in marked(bodies, markers.AlertNote)[0]
    # Run again: nothing is undone or repeated.
    writes = len(alerting.github.writes)
    await send(alerting, am("resolved"))
    assert len(alerting.github.writes) == writes


async def test_closed_by_responders_while_firing_opens_nothing_until_it_fires_anew(
    alerting: Harness,
) -> None:
    await send(alerting, am())
    [issue] = alert_issues(alerting.github)
    alerting.clock.advance(hours=1)
    alerting.github.permissions[(REPO.lower(), "codertocat")] = "admin"
    alerting.github.close(issue.number, at=alerting.clock.now)

    await send(alerting, am())  # Alertmanager's repeat of the same alerts
    assert len(alert_issues(alerting.github)) == 1

    again = am()
    again["alerts"][0]["startsAt"] = iso(alerting.clock.now + timedelta(minutes=5))
    alerting.clock.advance(minutes=10)
    await send(alerting, again)
    assert len(alert_issues(alerting.github)) == 2


# --- severities ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "label"),
    [
        ("critical", "sev:P0"),
        ("high", "sev:P1"),
        ("warning", "sev:P2"),
        ("info", "sev:P3"),
        ("page-me-maybe", "sev:P2"),
    ],
)
async def test_severity_label_maps_to_p_levels_and_unknown_takes_the_default(
    alerting: Harness, value: str, label: str
) -> None:
    await send(alerting, am(severity=value))
    [issue] = alert_issues(alerting.github)
    assert label in issue.labels


async def test_a_repository_maps_its_own_severities(alerting: Harness) -> None:
    alerting.github.files[CONFIG] = (
        OPT_IN + "  severity_label: priority\n  map: {page: P1}\n  default: P3\n"
    )
    payload = am()
    payload["alerts"][0]["labels"]["priority"] = "PAGE"
    await send(alerting, payload)
    [issue] = alert_issues(alerting.github)
    assert "sev:P1" in issue.labels


async def test_truncated_alerts_are_said_on_the_issue(alerting: Harness) -> None:
    payload = recorded("alertmanager-truncated.json")
    await send(alerting, payload)
    [issue] = alert_issues(alerting.github)
    assert f"left out {payload['truncatedAlerts']} more alert(s)" in issue.body


# --- other sources ------------------------------------------------------------------------


async def test_grafana_contact_point_payload_opens_an_incident(alerting: Harness) -> None:
    payload = recorded("grafana-firing.json")
    answer = await send(alerting, payload, "grafana")
    assert answer.status_code == 202, answer.text
    [issue] = alert_issues(alerting.github)
    assert payload["alerts"][0]["labels"]["alertname"] in issue.title
    assert "Grafana" in issue.body

    await send(alerting, recorded("grafana-resolved.json"), "grafana")
    notes = marked(alerting.github.posted_comments(issue.number), markers.AlertNote)
    assert len(notes) == 1 and "Alerts resolved" in notes[0]


async def test_generic_payload_opens_and_resolves(alerting: Harness) -> None:
    firing = recorded("generic-firing.json")
    await send(alerting, firing, "generic")
    [issue] = alert_issues(alerting.github)
    assert issue.title == firing["title"]
    await send(alerting, recorded("generic-resolved.json"), "generic")
    notes = marked(alerting.github.posted_comments(issue.number), markers.AlertNote)
    assert len(notes) == 1


# --- guarantees ---------------------------------------------------------------------------


async def test_a_burst_of_100_notifications_opens_one_issue(alerting: Harness) -> None:
    payload = am()
    answers = await asyncio.gather(*(send(alerting, payload, drain=False) for _ in range(100)))
    await settle(alerting)
    assert {a.status_code for a in answers} == {202}
    assert len(alert_issues(alerting.github)) == 1
    issue = alert_issues(alerting.github)[0]
    assert len(marked(alerting.github.posted_comments(issue.number), markers.Brief)) == 1
    # The burst asked GitHub once which installation covers the repository and read its
    # config once: concurrent callers share one lookup (so the answers stay within their
    # second however many arrive together).
    asked = [path for method, path, _ in alerting.github.requests if method == "GET"]
    assert asked.count("/repos/Codertocat/Hello-World/installation") == 1
    assert asked.count("/repos/Codertocat/Hello-World/contents/.github/incident.yml") == 1


async def test_a_restarted_or_second_replica_finds_the_issue_on_github(
    alerting: Harness, settings: Settings
) -> None:
    await send(alerting, am())
    other = create_app(
        settings.model_copy(update={"alerts_token": SecretStr(TOKEN)}), now=alerting.clock
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=other), base_url="http://testserver"
    ) as client:
        answer = await client.post(f"/alerts/alertmanager/{REPO}", json=am(), headers=AUTH)
        assert answer.status_code == 202
        await other.state.alerts.drain()
        await other.state.queue.drain()
    assert len(alert_issues(alerting.github)) == 1


async def test_the_same_alert_by_a_second_route_joins_the_open_incident(alerting: Harness) -> None:
    await send(alerting, am())
    await send(alerting, am(group_key='{}/{severity="critical"}:{alertname="HighErrorRate"}'))
    assert len(alert_issues(alerting.github)) == 1


async def test_a_second_route_repeating_adds_nothing_and_tells_only_what_is_new(
    alerting: Harness,
) -> None:
    both = am()
    both["alerts"].append(extra_alert(both))
    await send(alerting, both)
    [issue] = alert_issues(alerting.github)
    route = '{}/{severity="critical"}:{alertname="HighErrorRate"}'
    for _ in range(3):  # one of the two alerts, by another route: nothing new to tell
        await send(alerting, am(group_key=route))
    assert marked(alerting.github.posted_comments(issue.number), markers.AlertNote) == []

    joined = am(group_key=route)
    joined["alerts"].append(extra_alert(joined, "DiskFull", "ffff0000ffff0000"))
    await send(alerting, joined)
    await send(alerting, joined)
    notes = marked(alerting.github.posted_comments(issue.number), markers.AlertNote)
    assert len(notes) == 1 and "1 new" in notes[0] and "DiskFull" in notes[0]
    assert len(alert_issues(alerting.github)) == 1


async def test_a_second_route_does_not_reopen_what_responders_closed(alerting: Harness) -> None:
    await send(alerting, am())
    [issue] = alert_issues(alerting.github)
    alerting.github.permissions[(REPO.lower(), "codertocat")] = "admin"
    alerting.github.close(issue.number, at=alerting.clock.now)
    await send(alerting, am(group_key='{}/{severity="critical"}:{alertname="HighErrorRate"}'))
    assert len(alert_issues(alerting.github)) == 1


async def test_a_generic_key_opens_a_new_incident_after_it_resolved_and_closed(
    alerting: Harness,
) -> None:
    """Generic alerts carry no start time: the told resolution is what makes the next
    firing a new incident."""
    alerting.github.files[CONFIG] = OPT_IN + "  auto_resolve: true\n"
    await send(alerting, recorded("generic-firing.json"), "generic")
    await send(alerting, recorded("generic-resolved.json"), "generic")
    [first] = alert_issues(alerting.github)
    assert first.state == "closed"
    alerting.clock.advance(days=7)
    await send(alerting, recorded("generic-firing.json"), "generic")
    assert len(alert_issues(alerting.github)) == 2


async def test_a_resolution_after_responders_closed_is_told_and_a_new_firing_opens_anew(
    alerting: Harness,
) -> None:
    await send(alerting, recorded("generic-firing.json"), "generic")
    [first] = alert_issues(alerting.github)
    alerting.github.permissions[(REPO.lower(), "codertocat")] = "admin"
    alerting.github.close(first.number, at=alerting.clock.now)
    await send(alerting, recorded("generic-firing.json"), "generic")  # still firing: nothing
    assert len(alert_issues(alerting.github)) == 1

    await send(alerting, recorded("generic-resolved.json"), "generic")
    [note] = marked(alerting.github.posted_comments(first.number), markers.AlertNote)
    assert "closed already" in note
    assert first.state == "closed"
    await send(alerting, recorded("generic-firing.json"), "generic")
    assert len(alert_issues(alerting.github)) == 2


async def test_a_removed_alert_label_is_put_back_so_no_duplicate_opens(
    alerting: Harness,
) -> None:
    await send(alerting, am())
    [issue] = alert_issues(alerting.github)
    alerting.github.unlabel(issue.number, "alert", at=alerting.clock.now)
    payload = delivery_for(alerting.github, "issues.labeled.json", number=issue.number)
    payload["action"], payload["label"] = "unlabeled", {"name": "alert"}
    await alerting.deliver("issues", payload, delivery="unlabeled-alert")
    assert "alert" in issue.labels
    await send(alerting, am())
    assert len(alert_issues(alerting.github)) == 1


async def test_a_persons_issue_with_a_copied_marker_is_no_record(alerting: Harness) -> None:
    payload = am()
    await send(alerting, payload)
    [ours] = alert_issues(alerting.github)
    forged = alerting.github.add_issue(50, labels=("alert",), title="copied")
    forged.body = ours.body  # a person copies the marker (and would point updates at 50)
    ours.state = "closed"
    ours.closed_at = alerting.clock.now
    alerting.clock.advance(minutes=30)
    payload = am()
    payload["alerts"][0]["startsAt"] = iso(alerting.clock.now)
    await send(alerting, payload)
    assert alerting.github.posted_comments(50) == []
    assert len([i for i in alert_issues(alerting.github) if i.ours]) == 2


@pytest.mark.parametrize("applied", [False, True])
async def test_an_alert_github_could_not_take_is_tried_again_and_opens_one_issue(
    alerting: Harness, applied: bool
) -> None:
    """Answered 202, then GitHub fails the write (a 502 that may hide a success): the
    notification is tried again later rather than lost until Alertmanager's repeat."""
    alerting.github.fail("POST", rf"^/repos/{REPO}/issues$", 502, apply=applied)
    answer = await send(alerting, am())
    assert answer.status_code == 202
    assert len(alert_issues(alerting.github)) == 1
    assert 10.0 in alerting.sleeps.waits  # the first retry's wait, not slept in the test
    issue = alert_issues(alerting.github)[0]
    assert len(marked(alerting.github.posted_comments(issue.number), markers.Brief)) == 1


async def test_a_retry_overtaken_by_a_newer_notification_is_dropped(alerting: Harness) -> None:
    work = alerting.app.state.alerts
    released = asyncio.Event()

    async def wait(seconds: float) -> None:
        await released.wait()

    work._sleep = wait
    alerting.github.fail("POST", rf"^/repos/{REPO}/issues$", 502)
    await send(alerting, am(), drain=False)
    await work._queue.drain()  # the first try failed; its retry waits
    await send(alerting, am("resolved"), drain=False)  # meanwhile the group resolved
    await work._queue.drain()
    released.set()
    await settle(alerting)
    assert alert_issues(alerting.github) == []
    assert [r.why for r in work.reports] == ["failed", "resolved, and no incident is open for it"]


# --- refused ------------------------------------------------------------------------------


async def test_wrong_or_missing_token_is_401_and_changes_nothing(alerting: Harness) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "token " + TOKEN}):
        answer = await send(alerting, am(), headers=headers)
        assert answer.status_code == 401
        assert "Bearer" in answer.headers["www-authenticate"]
    assert alerting.github.requests == []
    metrics = (await alerting.client.get("/metrics")).text
    assert 'incident_app_alerts_total{result="401",source="alertmanager"} 3.0' in metrics


async def test_metrics_count_what_notifications_did(alerting: Harness) -> None:
    await send(alerting, am())
    await send(alerting, am())
    metrics = (await alerting.client.get("/metrics")).text
    assert 'incident_app_alerts_total{result="opened",source="alertmanager"} 1.0' in metrics
    assert 'incident_app_alerts_total{result="no change",source="alertmanager"} 1.0' in metrics


async def test_basic_auth_with_the_token_as_password_is_accepted(alerting: Harness) -> None:
    basic = base64.b64encode(f"alertmanager:{TOKEN}".encode()).decode()
    answer = await send(alerting, am(), headers={"Authorization": f"Basic {basic}"})
    assert answer.status_code == 202
    wrong = base64.b64encode(b"alertmanager:guess").decode()
    assert (
        await send(alerting, am(), headers={"Authorization": f"Basic {wrong}"})
    ).status_code == 401


async def test_without_alerts_token_there_are_no_alert_endpoints(harness: Harness) -> None:
    answer = await harness.client.post(f"/alerts/alertmanager/{REPO}", json=am(), headers=AUTH)
    assert answer.status_code == 404
    assert harness.github.requests == []


async def test_a_repository_without_the_app_is_404_with_a_clear_message(alerting: Harness) -> None:
    answer = await send(alerting, am(), repo="someone/elsewhere")
    assert answer.status_code == 404
    assert "not installed on someone/elsewhere" in answer.json()["error"]
    assert alerting.github.writes == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "not JSON"),
        (b"[]", "JSON object"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        ({"version": "3", "status": "firing", "alerts": [{}]}, "unsupported version"),
        ({"version": "4", "status": "firing", "alerts": []}, "non-empty list"),
        ({"version": "4", "status": "burning", "alerts": [{"status": "firing"}]}, "status"),
        (
            {"version": "4", "status": "firing", "alerts": [{"status": "firing", "startsAt": "x"}]},
            "RFC 3339",
        ),
        (
            {"version": "4", "status": "firing", "alerts": [{"status": "firing", "labels": []}]},
            "labels",
        ),
    ],
)
async def test_bad_payloads_are_400_with_the_reason_and_change_nothing(
    alerting: Harness, body: Any, reason: str
) -> None:
    answer = await send(alerting, body)
    assert answer.status_code == 400
    assert reason in answer.json()["error"]
    assert alerting.github.requests == []


async def test_generic_payload_with_unknown_fields_is_400(alerting: Harness) -> None:
    answer = await send(alerting, {"title": "x", "sevrity": "critical"}, "generic")
    assert answer.status_code == 400
    assert "sevrity" in answer.json()["error"]


async def test_unknown_source_is_404(alerting: Harness) -> None:
    answer = await send(alerting, am(), "nagios")
    assert answer.status_code == 404
    assert alerting.github.requests == []


async def test_the_answer_does_not_wait_for_the_github_work(alerting: Harness) -> None:
    answer = await send(alerting, am(), drain=False)
    assert answer.status_code == 202
    # Only the installation and the repository's config were read before answering (with
    # the installation's token); the issues come after.
    paths = [r[1] for r in alerting.github.requests if not r[1].endswith("/access_tokens")]
    assert paths == [f"/repos/{REPO}/installation", f"/repos/{REPO}/contents/.github/incident.yml"]
    await settle(alerting)
    assert len(alert_issues(alerting.github)) == 1


# --- any JSON at all -----------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=30,
)


@examples(max_examples=300, deadline=None)
@given(
    source=st.sampled_from(alerts.SOURCES),
    base=st.sampled_from(
        ["alertmanager-firing.json", "grafana-firing.json", "generic-firing.json"]
    ),
    key=st.text(max_size=15),
    value=JSON,
)
def test_any_json_is_read_or_refused_with_a_reason(
    source: str, base: str, key: str, value: Any
) -> None:
    """A payload with any field set to any JSON value is an AlertGroup or a BadPayload, never
    another exception (which would be a 500 and a retry storm from Alertmanager)."""
    payload = copy.deepcopy(recorded(base))
    payload[key] = value
    if isinstance(payload.get("alerts"), list) and payload["alerts"]:
        payload["alerts"][0] = {**payload["alerts"][0], key: value}
    try:
        group = alerts.parse(source, payload)
    except alerts.BadPayload as exc:
        assert str(exc)
        return
    assert group.group and len(group.group) == 16
    alerts.open_issue(group, AlertsPolicy(), T0)


@pytest.mark.parametrize(
    "path",
    [
        "acme%0A/payments",  # `$` let a trailing newline through
        "acme/payments%0A",
        "acme/%2E%2E",
        "acme/%2E",
        "-acme/payments",
        "acme/pay%20ments",
        "acme/" + "x" * 101,
    ],
)
async def test_a_path_that_is_no_github_name_is_400_never_500(alerting: Harness, path: str) -> None:
    answer = await alerting.client.post(
        f"/alerts/generic/{path}", json={"title": "x"}, headers=AUTH
    )
    assert answer.status_code == 400, answer.text
    assert "not a GitHub repository name" in answer.json()["error"]
    assert alerting.github.requests == []


async def test_one_group_under_four_spellings_of_the_repository_opens_one_incident(
    alerting: Harness,
) -> None:
    """GitHub's names are case-insensitive: the queue, the lock and the dedup are one."""
    owner, name = REPO.split("/")
    spellings = [REPO, REPO.lower(), REPO.upper(), f"{owner.swapcase()}/{name.swapcase()}"]
    answers = await asyncio.gather(
        *(send(alerting, am(), repo=spelling, drain=False) for spelling in spellings)
    )
    await settle(alerting)
    assert {a.status_code for a in answers} == {202}
    assert len(alert_issues(alerting.github)) == 1


def outside_code(markdown: str) -> str:
    """The text GitHub renders as markdown: code spans show their text as written."""
    return re.sub(r"`[^`]*`", "", markdown)


HOSTILE = (
    "Click [Silence](https://evil.example/s) ![](https://evil.example/p.png) "
    "or https://evil.example/raw, www.evil.example, <https://evil.example/a>; "
    "see acme/secret#12, #12 and GH-12, ask @octocat"
)


@pytest.mark.parametrize("where", ["summary", "description"])
async def test_annotation_text_is_inert_no_links_images_or_cross_references(
    alerting: Harness, where: str
) -> None:
    """Annotations are the monitoring's (or whoever holds a token's) text, shown under the
    bot's name: no phishing link, image, cross-reference or ping; the app's own links stay."""
    payload = am()
    payload["commonAnnotations"][where] = HOSTILE
    payload["alerts"][0]["annotations"][where] = HOSTILE
    joined = copy.deepcopy(payload)
    joined["alerts"].append(extra_alert(joined))
    await send(alerting, payload)
    await send(alerting, joined)
    [issue] = alert_issues(alerting.github)
    [note] = marked(alerting.github.posted_comments(issue.number), markers.AlertNote)
    for text in (outside_code(issue.body), outside_code(note)):
        for live in ("](https://evil", "![", "<https://evil", "@octocat"):
            assert live not in text, (live, text)
    # A title renders no markdown, but GitHub links URLs and references in it too.
    for text in (outside_code(issue.body), outside_code(note), issue.title):
        for live in ("https://evil", "www.evil", "acme/secret#12", "#12", "GH-12"):
            assert live not in text, (live, text)
    assert "Silence" in issue.body and "evil.example" in issue.body  # still readable
    source = payload["alerts"][0]["generatorURL"]
    assert f"[Source]({alerts._url(source)})" in issue.body  # the app's own link stays


async def test_a_generic_description_is_inert_too(alerting: Harness) -> None:
    await send(alerting, {"title": "Checkout GH-12 down", "description": HOSTILE}, "generic")
    [issue] = alert_issues(alerting.github)
    for live in ("](https://evil", "https://evil", "#12", "GH-12"):
        assert live not in outside_code(issue.body) and live not in issue.title


# --- the door: only repositories that opted in, only the owner's token ----------------------

VICTIM = "victim-org/private-repo"


def another_owner(github: GitHubDouble, *, opted_in: bool = False) -> None:
    """A second installation: another owner's private repository."""
    github.repos[2] = [VICTIM]
    github.private[VICTIM] = True
    if opted_in:
        github.files[(VICTIM, ".github/incident.yml")] = OPT_IN


async def test_the_token_opens_nothing_where_the_config_does_not_opt_in(alerting: Harness) -> None:
    """ALERTS_TOKEN used to reach every repository of every installation: 25 P0s in another
    owner's private repository without an incident.yml opened 25 issues (and pages)."""
    another_owner(alerting.github)
    answers = [
        await send(alerting, {"title": f"P0 {n}", "severity": "critical"}, "generic", repo=VICTIM)
        for n in range(25)
    ]
    assert {a.status_code for a in answers} == {403}
    error = answers[0].json()["error"]
    assert f"alerts are off for {VICTIM}" in error and "alerts: {enabled: true}" in error
    assert alerting.github.writes == []
    metrics = (await alerting.client.get("/metrics")).text
    assert 'incident_app_alerts_total{result="403",source="generic"} 25.0' in metrics


@pytest.mark.parametrize(
    "config", [None, "alerts:\n  enabled: false\n", "alerts:\n  auto_resolve: true\n"]
)
async def test_a_repository_that_has_not_opted_in_is_403_and_nothing_is_written(
    alerting: Harness, config: str | None
) -> None:
    if config is None:
        del alerting.github.files[CONFIG]
    else:
        alerting.github.files[CONFIG] = config
    answer = await send(alerting, am())
    assert answer.status_code == 403
    assert "alerts: {enabled: true}" in answer.json()["error"]
    assert alerting.github.writes == []


async def test_the_organisations_file_opts_every_repository_in(alerting: Harness) -> None:
    del alerting.github.files[CONFIG]
    owner = REPO.split("/")[0].lower()
    alerting.github.files[(f"{owner}/.github", ".github/incident.yml")] = OPT_IN
    answer = await send(alerting, am())
    assert answer.status_code == 202, answer.text
    assert len(alert_issues(alerting.github)) == 1


async def test_an_owners_token_works_only_for_that_owners_repositories(alerting: Harness) -> None:
    another_owner(alerting.github, opted_in=True)
    owner = REPO.split("/")[0]
    own = {"Authorization": f"Bearer {alerts.owner_token(TOKEN, owner.upper())}"}
    assert own["Authorization"].startswith("Bearer iao_")

    answer = await send(alerting, am(), headers=own)
    assert answer.status_code == 202, answer.text
    assert len(alert_issues(alerting.github)) == 1
    basic = base64.b64encode(f"grafana:{alerts.owner_token(TOKEN, owner)}".encode()).decode()
    answer = await send(
        alerting, am(), repo=REPO.lower(), headers={"Authorization": f"Basic {basic}"}
    )
    assert answer.status_code == 202

    writes = len(alerting.github.writes)
    for headers in (own, {"Authorization": f"Bearer {alerts.owner_token('other', owner)}"}):
        refused = await send(alerting, {"title": "P0"}, "generic", repo=VICTIM, headers=headers)
        assert refused.status_code == 401
    assert len(alerting.github.writes) == writes
    # The operator's token still works for every owner that opted in.
    assert (await send(alerting, {"title": "P0"}, "generic", repo=VICTIM)).status_code == 202


# --- at most alerts.max_new_per_hour new incidents ------------------------------------------


def page(n: int, status: str = "firing") -> dict[str, Any]:
    return {"title": f"P0 number {n}", "severity": "critical", "key": f"k{n}", "status": status}


async def test_past_the_hourly_cap_firing_groups_are_told_on_the_newest_open_incident(
    alerting: Harness,
) -> None:
    """25 P0 groups at once open `max_new_per_hour` (10) incidents; the other 15 are told on
    the newest open one, once each, and their repeats add nothing."""
    answers = await asyncio.gather(
        *(send(alerting, page(n), "generic", drain=False) for n in range(25))
    )
    await settle(alerting)
    assert {a.status_code for a in answers} == {202}
    opened = alert_issues(alerting.github)
    assert len(opened) == 10
    newest = max(opened, key=lambda i: i.number)
    notes = marked(alerting.github.posted_comments(newest.number), markers.AlertNote)
    assert len(notes) == 15
    assert all("Another alert group fires" in n and "max_new_per_hour" in n for n in notes)

    writes = len(alerting.github.writes)
    for n in range(25):
        await send(alerting, page(n), "generic")
    assert len(alerting.github.writes) == writes
    metrics = (await alerting.client.get("/metrics")).text
    assert 'result="over the hourly cap: told",source="generic"} 15.0' in metrics


async def test_the_cap_is_counted_on_github_so_another_replica_agrees(
    alerting: Harness, settings: Settings
) -> None:
    alerting.github.files[CONFIG] = OPT_IN + "  max_new_per_hour: 2\n"
    for n in range(2):
        await send(alerting, page(n), "generic")
    other = create_app(
        settings.model_copy(update={"alerts_token": SecretStr(TOKEN)}), now=alerting.clock
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=other), base_url="http://testserver"
    ) as client:
        answer = await client.post(f"/alerts/generic/{REPO}", json=page(2), headers=AUTH)
        assert answer.status_code == 202
        await other.state.alerts.drain()
        await other.state.queue.drain()
    assert len(alert_issues(alerting.github)) == 2

    alerting.clock.advance(minutes=61)  # an hour later the cap has room again
    await send(alerting, page(3), "generic")
    assert len(alert_issues(alerting.github)) == 3


async def test_auto_resolve_waits_for_a_group_told_past_the_cap(alerting: Harness) -> None:
    alerting.github.files[CONFIG] = OPT_IN + "  max_new_per_hour: 1\n  auto_resolve: true\n"
    await send(alerting, page(1), "generic")
    [issue] = alert_issues(alerting.github)
    await send(alerting, page(2), "generic")  # past the cap: told on the incident
    assert len(alert_issues(alerting.github)) == 1

    await send(alerting, page(1, "resolved"), "generic")
    assert issue.state == "open"  # the second group still fires
    notes = marked(alerting.github.posted_comments(issue.number), markers.AlertNote)
    assert "still fire" in notes[-1]

    await send(alerting, page(2, "resolved"), "generic")
    assert issue.state == "closed"
    assert "status:resolved" in issue.labels


@pytest.mark.parametrize(
    ("text", "enabled", "cap", "problem"),
    [
        ("", False, 10, None),
        ("alerts: {enabled: true}\n", True, 10, None),
        ("alerts: {enabled: true, max_new_per_hour: 3}\n", True, 3, None),
        ("alerts: {max_new_per_hour: 0}\n", None, None, "alerts.max_new_per_hour"),
        ("alerts: {enabled: maybe}\n", None, None, "alerts.enabled"),
    ],
)
def test_the_alerts_policy_is_off_by_default_and_says_what_is_wrong(
    text: str, enabled: bool | None, cap: int | None, problem: str | None
) -> None:
    try:
        policy = check_text(text, source=".github/incident.yml")
    except ConfigError as exc:
        assert problem is not None and problem in str(exc), str(exc)
        return
    assert problem is None
    assert (policy.alerts.enabled, policy.alerts.max_new_per_hour) == (enabled, cap)
