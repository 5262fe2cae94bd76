"""The web process: webhook endpoint, health, and the app factory that wires everything."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
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
from app.web.webhooks import Job

log = logging.getLogger(__name__)


def utcnow() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


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
    metrics = Metrics()
    if cluster is None and settings.redis_url is not None:
        cluster = Cluster.from_url(
            settings.redis_url.get_secret_value(), lock_ttl=settings.lock_ttl_seconds
        )
    app_client: Callable[[], GitHubPort] | None = None
    if clients is None:
        if settings.has_credentials:
            factory = AppClients(
                settings,
                transport=transport,
                sleep=sleep,
                observer=metrics.observe_github,
                slots=cluster,
                guard=cluster.guard if cluster else None,
            )
            clients, app_client = factory.installation, factory.app
        else:
            offline = OfflineGitHub()
            clients = lambda _id: offline  # noqa: E731
    if notifications is None and settings.notifiers_file is not None:
        # An unusable NOTIFIERS_FILE stops start-up (OperatorError, every problem located):
        # better than paging nobody in silence.
        notifications = Notifications.from_settings(
            settings,
            ledger=SharedLedger(cluster.once) if cluster is not None else None,
            on_result=lambda name, kind, result: metrics.notifications.labels(
                name, kind, result
            ).inc(),
            sleep=sleep,
        )
    sender = notifications if isinstance(notifications, Notifications) else None
    reconciler = Reconciler.from_settings(
        settings, clients=clients, now=now, notifications=notifications
    )

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

    queue = IssueQueue(
        run, delay=settings.coalesce_seconds, shared=cluster.issue if cluster else None
    )
    redeliverer = Redeliverer(app=app_client, now=now) if app_client is not None else None
    ticker = (
        Ticker(
            app=app_client,
            clients=clients,
            reconciler=reconciler,
            exclusive=queue.exclusive,
            redeliverer=redeliverer,
            shared=cluster.tick if cluster else None,
        )
        if app_client is not None
        else None
    )
    cron_secret = settings.cron_secret.get_secret_value() if settings.cron_secret else ""
    alerts_token = settings.alerts_token.get_secret_value() if settings.alerts_token else ""
    alert_work = (
        AlertWork(
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
        if alerts_token and app_client is not None
        else None
    )
    installations = Installations(app_client) if app_client is not None else None

    def submit(job: Job) -> bool:
        return queue.submit(job.key, job.hints)

    def seen() -> None:
        app.state.deliveries += 1
        app.state.last_delivery_at = now()

    secret = settings.webhook_secret.get_secret_value().encode() if settings.webhook_secret else b""

    async def tick(request: Request) -> Response:
        given = request.headers.get("authorization", "")
        expected = f"Bearer {cron_secret}"
        if not hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode()):
            return _error(401, "missing or wrong Authorization: Bearer $CRON_SECRET")
        if ticker is None:
            return _error(503, "no GitHub App credentials: nothing to reconcile")
        if ticker.busy:
            return _error(409, "a tick is already running")
        started = time.monotonic()
        try:
            report = await ticker.run(dry_run=request.query_params.get("dry_run") == "1")
        except Busy:
            return _error(409, "a tick is already running (on another replica)")
        metrics.tick_duration.observe(time.monotonic() - started)
        metrics.ticks.labels("errors" if report.errors else "ok").inc()
        metrics.count_actions(report.actions)
        if not report.dry_run:
            metrics.set_open_incidents(report.severities)
            if sender is not None:
                # Slack channels of incidents resolved long enough ago are archived.
                await sender.sweep(now())
        request.app.state.last_tick_at = now()
        body = report.as_json()
        body["seconds"] = round(time.monotonic() - started, 3)
        log.info("tick: %s", {k: v for k, v in body.items() if k != "planned"})
        return JSONResponse(body)

    metrics_token = settings.metrics_token.get_secret_value() if settings.metrics_token else ""

    def unauthorized(request: Request) -> Response | None:
        """With METRICS_TOKEN set, what this process knows is for its bearer only: /metrics
        and the status page. (Unset, both are open; README's Security section says what
        they show.)"""
        if not metrics_token:
            return None
        given = request.headers.get("authorization", "").encode("utf-8", "replace")
        if hmac.compare_digest(given, f"Bearer {metrics_token}".encode()):
            return None
        return JSONResponse(
            {"error": "missing or wrong Authorization: Bearer $METRICS_TOKEN"},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )

    async def metrics_page(request: Request) -> Response:
        if refused := unauthorized(request):
            return refused
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    async def healthz(request: Request) -> Response:
        # Redis away is no reason to restart the process: it works on per process meanwhile.
        if cluster is not None and not await cluster.ping():
            return PlainTextResponse("degraded: redis unreachable")
        return PlainTextResponse("ok")

    setup = None if settings.has_credentials else Setup(settings, transport=transport, now=now)

    async def index(request: Request) -> Response:
        if setup is not None:
            return await setup.form(request)
        if refused := unauthorized(request):
            return refused
        state = request.app.state
        if "application/json" in request.headers.get("accept", ""):
            body: dict[str, Any] = {
                "app": settings.app_name or "incident-app",
                "version": __version__,
                "queued_issues": queue.busy,
                "deliveries": state.deliveries,
                "last_delivery_at": _iso(state.last_delivery_at),
                "last_tick_at": _iso(state.last_tick_at),
            }
            if sender is not None:  # NOTIFIERS_FILE: names, kinds, counts, recent failures
                body["notifications"] = sender.status()
            if alert_work is not None:  # ALERTS_TOKEN: what the last notifications did
                body["alerts"] = [
                    {"repo": r.repo, "group": r.group, "did": r.why, "issue": r.number}
                    | ({"error": r.error} if r.error else {})
                    for r in alert_work.reports[-10:]
                ]
            return JSONResponse(body)
        return status_page(
            settings,
            deliveries=state.deliveries,
            last_delivery_at=state.last_delivery_at,
            last_tick_at=state.last_tick_at,
        )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # On start-up, ask GitHub again for what failed while we were away (in the background).
        startup = asyncio.create_task(redeliverer.run()) if redeliverer is not None else None
        yield
        if startup is not None and not startup.done():
            startup.cancel()
        # One grace period in all: alerts a quarter, issues half, what they told a quarter.
        grace = settings.shutdown_grace_seconds
        if alert_work is not None:
            await alert_work.close(timeout=grace / 4)
        abandoned = await queue.close(timeout=grace / 2 if sender or alert_work else grace)
        if abandoned:
            log.warning("abandoned work for %d issues; the next tick heals it", abandoned)
        if sender is not None:
            # What the last work told is sent within the grace period, then let go.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(sender.drain(), grace / 4)
            await sender.aclose()
        if cluster is not None:
            await cluster.close()
        log.info("shut down cleanly")

    app = Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", metrics_page, methods=["GET"]),
            # Without CRON_SECRET the tick endpoint does not exist at all.
            *([Route("/cron/tick", tick, methods=["POST"])] if cron_secret else []),
            Route("/", index, methods=["GET"]),
            # Without ALERTS_TOKEN the alert endpoints do not exist at all.
            *alert_routes(
                token=alerts_token,
                work=alert_work,
                installations=installations,
                refused=lambda source, status: metrics.alerts.labels(source, status).inc(),
            ),
            # Setup mode only: once the App has credentials these routes do not exist.
            *([Route(CALLBACK_PATH, setup.callback, methods=["GET"])] if setup else []),
        ],
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.queue = queue
    app.state.reconciler = reconciler
    app.state.ticker = ticker
    app.state.cluster = cluster
    app.state.alerts = alert_work
    app.state.notifications = notifications
    app.state.metrics = metrics
    app.state.setup = setup
    app.state.deliveries = 0
    app.state.last_delivery_at = None
    app.state.last_tick_at = None
    # The webhook path bypasses the framework: every delivery of every repository comes here.
    return WebhookEndpoint(
        app,
        path=settings.webhook_path,
        secret=secret,
        submit=submit if settings.has_credentials else None,
        metrics=metrics,
        seen=seen,
    )
