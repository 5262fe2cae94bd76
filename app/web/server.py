"""The web process: webhook endpoint, health, and the app factory that wires everything."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from app import __version__
from app.core.keys import Hints, IssueKey
from app.core.notify import Sink
from app.github.client import AppClients
from app.github.offline import OfflineGitHub
from app.github.port import GitHubPort
from app.notify.dispatch import Notifications, SharedLedger
from app.runtime.alerts import AlertWork, Installations
from app.runtime.cluster import TAKEN_OVER, Busy, Cluster, LockLost
from app.runtime.reconcile import Reconciler
from app.runtime.redeliver import Redeliverer
from app.runtime.tick import Ticker
from app.runtime.work import IssueQueue
from app.settings import Settings
from app.web.alerts import alert_routes
from app.web.ingest import WebhookEndpoint
from app.web.metrics import CONTENT_TYPE_LATEST, Metrics
from app.web.onboarding import CALLBACK_PATH, Setup, status_page

log = logging.getLogger(__name__)


def utcnow() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


@dataclass
class Services:
    """What one process runs, wired from the settings (the factory's first half)."""

    settings: Settings
    now: Callable[[], datetime]
    metrics: Metrics
    cluster: Cluster | None
    clients: Callable[[int], GitHubPort]
    app_client: Callable[[], GitHubPort] | None
    notifications: Sink | None
    reconciler: Reconciler
    queue: IssueQueue
    redeliverer: Redeliverer | None
    ticker: Ticker | None
    alert_work: AlertWork | None
    installations: Installations | None
    setup: Setup | None

    @property
    def sender(self) -> Notifications | None:
        """The operator's notifiers as this process sends them (not a test's recording sink)."""
        return self.notifications if isinstance(self.notifications, Notifications) else None


def _github(
    settings: Settings,
    *,
    transport: httpx.AsyncBaseTransport | None,
    sleep: Callable[[float], Awaitable[None]],
    metrics: Metrics,
    cluster: Cluster | None,
) -> tuple[Callable[[int], GitHubPort], Callable[[], GitHubPort] | None]:
    """(installation clients, the App's own client); offline without credentials."""
    if not settings.has_credentials:
        offline = OfflineGitHub()
        return (lambda _id: offline), None
    factory = AppClients(
        settings,
        transport=transport,
        sleep=sleep,
        observer=metrics.observe_github,
        slots=cluster,
        guard=cluster.guard if cluster else None,
    )
    return factory.installation, factory.app


def _notifications(
    settings: Settings,
    *,
    cluster: Cluster | None,
    metrics: Metrics,
    sleep: Callable[[float], Awaitable[None]],
) -> Notifications | None:
    """The operator's notifiers (NOTIFIERS_FILE). An unusable file stops start-up
    (OperatorError, every problem located): better than paging nobody in silence."""
    if settings.notifiers_file is None:
        return None
    return Notifications.from_settings(
        settings,
        ledger=SharedLedger(cluster.once) if cluster is not None else None,
        on_result=lambda name, kind, result: metrics.notifications.labels(name, kind, result).inc(),
        sleep=sleep,
    )


def _runner(
    reconciler: Reconciler, cluster: Cluster | None, metrics: Metrics
) -> Callable[[IssueKey, Hints], Awaitable[object]]:
    """The issue queue's work: claim the deliveries (with Redis), reconcile, count."""

    async def run(key: IssueKey, hints: Hints) -> object:
        fresh = list(hints.delivery_ids)
        if cluster is not None and fresh:
            # In the worker, under the issue's lock: the HTTP answer never waits for Redis.
            try:
                fresh = await cluster.claim(key, hints.delivery_ids)
            except LockLost:
                log.warning("%s: lock taken over before the work began: left to its holder", key)
                return None
            if not fresh:
                log.info("%s: deliveries already taken on by a replica", key)
                return None
        report = await reconciler.run(key, hints)
        metrics.count_actions(report.outcome.counts())
        if cluster is not None and report.error and TAKEN_OVER not in report.error:
            await cluster.forget(key, fresh)  # so a retry of the same delivery runs
        return report

    return run


def _alert_work(
    settings: Settings,
    clients: Callable[[int], GitHubPort],
    reconciler: Reconciler,
    queue: IssueQueue,
    cluster: Cluster | None,
    metrics: Metrics,
    *,
    now: Callable[[], datetime],
    sleep: Callable[[float], Awaitable[None]],
) -> AlertWork:
    """Alert notifications after the answer (ALERTS_TOKEN), under the repository's Redis
    lock in cluster mode."""
    return AlertWork(
        clients=clients,
        config=reconciler.config,
        app_id=settings.app_id,
        now=now,
        submit=queue.submit,
        shared=(lambda key: cluster.lock(cluster.issue_key(key) + ":alerts"))
        if cluster is not None
        else None,
        delay=settings.coalesce_seconds,
        on_result=lambda source, result: metrics.alerts.labels(source, result).inc(),
        sleep=sleep,
    )


def _ticker(
    app_client: Callable[[], GitHubPort] | None,
    clients: Callable[[int], GitHubPort],
    reconciler: Reconciler,
    queue: IssueQueue,
    cluster: Cluster | None,
    redeliverer: Redeliverer | None,
) -> Ticker | None:
    """The tick, when there is an App client to list the installations with."""
    if app_client is None:
        return None
    return Ticker(
        app=app_client,
        clients=clients,
        reconciler=reconciler,
        exclusive=queue.exclusive,
        redeliverer=redeliverer,
        shared=cluster.tick if cluster else None,
    )


def wire(
    settings: Settings,
    *,
    transport: httpx.AsyncBaseTransport | None,
    now: Callable[[], datetime],
    clients: Callable[[int], GitHubPort] | None,
    sleep: Callable[[float], Awaitable[None]],
    cluster: Cluster | None,
    notifications: Sink | None,
) -> Services:
    """Every part of the process, built once from the settings."""
    metrics = Metrics()
    if cluster is None and settings.redis_url is not None:
        cluster = Cluster.from_url(
            settings.redis_url.get_secret_value(), lock_ttl=settings.lock_ttl_seconds
        )
    app_client: Callable[[], GitHubPort] | None = None
    if clients is None:
        clients, app_client = _github(
            settings, transport=transport, sleep=sleep, metrics=metrics, cluster=cluster
        )
    if notifications is None:
        notifications = _notifications(settings, cluster=cluster, metrics=metrics, sleep=sleep)
    reconciler = Reconciler.from_settings(
        settings, clients=clients, now=now, notifications=notifications
    )
    queue = IssueQueue(
        _runner(reconciler, cluster, metrics),
        delay=settings.coalesce_seconds,
        shared=cluster.issue if cluster else None,
    )
    redeliverer = Redeliverer(app=app_client, now=now) if app_client is not None else None
    ticker = _ticker(app_client, clients, reconciler, queue, cluster, redeliverer)
    alert_work = (
        _alert_work(settings, clients, reconciler, queue, cluster, metrics, now=now, sleep=sleep)
        if settings.alerts_token
        and settings.alerts_token.get_secret_value()
        and app_client is not None
        else None
    )
    return Services(
        settings=settings,
        now=now,
        metrics=metrics,
        cluster=cluster,
        clients=clients,
        app_client=app_client,
        notifications=notifications,
        reconciler=reconciler,
        queue=queue,
        redeliverer=redeliverer,
        ticker=ticker,
        alert_work=alert_work,
        installations=Installations(app_client) if app_client is not None else None,
        setup=None if settings.has_credentials else Setup(settings, transport=transport, now=now),
    )


class Pages:
    """The endpoints beside the webhook: the tick, /metrics, /healthz and the status page."""

    def __init__(self, services: Services) -> None:
        self.s = services
        settings = services.settings
        self._cron_secret = settings.cron_secret.get_secret_value() if settings.cron_secret else ""
        self._metrics_token = (
            settings.metrics_token.get_secret_value() if settings.metrics_token else ""
        )

    async def tick(self, request: Request) -> Response:
        s = self.s
        given = request.headers.get("authorization", "")
        expected = f"Bearer {self._cron_secret}"
        if not hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode()):
            return _error(401, "missing or wrong Authorization: Bearer $CRON_SECRET")
        if s.ticker is None:
            return _error(503, "no GitHub App credentials: nothing to reconcile")
        if s.ticker.busy:
            return _error(409, "a tick is already running")
        started = time.monotonic()
        try:
            report = await s.ticker.run(dry_run=request.query_params.get("dry_run") == "1")
        except Busy:
            return _error(409, "a tick is already running (on another replica)")
        s.metrics.tick_duration.observe(time.monotonic() - started)
        s.metrics.ticks.labels("errors" if report.errors else "ok").inc()
        s.metrics.count_actions(report.actions)
        if not report.dry_run:
            s.metrics.set_open_incidents(report.severities)
            if s.sender is not None:
                # Slack channels of incidents resolved long enough ago are archived.
                await s.sender.sweep(s.now())
        request.app.state.last_tick_at = s.now()
        body = report.as_json()
        body["seconds"] = round(time.monotonic() - started, 3)
        log.info("tick: %s", {k: v for k, v in body.items() if k != "planned"})
        return JSONResponse(body)

    def unauthorized(self, request: Request) -> Response | None:
        """With METRICS_TOKEN set, what this process knows is for its bearer only: /metrics
        and the status page. (Unset, both are open; the Security page says what they
        show.)"""
        if not self._metrics_token:
            return None
        given = request.headers.get("authorization", "").encode("utf-8", "replace")
        if hmac.compare_digest(given, f"Bearer {self._metrics_token}".encode()):
            return None
        return JSONResponse(
            {"error": "missing or wrong Authorization: Bearer $METRICS_TOKEN"},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )

    async def metrics_page(self, request: Request) -> Response:
        if refused := self.unauthorized(request):
            return refused
        return Response(self.s.metrics.render(), media_type=CONTENT_TYPE_LATEST)

    async def healthz(self, request: Request) -> Response:
        # Redis away is no reason to restart the process: it works on per process meanwhile.
        if self.s.cluster is not None and not await self.s.cluster.ping():
            return PlainTextResponse("degraded: redis unreachable")
        return PlainTextResponse("ok")

    async def index(self, request: Request) -> Response:
        s = self.s
        if s.setup is not None:
            return await s.setup.form(request)
        if refused := self.unauthorized(request):
            return refused
        state = request.app.state
        if "application/json" not in request.headers.get("accept", ""):
            return status_page(
                s.settings,
                deliveries=state.deliveries,
                last_delivery_at=state.last_delivery_at,
                last_tick_at=state.last_tick_at,
            )
        body: dict[str, Any] = {
            "app": s.settings.app_name or "incident-app",
            "version": __version__,
            "queued_issues": s.queue.busy,
            "deliveries": state.deliveries,
            "last_delivery_at": _iso(state.last_delivery_at),
            "last_tick_at": _iso(state.last_tick_at),
        }
        if s.sender is not None:  # NOTIFIERS_FILE: names, kinds, counts, recent failures
            body["notifications"] = s.sender.status()
        if s.alert_work is not None:  # ALERTS_TOKEN: what the last notifications did
            body["alerts"] = [
                {"repo": r.repo, "group": r.group, "did": r.why, "issue": r.number}
                | ({"error": r.error} if r.error else {})
                for r in s.alert_work.reports[-10:]
            ]
        return JSONResponse(body)

    def routes(self) -> list[Route]:
        s = self.s
        alerts_token = s.settings.alerts_token
        return [
            Route("/healthz", self.healthz, methods=["GET"]),
            Route("/metrics", self.metrics_page, methods=["GET"]),
            # Without CRON_SECRET the tick endpoint does not exist at all.
            *([Route("/cron/tick", self.tick, methods=["POST"])] if self._cron_secret else []),
            Route("/", self.index, methods=["GET"]),
            # Without ALERTS_TOKEN the alert endpoints do not exist at all.
            *alert_routes(
                token=alerts_token.get_secret_value() if alerts_token else "",
                work=s.alert_work,
                installations=s.installations,
                refused=lambda source, status: s.metrics.alerts.labels(source, status).inc(),
            ),
            # Setup mode only: once the App has credentials these routes do not exist.
            *([Route(CALLBACK_PATH, s.setup.callback, methods=["GET"])] if s.setup else []),
        ]


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
