"""The web process: the app factory that wires everything, its lifespan and shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

import httpx
from starlette.applications import Starlette

from app.core.notify import Sink
from app.github.port import GitHubPort
from app.runtime.cluster import Cluster
from app.settings import Settings
from app.web.ingest import WebhookEndpoint
from app.web.pages import Pages
from app.web.services import Services, wire

log = logging.getLogger(__name__)


def utcnow() -> datetime:
    return datetime.now(UTC)


def _lifespan(s: Services) -> Callable[[Starlette], contextlib.AbstractAsyncContextManager[None]]:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # On start-up, ask GitHub again for what failed while we were away (in the background).
        redeliverer = s.redeliverer
        startup = asyncio.create_task(redeliverer.run()) if redeliverer is not None else None
        yield
        if startup is not None and not startup.done():
            startup.cancel()
        await _shut_down(s)

    return lifespan


async def _shut_down(s: Services) -> None:
    """One grace period in all: alerts a quarter, issues half, what they told a quarter."""
    grace = s.settings.shutdown_grace_seconds
    sender = s.sender
    if s.alert_work is not None:
        await s.alert_work.close(timeout=grace / 4)
    abandoned = await s.queue.close(timeout=grace / 2 if sender or s.alert_work else grace)
    if abandoned:
        log.warning("abandoned work for %d issues; the next tick heals it", abandoned)
    if sender is not None:
        # What the last work told is sent within the grace period, then let go.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(sender.drain(), grace / 4)
        await sender.aclose()
    if s.cluster is not None:
        await s.cluster.close()
    log.info("shut down cleanly")


def create_app(
    settings: Settings | None = None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    now: Callable[[], datetime] = utcnow,
    clients: Callable[[int], GitHubPort] | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    cluster: Cluster | None = None,
    notifications: Sink | None = None,
) -> WebhookEndpoint:
    """Build the ASGI app; settings are read here, never at import.

    With REDIS_URL (or a `cluster` given) replicas share issue locks, delivery GUIDs, write
    pacing and the tick (app/runtime/cluster.py); without, nothing changes.

    The answer is the webhook endpoint in front of the Starlette app for everything else;
    `.state` is the Starlette app's (queue, reconciler, ticker, metrics).
    """
    settings = settings or Settings()
    s = wire(
        settings,
        transport=transport,
        now=now,
        clients=clients,
        sleep=sleep,
        cluster=cluster,
        notifications=notifications,
    )
    app = Starlette(routes=Pages(s).routes(), lifespan=_lifespan(s))
    app.state.settings = settings
    app.state.queue = s.queue
    app.state.reconciler = s.reconciler
    app.state.ticker = s.ticker
    app.state.cluster = s.cluster
    app.state.alerts = s.alert_work
    app.state.notifications = s.notifications
    app.state.metrics = s.metrics
    app.state.setup = s.setup
    app.state.deliveries = 0
    app.state.last_delivery_at = None
    app.state.last_tick_at = None

    def seen() -> None:
        app.state.deliveries += 1
        app.state.last_delivery_at = now()

    secret = settings.webhook_secret.get_secret_value().encode() if settings.webhook_secret else b""
    # The webhook path bypasses the framework: every delivery of every repository comes here.
    return WebhookEndpoint(
        app,
        path=settings.webhook_path,
        secret=secret,
        submit=(lambda job: s.queue.submit(job.key, job.hints))
        if settings.has_credentials
        else None,
        metrics=s.metrics,
        seen=seen,
    )
