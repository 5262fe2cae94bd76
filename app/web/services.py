"""Wiring one process: GitHub clients, notifiers, the queue, reconciler, tick and alert work,
built once from the settings."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from app.core.keys import Hints, IssueKey
from app.core.notify import Sink
from app.github.client import AppClients
from app.github.offline import OfflineGitHub
from app.github.port import GitHubPort
from app.notify.dispatch import Notifications
from app.notify.ledger import SharedLedger
from app.runtime.alerts import AlertWork, Installations
from app.runtime.cluster import TAKEN_OVER, Cluster, LockLost
from app.runtime.reconcile import Reconciler
from app.runtime.redeliver import Redeliverer
from app.runtime.tick import Ticker
from app.runtime.timing import Timing
from app.runtime.timing import wire as timing_wire
from app.runtime.work import IssueQueue
from app.settings import Settings
from app.web.metrics import Metrics
from app.web.onboarding import Setup

log = logging.getLogger(__name__)


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
    timing: Timing | None
    alert_work: AlertWork | None
    installations: Installations | None
    setup: Setup | None

    @property
    def sender(self) -> Notifications | None:
        """The operator's notifiers as this process sends them (not a test's recording sink)."""
        return self.notifications if isinstance(self.notifications, Notifications) else None


def utcnow() -> datetime:
    return datetime.now(UTC)


def _github(
    settings: Settings,
    *,
    transport: httpx.AsyncBaseTransport | None,
    sleep: Callable[[float], Awaitable[None]],
    metrics: Metrics,
    cluster: Cluster | None,
) -> tuple[Callable[[int], GitHubPort], Callable[[], GitHubPort] | None, Callable[[], datetime]]:
    """(installation clients, the App's own client, GitHub's time); offline without
    credentials (and the local clock)."""
    if not settings.has_credentials:
        offline = OfflineGitHub()
        return (lambda _id: offline), None, utcnow
    factory = AppClients(
        settings,
        transport=transport,
        sleep=sleep,
        observer=metrics.observe_github,
        slots=cluster,
        guard=cluster.guard if cluster else None,
    )
    return factory.installation, factory.app, factory.now


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


def _timing(
    settings: Settings,
    queue: IssueQueue,
    reconciler: Reconciler,
    clients: Callable[[int], GitHubPort],
    now: Callable[[], datetime],
    cluster: Cluster | None,
    ticker: Ticker | None,
    notifications: Sink | None,
    sleep: Callable[[float], Awaitable[None]],
) -> Timing | None:
    """The process's own clock (app/runtime/timing.py), when it has GitHub credentials."""
    if not settings.has_credentials:
        return None
    return timing_wire(
        queue=queue,
        reconciler=reconciler,
        clients=clients,
        now=now,
        cluster=cluster,
        ticker=ticker,
        sender=notifications if isinstance(notifications, Notifications) else None,
        sleep=sleep,
        sweep_every=settings.sweep_minutes,
    )


def wire(
    settings: Settings,
    *,
    transport: httpx.AsyncBaseTransport | None,
    now: Callable[[], datetime] | None,
    clients: Callable[[int], GitHubPort] | None,
    sleep: Callable[[float], Awaitable[None]],
    cluster: Cluster | None,
    notifications: Sink | None,
) -> Services:
    """Every part of the process, built once from the settings. `now` by default is
    GitHub's time (the local clock corrected by GitHub's `Date` header)."""
    metrics = Metrics()
    if cluster is None and settings.redis_url is not None:
        cluster = Cluster.from_url(
            settings.redis_url.get_secret_value(), lock_ttl=settings.lock_ttl_seconds
        )
    app_client: Callable[[], GitHubPort] | None = None
    github_now: Callable[[], datetime] = utcnow
    if clients is None:
        clients, app_client, github_now = _github(
            settings, transport=transport, sleep=sleep, metrics=metrics, cluster=cluster
        )
    now = now or github_now
    if notifications is None:
        notifications = _notifications(settings, cluster=cluster, metrics=metrics, sleep=sleep)
    reconciler = Reconciler.from_settings(
        settings,
        clients=clients,
        now=now,
        notifications=notifications,
        site_lock=cluster.site if cluster else None,
    )
    queue = IssueQueue(
        _runner(reconciler, cluster, metrics),
        delay=settings.coalesce_seconds,
        shared=cluster.issue if cluster else None,
    )
    redeliverer = Redeliverer(app=app_client, now=now) if app_client is not None else None
    ticker = _ticker(app_client, clients, reconciler, queue, cluster, redeliverer)
    timing = _timing(
        settings, queue, reconciler, clients, now, cluster, ticker, notifications, sleep
    )
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
        timing=timing,
        alert_work=alert_work,
        installations=Installations(app_client) if app_client is not None else None,
        setup=None if settings.has_credentials else Setup(settings, transport=transport, now=now),
    )
