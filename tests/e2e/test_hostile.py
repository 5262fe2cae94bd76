"""Hostile and broken input: clear 4xx or ignored, never a crash, never a state change."""

from __future__ import annotations

import asyncio
import copy
import json
import logging
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core import commands, markers, pir
from app.core.actions import PostComment
from app.core.business_calendar import WEEKDAYS
from app.core.policy import ConfigError, Severity
from app.core.runbook import plan
from app.core.snapshot import Comment, Event, Issue, Repo, Snapshot
from app.github.config import bundled_policy, check_text
from app.settings import Settings
from app.web.ingest import MAX_BODY
from app.web.server import create_app
from app.web.webhooks import sign
from tests.conftest import SECRET, T0, Harness, load
from tests.factories import ROSTER_IC, policy

FUZZ_CASES = {"server": 300, "bytes": 200, "comments": 400, "configs": 300, "planned": 200}

# --- clear answers to broken requests ----------------------------------------------------


def headers(body: bytes, event: str = "issues", **extra: str) -> dict[str, str]:
    return {
        "X-GitHub-Event": event,
        "X-Hub-Signature-256": sign(SECRET.encode(), body),
        "Content-Type": "application/json",
        **extra,
    }


@pytest.mark.anyio
async def test_an_oversized_body_is_refused_before_it_is_read(harness: Harness) -> None:
    response = await harness.client.post(
        "/api/github/webhooks",
        content=b"{}",
        headers={**headers(b"{}"), "Content-Length": str(MAX_BODY + 1)},
    )
    assert response.status_code == 413


@pytest.mark.anyio
async def test_a_body_over_the_cap_without_content_length_is_refused(harness: Harness) -> None:
    async def chunks() -> Any:
        for _ in range(26):
            yield b" " * (1024 * 1024)

    response = await harness.client.post(
        "/api/github/webhooks",
        content=chunks(),
        # A signature header, so the body is read at all (without one: 401 unread).
        headers={"X-GitHub-Event": "issues", "X-Hub-Signature-256": "sha256=" + "0" * 64},
    )
    assert response.status_code == 413


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("body", "ctype", "status"),
    [
        (b"\xff\xfe{not utf-8}", "application/json", 400),
        (b"[" * 5000 + b"]" * 5000, "application/json", 400),
        (b"<xml/>", "application/xml", 415),
        (b'{"zen": "x"}', "text/plain", 415),
    ],
)
async def test_broken_bodies_get_a_clear_4xx(
    harness: Harness, body: bytes, ctype: str, status: int
) -> None:
    response = await harness.client.post(
        "/api/github/webhooks",
        content=body,
        headers=headers(body, "ping", **{"Content-Type": ctype}),
    )
    assert response.status_code == status
    assert "error" in response.json()
    assert harness.github.requests == []


@pytest.mark.anyio
async def test_the_form_content_type_is_understood(harness: Harness) -> None:
    from urllib.parse import urlencode

    body = urlencode({"payload": json.dumps(load("ping.json"))}).encode()
    response = await harness.client.post(
        "/api/github/webhooks",
        content=body,
        headers=headers(body, "ping", **{"Content-Type": "application/x-www-form-urlencoded"}),
    )
    assert response.status_code == 200


@pytest.mark.anyio
@pytest.mark.parametrize(
    "mutate",
    [
        lambda p: p["issue"].update(number="1; DROP TABLE"),
        lambda p: p["issue"].update(labels="incident"),
        lambda p: p["issue"].update(created_at="yesterday"),
        lambda p: p["repository"].update(name="../../etc"),
        lambda p: p.update(issue=None),
        lambda p: p.update(installation={"id": "1"}),
        lambda p: p["issue"].update(number=True),
    ],
)
async def test_payloads_of_the_wrong_shape_are_ignored(harness: Harness, mutate: Any) -> None:
    payload = copy.deepcopy(load("issues.opened-incident-p0.json"))
    mutate(payload)
    response = await harness.deliver("issues", payload)
    assert response.status_code == 202
    assert "ignored" in response.json()
    assert harness.github.requests == []


# --- fuzzing ---------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)
KEYS = [
    "action",
    "issue",
    "comment",
    "repository",
    "installation",
    "label",
    "number",
    "labels",
    "name",
    "user",
    "login",
    "id",
    "created_at",
    "pull_request",
    "body",
]


