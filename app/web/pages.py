"""The endpoints beside the webhook: the tick, /metrics, /healthz and the status page."""

from __future__ import annotations

import hmac
import logging
import time
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from app import __version__
from app.runtime.cluster import Busy
from app.settings import Settings
from app.web.alerts import alert_routes
from app.web.layout import escape, page
from app.web.manifest import CALLBACK_PATH, DEFAULT_NAME
from app.web.metrics import CONTENT_TYPE_LATEST
from app.web.oncall import oncall_routes
from app.web.services import Services

log = logging.getLogger(__name__)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


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
            # Without ONCALL_FEED_SECRET the on-call feeds do not exist at all.
            *oncall_routes(s),
            # Setup mode only: once the App has credentials these routes do not exist.
            *([Route(CALLBACK_PATH, s.setup.callback, methods=["GET"])] if s.setup else []),
        ]


def status_page(
    settings: Settings,
    *,
    deliveries: int,
    last_delivery_at: datetime | None,
    last_tick_at: datetime | None,
) -> HTMLResponse:
    """GET / once configured: what this process knows, without asking GitHub."""
    name = settings.app_name or DEFAULT_NAME

    def when(moment: datetime | None) -> str:
        if moment is None:
            return "none since start"
        return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")

    tick = "POST /cron/tick" if settings.cron_secret else "off (CRON_SECRET is not set)"
    body = f"""
<h1>{escape(name)}</h1>
<p>Running, with GitHub App credentials (App ID {escape(settings.app_id)}).</p>
<dl>
<dt>Version</dt><dd>{escape(__version__)}</dd>
<dt>Installations</dt><dd>unknown here: <code>incident-app doctor</code> lists them</dd>
<dt>Webhook deliveries received</dt><dd>{deliveries} since start</dd>
<dt>Last delivery</dt><dd>{escape(when(last_delivery_at))}</dd>
<dt>Last tick</dt><dd>{escape(when(last_tick_at))} — tick endpoint: {escape(tick)}</dd>
</dl>
"""
    return page(f"{name} status", body)
