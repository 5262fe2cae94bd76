"""A real Alertmanager process for tests (Debian's prometheus-alertmanager).

It runs the shipped deploy/prometheus/alertmanager.yml with three things swapped: every
webhook URL becomes the test's, the bearer token file becomes one holding the test's token,
and the route's timers become the test's (1s by default, Alertmanager's own timers: the test
waits for deliveries, never for time). Clustering is off and everything it writes stays in
the given folder. On leaving the context the process is stopped (SIGTERM, then SIGKILL after
five seconds), whatever happened inside.

    async with running_alertmanager(receiver_url, "token", workdir=tmp_path) as am:
        await am.post_alerts([{"labels": {"alertname": "HighErrorRate"}}])
        ...  # await what your receiver got
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

BINARY = Path("/usr/bin/prometheus-alertmanager")
SHIPPED_CONFIG = (
    Path(__file__).resolve().parent.parent / "deploy" / "prometheus" / "alertmanager.yml"
)
READY_TIMEOUT = 20.0  # seconds for /-/ready to answer 200 before the test fails
STOP_TIMEOUT = 5.0  # seconds SIGTERM gets before SIGKILL


@dataclass
class Alertmanager:
    """A running Alertmanager: its address, its process and how long it took to be ready."""

    url: str  # http://127.0.0.1:<port>
    process: asyncio.subprocess.Process
    workdir: Path
    log: Path  # its stdout and stderr
    ready_after: float  # seconds from exec to /-/ready answering 200

    async def post_alerts(self, alerts: list[dict[str, Any]]) -> None:
        """POST /api/v2/alerts: each alert needs `labels`; `annotations`, `startsAt`,
        `endsAt` (in the past: resolved) and `generatorURL` are optional."""
        async with httpx.AsyncClient(timeout=5.0) as client:
            answer = await client.post(f"{self.url}/api/v2/alerts", json=alerts)
        assert answer.status_code == 200, f"{answer.status_code} {answer.text}\n{self.log_tail()}"

    def log_tail(self, lines: int = 30) -> str:
        """The end of Alertmanager's own log, for failure messages."""
        if not self.log.exists():
            return "(no log)"
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def config_for(
    webhook_url: str,
    token_file: Path,
    *,
    group_wait: str = "1s",
    group_interval: str = "1s",
    repeat_interval: str = "1h",
    base: Path = SHIPPED_CONFIG,
) -> dict[str, Any]:
    """`base` (the shipped config) with every webhook sent to `webhook_url`, bearer
    credentials read from `token_file`, and the route's timers replaced."""
    config: dict[str, Any] = yaml.safe_load(base.read_text())
    config["route"].update(
        group_wait=group_wait, group_interval=group_interval, repeat_interval=repeat_interval
    )
    webhooks = [w for r in config["receivers"] for w in r.get("webhook_configs", [])]
    assert webhooks, f"{base} has no webhook receiver"
    for webhook in webhooks:
        webhook["url"] = webhook_url
        webhook["http_config"]["authorization"]["credentials_file"] = str(token_file)
    return config


@contextlib.asynccontextmanager
async def running_alertmanager(
    webhook_url: str,
    token: str,
    *,
    workdir: Path,
    group_wait: str = "1s",
    group_interval: str = "1s",
    repeat_interval: str = "1h",
    base: Path = SHIPPED_CONFIG,
) -> AsyncIterator[Alertmanager]:
    """Start Alertmanager with config_for(...) in `workdir`, wait until it is ready, yield it,
    and stop it on the way out."""
    if not BINARY.exists():
        pytest.fail(
            f"{BINARY} is not installed: apt-get install prometheus-alertmanager (.ci/run does it)",
            pytrace=False,
        )
    workdir.mkdir(parents=True, exist_ok=True)
    token_file = workdir / "token"
    token_file.write_text(token + "\n")  # as an operator's editor leaves it
    token_file.chmod(0o600)
    config_file = workdir / "alertmanager.yml"
    config_file.write_text(
        yaml.safe_dump(
            config_for(
                webhook_url,
                token_file,
                group_wait=group_wait,
                group_interval=group_interval,
                repeat_interval=repeat_interval,
                base=base,
            )
        )
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = workdir / "alertmanager.log"
    began = time.monotonic()
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            str(BINARY),
            f"--config.file={config_file}",
            f"--storage.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            f"--web.external-url={url}",  # else the machine's host name, in every webhook
            "--cluster.listen-address=",  # no gossip, no peers to wait for
            "--log.level=debug",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
        )
    am = Alertmanager(url, process, workdir, log, ready_after=0.0)
    try:
        am.ready_after = await _ready(am, began)
        yield am
    finally:
        await _stop(process)


async def _ready(am: Alertmanager, began: float) -> float:
    """Poll /-/ready until it answers 200, the process dies, or READY_TIMEOUT passes."""
    deadline = began + READY_TIMEOUT
    async with httpx.AsyncClient(timeout=1.0) as client:
        while True:
            if am.process.returncode is not None:
                pytest.fail(
                    f"Alertmanager exited with {am.process.returncode}:\n{am.log_tail()}",
                    pytrace=False,
                )
            with contextlib.suppress(httpx.TransportError):
                if (await client.get(f"{am.url}/-/ready")).status_code == 200:
                    return time.monotonic() - began
            if time.monotonic() > deadline:
                pytest.fail(
                    f"Alertmanager not ready after {READY_TIMEOUT}s:\n{am.log_tail()}",
                    pytrace=False,
                )
            await asyncio.sleep(0.02)  # the poll's pace, not a wait for something to happen


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        return
    process.terminate()
    try:
        await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
    except TimeoutError:
        process.kill()
        await process.wait()