def _mutations() -> st.SearchStrategy[dict[str, Any]]:
    bases = [
        load(n)
        for n in (
            "issues.opened-incident-p0.json",
            "issues.labeled-sev-p0.json",
            "issue_comment.created-status-mitigating.json",
            "issues.closed-incident.json",
        )
    ]

    @st.composite
    def mutated(draw: st.DrawFn) -> dict[str, Any]:
        payload: dict[str, Any] = copy.deepcopy(draw(st.sampled_from(bases)))
        for _ in range(draw(st.integers(1, 4))):
            target: Any = payload
            path = draw(st.lists(st.sampled_from(KEYS), min_size=1, max_size=3))
            for key in path[:-1]:
                nxt = target.get(key) if isinstance(target, dict) else None
                if not isinstance(nxt, dict):
                    break
                target = nxt
            if isinstance(target, dict):
                if draw(st.booleans()):
                    target.pop(path[-1], None)
                else:
                    target[path[-1]] = draw(json_values)
        return payload

    return mutated()


class Offline:
    """The app without credentials (its GitHub is the offline stand-in, so nothing leaves the
    process), on one event loop kept for all examples."""

    def __init__(self) -> None:
        self.runner = asyncio.Runner()
        self.app = create_app(
            Settings(
                _env_file=None,
                webhook_secret=SECRET,  # type: ignore[call-arg]
                coalesce_seconds=0,
            )
        )
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://t"
        )

    def post(self, body: bytes, event: str) -> httpx.Response:
        async def go() -> httpx.Response:
            response = await self.client.post(
                "/api/github/webhooks", content=body, headers=headers(body, event)
            )
            await self.app.state.queue.drain()
            return response

        return self.runner.run(go())

    def close(self) -> None:
        self.runner.run(self.client.aclose())
        self.runner.close()


@pytest.fixture(scope="module")
def offline() -> Any:
    found = Offline()
    yield found
    found.close()


def _errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.ERROR and r.name.startswith("app")
    ]


@settings(
    max_examples=FUZZ_CASES["server"],
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    event=st.sampled_from(["issues", "issue_comment", "ping", "star"]),
    payload=st.one_of(_mutations(), json_values),
)
def test_fuzzed_deliveries_never_crash(
    offline: Offline, caplog: pytest.LogCaptureFixture, event: str, payload: Any
) -> None:
    body = json.dumps(payload).encode()
    caplog.clear()
    response = offline.post(body, event)
    assert response.status_code in (200, 202, 400)
    assert _errors(caplog) == []


