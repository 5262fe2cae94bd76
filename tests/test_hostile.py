"""Hostile and broken input: clear 4xx or ignored, never a crash, never a state change."""

from __future__ import annotations

import asyncio
import copy
import json
import logging
from datetime import timedelta
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app import commands
from app.actions import PostComment
from app.ingest import MAX_BODY
from app.planner import plan
from app.policy import ConfigError, check_text
from app.server import create_app
from app.settings import Settings
from app.snapshot import Comment, Event, Issue, Repo, Snapshot
from app.webhooks import sign
from tests.conftest import SECRET, T0, Harness, load

FUZZ_CASES = {"server": 300, "bytes": 200, "comments": 400, "configs": 300}

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
        "/api/github/webhooks", content=chunks(), headers={"X-GitHub-Event": "issues"}
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


def test_hostile_comment_text_is_neutralised_where_the_app_repeats_it() -> None:
    from app.messages import cell

    text = cell("@everyone | <img src=x onerror=alert(1)> " + "@a " * 500)
    assert "@everyone" not in text and "<img" not in text and "|" not in text.replace("\\|", "")
    assert len(text) <= 400


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


POLICY = check_text("roster:\n  release_manager.rohan-patel: rohan\n", source="test")


def _incident(*comments: Comment) -> Snapshot:
    return Snapshot(
        repo=Repo("acme", "shop"),
        issue=Issue(
            1,
            "Outage",
            "open",
            frozenset({"incident", "sev:P1", "status:investigating"}),
            frozenset({"rohan"}),
            T0,
            None,
            "alice",
            1,
        ),
        comments=(
            Comment(
                1,
                "bot",
                True,
                "NONE",
                T0,
                '<!-- incident-app {"k":"brief","sev":"P1","checklist":"P1"} -->',
                True,
            ),
            *comments,
        ),
        events=(
            Event(1, "labeled", T0, "alice", False, label="incident"),
            Event(2, "labeled", T0, "alice", False, label="sev:P1"),
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
