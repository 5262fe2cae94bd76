"""`incident-app receive`: one recorded webhook delivery through the server's path."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.cli import common

if TYPE_CHECKING:
    from app.github.port import GitHubPort


def cmd_receive(args: argparse.Namespace) -> int:
    return asyncio.run(receive(args))


async def receive(args: argparse.Namespace) -> int:
    from app.runtime.reconcile import Reconciler
    from app.web.webhooks import Job, router

    try:
        payload = json.loads(Path(args.payload).read_text())
    except (OSError, ValueError) as exc:
        print(f"error: cannot read {args.payload}: {exc}", file=sys.stderr)
        return 2
    settings = common.settings()
    common.configure_logs(settings)
    dry_run = args.dry_run or not settings.has_credentials
    if args.now is None and not settings.has_credentials:
        args.now = "payload"
    clients = _clients(settings, payload)
    found = router.route(args.event, payload, "local")
    if not isinstance(found, Job):
        print(f"Nothing to do: {found}.")
        return 0
    now = receive_time(args.now, payload)
    sink, notifications = common.notifications(settings, dry_run=dry_run)
    reconciler = Reconciler.from_settings(
        settings, clients=clients, now=lambda: now, notifications=sink
    )
    try:
        report = await reconciler.run(found.key, found.hints, dry_run=dry_run)
    finally:
        await common.sent(notifications)
    if report.error:
        print(f"error: {report.error}", file=sys.stderr)
        return 1
    verb = "would make" if dry_run else "made"
    calls = reconciler.describe(found.key, report.planned)
    print(f"{found.key}: {verb} {len(calls)} GitHub request(s)")
    for line in calls:
        print("  " + line.replace("\n", "\\n"))
    return 0


def _clients(settings: Any, payload: dict[str, Any]) -> Callable[[int], GitHubPort]:
    """The App's installation clients, or without credentials the delivery alone."""
    from app.github.client import AppClients
    from app.github.offline import OfflineGitHub

    if settings.has_credentials:
        return AppClients(settings).installation
    offline = OfflineGitHub(payload)
    print(
        "No credentials (APP_ID, PRIVATE_KEY): dry run on the delivery alone, "
        "with the bundled config."
    )
    return lambda _id: offline


def receive_time(option: str | None, payload: dict[str, Any]) -> Any:
    """`--now`: an ISO time, `payload` (when GitHub made the delivery), or the real time."""
    from datetime import UTC, datetime

    from app.core.snapshot import ts

    if option == "payload":
        issue = payload.get("issue") or {}
        comment = payload.get("comment") or {}
        made = comment.get("created_at") or issue.get("updated_at") or issue.get("created_at")
        if made:
            return ts(made)
    elif option:
        return ts(option)
    return datetime.now(UTC)
