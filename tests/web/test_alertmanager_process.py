"""A real Alertmanager (Debian's, with deploy/prometheus/alertmanager.yml) delivers to a
loopback receiver what the app's POST /alerts/alertmanager/{owner}/{repo} reads: a version-4
webhook with our bearer token, the group's key and status, the alerts' labels and annotations.

webhooks/alerts/alertmanager-real.json is one such delivery, recorded by this test with
RECORD_ALERTMANAGER=1; otherwise the test checks the live delivery has the recorded shape.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import pytest
import respx
import uvicorn
from pydantic import SecretStr

from app.core import markers
from app.settings import Settings
from app.web.server import create_app
from tests.alertmanager import running_alertmanager
from tests.conftest import INSTALLATION_ID, Clock, GitHubDouble, Sleeps, marked

pytestmark = pytest.mark.anyio

log = logging.getLogger(__name__)

TOKEN = "alertmanager-process-test-token"
RECORDED = Path(__file__).resolve().parents[2] / "webhooks" / "alerts" / "alertmanager-real.json"
PATH = "/alerts/alertmanager/acme/payments"
DELIVERY_TIMEOUT = 10.0
EXPR = (
    'sum by (service) (rate(http_requests_total{code=~"5.."}[5m])) / '
    "sum by (service) (rate(http_requests_total[5m])) > 0.05"
)
# What Prometheus sends for incident-rules.yml's HighErrorRate at 7.2 % (labels after
# `sum by (service)`, annotations rendered, generatorURL as Prometheus builds it).
ALERT: dict[str, Any] = {
    "labels": {"alertname": "HighErrorRate", "service": "payments", "severity": "high"},
    "annotations": {
        "summary": "Error rate above 5% on payments",
        "description": "7.2% of requests to payments answered 5xx over the last 5 minutes (runbook threshold: error rate >5%).",
        "runbook_url": "https://github.com/acme/payments/blob/main/ops/docs/incident-response-runbook.md#automated-monitoring-triggers",
    },
    "generatorURL": f"http://prometheus:9090/graph?g0.expr={quote_plus(EXPR)}&g0.tab=1",
}


@dataclass
class Delivery:
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: dict[str, Any]
    at: float  # time.monotonic()


class Receiver:
    """A loopback HTTP/1.1 server that answers 200 to everything and queues each request."""

    def __init__(self) -> None:
        self.deliveries: asyncio.Queue[Delivery] = asyncio.Queue()
        self.server: asyncio.Server | None = None

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def next(self) -> Delivery:
        return await asyncio.wait_for(self.deliveries.get(), DELIVERY_TIMEOUT)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:  # Go's client keeps the connection alive between notifications
                head = await reader.readuntil(b"\r\n\r\n")
                request_line, *lines = head.decode("latin-1").split("\r\n")
                method, path, _ = request_line.split(" ", 2)
                headers = {
                    name.strip().lower(): value.strip()
                    for name, _, value in (line.partition(":") for line in lines if line)
                }
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                await self.deliveries.put(
                    Delivery(method, path, headers, json.loads(body), time.monotonic())
                )
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver()
    yield r
    await r.close()


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


async def test_alertmanager_delivers_a_version_4_webhook_with_our_token(
    receiver: Receiver, tmp_path: Path
) -> None:
    base = await receiver.start()
    async with running_alertmanager(base + PATH, TOKEN, workdir=tmp_path) as am:
        log.info("Alertmanager ready after %.3fs", am.ready_after)
        starts = datetime.now(UTC) - timedelta(minutes=1)
        posted = time.monotonic()
        await am.post_alerts([{**ALERT, "startsAt": iso(starts)}])
        firing = await receiver.next()
        log.info("firing alert delivered %.3fs after it was posted", firing.at - posted)

        assert (firing.method, firing.path) == ("POST", PATH)
        assert firing.headers["authorization"] == f"Bearer {TOKEN}"
        assert firing.headers["content-type"] == "application/json"
        body = firing.body
        assert body["version"] == "4"
        assert body["status"] == "firing"
        assert body["receiver"] == "incident-app"
        # group_by [alertname, service] on the root route:
        assert body["groupKey"] == '{}:{alertname="HighErrorRate", service="payments"}'
        assert body["groupLabels"] == {"alertname": "HighErrorRate", "service": "payments"}
        assert body["commonLabels"] == ALERT["labels"]
        assert body["commonAnnotations"] == ALERT["annotations"]
        assert body["truncatedAlerts"] == 0
        assert body["externalURL"] == am.url
        [alert] = body["alerts"]
        assert alert["status"] == "firing"
        assert alert["labels"] == ALERT["labels"]
        assert alert["annotations"] == ALERT["annotations"]
        assert alert["generatorURL"] == ALERT["generatorURL"]
        assert datetime.fromisoformat(alert["startsAt"]) == starts
        assert alert["endsAt"] == "0001-01-01T00:00:00Z"  # firing: no end yet
        assert alert["fingerprint"]

        if os.environ.get("RECORD_ALERTMANAGER") == "1":
            RECORDED.write_text(json.dumps(body, indent=2) + "\n")
        recorded = json.loads(RECORDED.read_text())
        assert set(body) == set(recorded)
        assert set(alert) == set(recorded["alerts"][0])

        # The group resolves: send_resolved: true brings one more delivery, same group.
        posted = time.monotonic()
        await am.post_alerts([{**ALERT, "startsAt": iso(starts), "endsAt": iso(datetime.now(UTC))}])
        resolved = await receiver.next()
        log.info("resolved alert delivered %.3fs after it was posted", resolved.at - posted)
        assert resolved.headers["authorization"] == f"Bearer {TOKEN}"
        assert resolved.body["status"] == "resolved"
        assert resolved.body["groupKey"] == body["groupKey"]
        assert [a["fingerprint"] for a in resolved.body["alerts"]] == [alert["fingerprint"]]
        assert resolved.body["alerts"][0]["status"] == "resolved"


# --- the whole path: Prometheus' alert → Alertmanager → the app → one incident issue -----


async def test_an_alert_posted_to_alertmanager_ends_as_one_incident_issue(
    tmp_path: Path, settings: Settings
) -> None:
    """Alertmanager (a real process) notifies the app (real uvicorn on loopback), which opens
    one incident issue on the GitHub double and declares it; the resolution is told once."""
    clock = Clock(datetime.now(UTC))
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        router.route(host="127.0.0.1").pass_through()  # Alertmanager and the app are real
        github = GitHubDouble(router, clock)
        github.repos[INSTALLATION_ID] = ["acme/payments"]
        github.files[("acme/payments", ".github/incident.yml")] = "alerts: {enabled: true}\n"
        app = create_app(
            settings.model_copy(update={"alerts_token": SecretStr(TOKEN)}),
            now=clock,
            sleep=Sleeps(),
        )
        work = app.state.alerts
        arrived = asyncio.Event()
        submit = work.submit

        def noted(target: Any, group: Any) -> bool:
            accepted: bool = submit(target, group)
            arrived.set()
            return accepted

        work.submit = noted
        async with (
            serving(app) as base,
            running_alertmanager(base + PATH, TOKEN, workdir=tmp_path) as am,
        ):
            starts = datetime.now(UTC) - timedelta(minutes=1)
            posted = time.monotonic()
            await am.post_alerts([{**ALERT, "startsAt": iso(starts)}])
            await asyncio.wait_for(arrived.wait(), DELIVERY_TIMEOUT)
            await work.drain()
            await app.state.queue.drain()
            log.info("alert → incident issue in %.3fs", time.monotonic() - posted)

            [issue] = [i for i in github.issues.values() if "alert" in i.labels]
            assert issue.labels[:3] == ["incident", "sev:P1", "alert"]  # severity: high
            assert issue.title == "HighErrorRate: Error rate above 5% on payments"
            assert marked(github.posted_comments(issue.number, "acme/payments"), markers.Brief)

            arrived.clear()
            posted = time.monotonic()
            ended = iso(datetime.now(UTC))
            await am.post_alerts([{**ALERT, "startsAt": iso(starts), "endsAt": ended}])
            await asyncio.wait_for(arrived.wait(), DELIVERY_TIMEOUT)
            await work.drain()
            log.info("resolved alert → note in %.3fs", time.monotonic() - posted)

        notes = marked(github.posted_comments(issue.number, "acme/payments"), markers.AlertNote)
        assert len(notes) == 1 and "Alerts resolved" in notes[0]
        assert len([i for i in github.issues.values() if "alert" in i.labels]) == 1


@contextlib.asynccontextmanager
async def serving(app: Any) -> AsyncIterator[str]:
    """The app under uvicorn on a loopback port, in this event loop; its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="off", ws="none")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        deadline = time.monotonic() + 10
        while not server.started:  # bounded: uvicorn binds within milliseconds
            assert not task.done() and time.monotonic() < deadline, "uvicorn did not start"
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)
        sock.close()
