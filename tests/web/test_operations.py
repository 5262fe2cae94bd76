"""What an operator relies on: /metrics, and a graceful shutdown whose leftovers the tick heals."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from app.settings import Settings
from app.web.server import create_app
from tests.conftest import CRON_SECRET, Clock, GitHubDouble, Harness, Sleeps, delivery_for

pytestmark = pytest.mark.anyio
AUTH = {"Authorization": f"Bearer {CRON_SECRET}"}


def metric(text: str, name: str) -> float:
    """The value of one sample line of the Prometheus text, by its full name and labels."""
    for line in text.splitlines():
        if line.split(" ")[0] == name:
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in /metrics")


async def test_metrics_after_a_delivery_and_a_tick(harness: Harness) -> None:
    github = harness.github
    github.add_issue(labels=("incident", "sev:P1"))
    await harness.deliver("issues", delivery_for(github, "issues.opened-incident-p0.json"))
    await harness.deliver("issues", delivery_for(github, "issues.labeled-bug.json"))
    harness.clock.advance(minutes=2)
    await harness.client.post("/cron/tick", headers=AUTH)
    response = await harness.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert metric(text, 'incident_app_deliveries_total{event="issues",outcome="queued"}') == 1
    assert metric(text, 'incident_app_deliveries_total{event="issues",outcome="ignored"}') == 1
    assert metric(text, 'incident_app_actions_total{kind="comment:brief"}') == 1
    assert metric(text, 'incident_app_github_requests_total{method="POST",status="201"}') >= 1
    assert metric(text, 'incident_app_ticks_total{result="ok"}') == 1
    assert metric(text, "incident_app_tick_duration_seconds_count") == 1
    assert metric(text, 'incident_app_open_incidents{severity="P1"}') == 1
    assert (
        metric(text, 'incident_app_rate_limit_remaining{installation="installation:1234567"}') > 0
    )


async def test_metrics_token_protects_the_page(
    settings: Settings, github: GitHubDouble, clock: Clock
) -> None:
    app = create_app(
        settings.model_copy(update={"metrics_token": SecretStr("m-token-123")}),
        now=clock,
        sleep=Sleeps(),
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        assert (await c.get("/metrics")).status_code == 401
        ok = await c.get("/metrics", headers={"Authorization": "Bearer m-token-123"})
    assert ok.status_code == 200 and "incident_app_deliveries" in ok.text


async def test_metrics_token_protects_the_status_page_too(
    settings: Settings, github: GitHubDouble, clock: Clock
) -> None:
    app = create_app(
        settings.model_copy(update={"metrics_token": SecretStr("m-token-123")}),
        now=clock,
        sleep=Sleeps(),
    )
    token = {"Authorization": "Bearer m-token-123"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        for accept in ("text/html", "application/json"):
            for given in (
                {},
                {"Authorization": "Bearer m-token-12"},
                {"Authorization": "m-token-123"},
            ):
                refused = await c.get("/", headers={"Accept": accept, **given})
                assert refused.status_code == 401
                assert refused.headers["www-authenticate"] == "Bearer"
                assert "deliver" not in refused.text and "App ID" not in refused.text
            shown = await c.get("/", headers={"Accept": accept, **token})
            assert shown.status_code == 200 and "deliver" in shown.text
        assert (
            await c.get("/metrics", headers={"Authorization": "Bearer nope"})
        ).status_code == 401
        assert (await c.get("/healthz")).status_code == 200  # for load balancers, always open


async def test_without_a_metrics_token_status_and_metrics_are_open(harness: Harness) -> None:
    """What the Security page (docs/reference/security.md) says an unset METRICS_TOKEN leaves open."""
    status = (await harness.client.get("/", headers={"Accept": "application/json"})).json()
    assert set(status) == {
        "app",
        "version",
        "queued_issues",
        "deliveries",
        "last_delivery_at",
        "last_tick_at",
    }
    assert "App ID 424242" in (await harness.client.get("/")).text
    assert (await harness.client.get("/metrics")).status_code == 200


async def test_the_setup_page_needs_no_token(tmp_path: Path) -> None:
    unconfigured = Settings(
        _env_file=None,  # type: ignore[call-arg]
        env_file_path=tmp_path / ".env",
        metrics_token="m-token-123",
    )
    app = create_app(unconfigured)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        page = await c.get("/")
        metrics = await c.get("/metrics")
    assert page.status_code == 200 and "Set up incident-app" in page.text
    assert metrics.status_code == 401


async def test_work_abandoned_at_shutdown_is_healed_by_the_next_tick(
    settings: Settings, github: GitHubDouble, clock: Clock
) -> None:
    slow = settings.model_copy(update={"coalesce_seconds": 30.0})
    app = create_app(slow, now=clock, sleep=Sleeps())
    github.add_issue(labels=("incident", "sev:P1"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        h = Harness(app, c, github, clock)
        accepted = await h.deliver(
            "issues", delivery_for(github, "issues.opened-incident-p0.json"), drain=False
        )
        assert accepted.status_code == 202
        abandoned = await app.state.queue.close(timeout=0.05)  # what SIGTERM's lifespan does
        assert abandoned == 1
        late = await h.deliver(
            "issues", delivery_for(github, "issues.opened-incident-p0.json"), drain=False
        )
        assert late.status_code == 503  # GitHub records the failure; redelivery replays it
        assert github.writes == []
        clock.advance(minutes=5)
        await c.post("/cron/tick", headers=AUTH)
    assert len([b for b in github.posted_comments() if '"k":"brief"' in b]) == 1


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_sigterm_stops_the_server_within_the_grace_period(tmp_path: Path) -> None:
    port = _free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "SHUTDOWN_GRACE_SECONDS": "2",
        "LOG_LEVEL": "INFO",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "serve"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)  # polling for the server to come up, bounded
        else:
            raise AssertionError("server did not start")
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
        # uvicorn shuts down gracefully, then re-raises the signal for the process manager
        assert proc.returncode in (0, -signal.SIGTERM)
        assert "shut down cleanly" in err.decode()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


async def test_one_structured_log_line_per_action(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    import json
    import logging

    from app.logs import JsonFormatter

    caplog.set_level(logging.INFO)
    github = harness.github
    github.add_issue(labels=("incident", "sev:P1"))
    await harness.deliver(
        "issues", delivery_for(github, "issues.opened-incident-p0.json"), delivery="guid-42"
    )
    lines = [
        json.loads(JsonFormatter().format(r))
        for r in caplog.records
        if r.getMessage().startswith("action ")
    ]
    assert [line["message"] for line in lines] == ["action AddLabels", "action comment:brief"]
    for line in lines:
        assert line["delivery_id"] == "guid-42"
        assert line["installation"] == 1234567
        assert line["repository"] == "Codertocat/Hello-World"
        assert line["issue"] == "Codertocat/Hello-World#1"