@settings(
    max_examples=FUZZ_CASES["bytes"],
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(body=st.binary(max_size=2000))
def test_fuzzed_bytes_get_4xx(offline: Offline, body: bytes) -> None:
    assert offline.post(body, "issues").status_code in (202, 400)


POLICY = policy(ROSTER_IC)


def _incident(*comments: Comment, severity: str = "P1", briefed: bool = True) -> Snapshot:
    brief = Comment(
        1,
        "bot",
        True,
        "NONE",
        T0,
        markers.render(markers.Brief(severity, checklist=severity)),
        True,
    )
    return Snapshot(
        repo=Repo("acme", "shop"),
        issue=Issue(
            1,
            "Outage",
            "open",
            frozenset({"incident", f"sev:{severity}", "status:investigating"}),
            frozenset({"rohan"}),
            T0,
            None,
            "alice",
            1,
        ),
        comments=(*([brief] if briefed else []), *comments),
        events=(
            Event(1, "labeled", T0, "alice", False, label="incident"),
            Event(2, "labeled", T0, "alice", False, label=f"sev:{severity}"),
        ),
        authorized=frozenset({"alice"}),
    )


@settings(max_examples=FUZZ_CASES["comments"], deadline=None)
@given(
    body=st.one_of(
        st.text(max_size=3000),
        st.lists(
            st.sampled_from(
                [
                    "/status ",
                    "/sev ",
                    "/assign ",
                    "/ack",
                    "/escalate ",
                    "/incident ",
                    "resolved",
                    "P0",
                    "@x",
                    "\n",
                    "> ",
                    "```",
                    "INCIDENT UPDATE",
                    "Status: ",
                    "Severity: ",
                    "<!-- incident-app ",
                    '{"k":"brief"}',
                    " -->",
                    "ic",
                    "@bob",
                ]
            ),
            max_size=30,
        ).map("".join),
    ),
    who=st.sampled_from(["alice", "mallory"]),
)
def test_fuzzed_comments_never_crash_and_strangers_change_nothing(body: str, who: str) -> None:
    commands.parse(body)
    comment = Comment(5, who, False, "NONE", T0 + timedelta(minutes=1), body, False)
    actions = plan(_incident(comment), POLICY, T0 + timedelta(minutes=2))
    if who == "mallory":
        assert all(isinstance(a, PostComment) and a.kind in ("denied",) for a in actions)
    for action in actions:
        if isinstance(action, PostComment):
            assert "@everyone" not in action.body.replace(body, "")


@settings(max_examples=FUZZ_CASES["configs"], deadline=None)
@given(
    text=st.one_of(
        st.text(max_size=500),
        st.dictionaries(
            st.sampled_from(
                [
                    "roster",
                    "roles",
                    "severities",
                    "calendar",
                    "pir",
                    "default_severity",
                    "escalation_chain",
                    "_extends",
                ]
            ),
            json_values,
            max_size=4,
        ).map(json.dumps),
    )
)
def test_fuzzed_configs_are_valid_or_explained(text: str) -> None:
    try:
        check_text(text, source="fuzz.yml")
    except ConfigError as exc:
        assert exc.problems and all(p.message for p in exc.problems)


# --- configs, as the planner sees them ----------------------------------------------------

MOST = {"m": 525_600, "min": 525_600, "h": 8_760, "d": 365, "w": 52, "bd": 260}
ROLES = [*bundled_policy().roles, "ceo"]
durations = st.one_of(
    st.sampled_from(sorted(MOST.items())).flatmap(
        lambda unit: st.sampled_from([0, 1, 2, unit[1] - 1, unit[1], unit[1] + 1]).map(
            lambda amount: f"{amount}{unit[0]}"
        )
    ),
    st.builds("{}{}".format, st.integers(0, 10**12), st.sampled_from(sorted(MOST))),
    st.sampled_from(["next business day", "1 business day", " 15 m ", "soon", "", "-1m"]),
    st.integers(-1, 10**7),
    st.none(),
)
clock_times = st.builds("{:02d}:{:02d}".format, st.integers(0, 25), st.integers(0, 61))
severity_policies = st.fixed_dictionaries(
    {},
    optional={
        "respond_within": durations,
        "update_every": durations,
        "escalate_after": durations,
        "notify_all": st.booleans(),
        "assign": st.lists(st.sampled_from(ROLES), max_size=3),
        "checklist": st.lists(st.text(max_size=30), max_size=3),
        "name": st.text(max_size=20),
    },
)
calendars = st.fixed_dictionaries(
    {},
    optional={
        "timezone": st.sampled_from(
            ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kathmandu", "Pacific/Kiritimati"]
        ),
        "working_days": st.lists(st.sampled_from([*WEEKDAYS, "funday"]), max_size=7),
        "working_hours": st.one_of(
            st.builds("{}-{}".format, clock_times, clock_times),
            st.sampled_from(["00:00-23:59", "23:58-23:59", "9-5", "99:99-00:00"]),
        ),
        "holidays_country": st.sampled_from([None, "US", "de", "GB", "JP", "XX"]),
        "holidays_subdivision": st.sampled_from([None, "CA", "BY", "XX"]),
        "extra_holidays": st.lists(st.dates(date(1960, 1, 1), date(2300, 1, 1)), max_size=10),
    },
)
pir_policies = st.fixed_dictionaries(
    {},
    optional={
        "path": st.one_of(
            st.sampled_from(
                ["ops/docs/incidents", "docs/", ".github/pir", "../x", "/abs", "a//b", "a/./b"]
            ),
            st.text(alphabet="ab./\\:%?-_ ", max_size=12),
        ),
        "label": st.text(max_size=55),
        "due_business_days": st.integers(-1, 300),
        "max_rounds": st.integers(-1, 25),
    },
)
planner_configs = st.fixed_dictionaries(
    {},
    optional={
        "default_severity": st.sampled_from(["P0", "P1", "P2", "P3"]),
        "escalation_chain": st.lists(st.sampled_from(ROLES), max_size=22),
        "severities": st.dictionaries(
            st.sampled_from(["P0", "P1", "P2", "P3"]), severity_policies, max_size=4
        ),
        "calendar": calendars,
        "pir": pir_policies,
    },
)


def _planned_incidents(severity: str) -> list[Snapshot]:
    def said(minutes: int, body: str) -> Comment:
        return Comment(
            minutes + 10, "alice", False, "MEMBER", T0 + timedelta(minutes=minutes), body, False
        )

    return [
        _incident(severity=severity, briefed=False),
        _incident(severity=severity),
        _incident(said(5, "/ack"), said(20, "/status mitigating"), severity=severity),
        _incident(said(5, "/escalate db | now"), said(60, "/status resolved"), severity=severity),
    ]


@settings(
    max_examples=FUZZ_CASES["planned"],
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(config=planner_configs)
def test_every_config_check_config_accepts_can_be_planned(config: dict[str, Any]) -> None:
    try:
        policy = check_text(yaml.safe_dump(config, allow_unicode=True), source="fuzz.yml")
    except ConfigError as exc:
        assert exc.problems and all(p.message for p in exc.problems)
        return
    for severity in Severity:
        for snapshot in _planned_incidents(severity.value):
            for later in (timedelta(0), timedelta(days=1), timedelta(days=400)):
                plan(snapshot, policy, T0 + later)
    review = pir.Round(1, T0, 1)
    assert pir.document_path(policy, review, "Outage").startswith(policy.pir.path + "/")
    due, wanted = pir.due(policy, review), policy.pir.due_business_days
    assert due >= T0
    assert policy.business_calendar.business_days_between(T0, due) == wanted or wanted == 0
