"""`incident-app tick`: every open incident reconciled once, as POST /cron/tick does."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from app.cli import common

if TYPE_CHECKING:
    from contextlib import AbstractAsyncContextManager

    from app.core.keys import IssueKey
    from app.runtime.cluster import Cluster
    from app.runtime.reconcile import Reconciler
    from app.runtime.tally import TickReport


def cmd_tick(args: argparse.Namespace) -> int:
    return asyncio.run(tick(args))


async def tick(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from app.github.client import AppClients
    from app.runtime.cluster import Busy
    from app.runtime.reconcile import Reconciler
    from app.runtime.tick import Ticker

    settings = common.settings()
    common.configure_logs(settings)
    if not settings.has_credentials:
        print("error: the tick needs APP_ID and PRIVATE_KEY (or PRIVATE_KEY_PATH)", file=sys.stderr)
        return 2
    cluster = _cluster(settings)
    factory = AppClients(settings, slots=cluster, guard=cluster.guard if cluster else None)
    # The tick's escalations page people too: the same notifiers as the server's, drained
    # before the process ends.
    sink, notifications = common.notifications(settings, dry_run=args.dry_run, cluster=cluster)
    reconciler = Reconciler.from_settings(
        settings, clients=factory.installation, now=lambda: datetime.now(UTC), notifications=sink
    )
    ticker = Ticker(
        app=factory.app,
        clients=factory.installation,
        reconciler=reconciler,
        exclusive=_exclusive(cluster),
        shared=cluster.tick if cluster else None,
    )
    try:
        report = await ticker.run(dry_run=args.dry_run)
        if notifications is not None and not args.dry_run:
            await notifications.sweep(datetime.now(UTC))
    except Busy:
        print("error: another replica's tick is running", file=sys.stderr)
        return 3
    finally:
        await common.sent(notifications)
        if cluster is not None:
            await cluster.close()
    _print_runs(report, reconciler, dry_run=args.dry_run)
    print(json.dumps(report.as_json(), indent=2))
    return 1 if report.errors else 0


def _cluster(settings: Any) -> Cluster | None:
    """With REDIS_URL the tick takes the replicas' shared tick lock and issue locks, and
    paces writes with them, as the server's does."""
    from app.runtime.cluster import Cluster

    if settings.redis_url is None:
        return None
    return Cluster.from_url(
        settings.redis_url.get_secret_value(), lock_ttl=settings.lock_ttl_seconds
    )


def _exclusive(
    cluster: Cluster | None,
) -> Callable[[IssueKey], AbstractAsyncContextManager[None]]:
    """An issue's lock across replicas, or nothing to wait for without a cluster."""

    @contextlib.asynccontextmanager
    async def exclusive(key: IssueKey) -> AsyncIterator[None]:
        if cluster is None:
            yield
            return
        async with cluster.issue(key):
            yield

    return exclusive


def _print_runs(report: TickReport, reconciler: Reconciler, *, dry_run: bool) -> None:
    """The requests each run made (or would), one line each."""
    verb = "would make" if dry_run else "made"
    for run in report.runs:
        if run.planned:
            print(f"{run.key}: {verb} {len(run.planned)} request(s)")
            for line in reconciler.describe(run.key, run.planned):
                print("  " + line.replace("\n", "\\n")[:300])
