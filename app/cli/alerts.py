"""`incident-app alert` (one alert notification through the app) and `alert-token`."""

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
    from app.core.alerts import AlertGroup
    from app.core.keys import Hints, IssueKey
    from app.github.port import GitHubPort
    from app.runtime.alerts import AlertReport


def cmd_alert(args: argparse.Namespace) -> int:
    return asyncio.run(alert(args))


async def alert(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from app.core import alerts
    from app.github.config import ConfigLoader
    from app.runtime.alerts import AlertWork, Target

    try:
        group = alerts.parse(args.source, json.loads(Path(args.payload).read_text()))
    except (OSError, ValueError) as exc:  # BadPayload is a ValueError
        print(f"error: {args.payload}: {exc}", file=sys.stderr)
        return 2
    owner, _, repo = args.repo.partition("/")
    settings = common.settings()
    common.configure_logs(settings)
    dry_run = args.dry_run or not settings.has_credentials
    found = await _clients(settings, args.repo, owner, repo)
    if found is None:
        return 1
    clients, installation = found
    opened: list[tuple[IssueKey, Hints]] = []
    sink, notifications = common.notifications(settings, dry_run=dry_run)
    work = AlertWork(
        clients=clients,
        config=ConfigLoader(notifiers=sink.names() if sink is not None else frozenset()),
        app_id=settings.app_id,
        now=lambda: datetime.now(UTC),
        submit=lambda key, hints: opened.append((key, hints)),
    )
    report = await work.handle(Target(installation, owner, repo), group, dry_run=dry_run)
    if report.error:
        await common.sent(notifications)
        print(f"error: {report.error}", file=sys.stderr)
        return 1
    _print_decision(args.repo, group, report, dry_run=dry_run)
    # The new incident is declared now rather than when GitHub's delivery reaches a server.
    await _declare(settings, clients, opened, sink, notifications)
    return 0


async def _clients(
    settings: Any, full_name: str, owner: str, repo: str
) -> tuple[Callable[[int], GitHubPort], int] | None:
    """The installation clients and the repository's installation, or without credentials
    a GitHub with no alert issues; None (said on stderr) when the app is not installed."""
    from app.github.client import AppClients
    from app.github.offline import OfflineGitHub
    from app.runtime.alerts import Installations

    if settings.has_credentials:
        factory = AppClients(settings)
        found = await Installations(factory.app).find(owner, repo)
        if found is None:
            print(f"error: the app is not installed on {full_name}", file=sys.stderr)
            return None
        return factory.installation, found
    offline = OfflineGitHub()
    print(f"No credentials: dry run, as if {full_name} had no alert issues yet.")
    return (lambda _id: offline), 0


def _print_decision(repo: str, group: AlertGroup, report: AlertReport, *, dry_run: bool) -> None:
    """What the notification decided, and the requests it made (or would)."""
    from app.github.executor import to_call

    verb = "would make" if dry_run else "made"
    where = f" on #{report.number}" if report.number else ""
    print(f"{group.source} group {group.group} ({group.status}): {report.why}{where}")
    print(f"{repo}: {verb} {len(report.planned)} GitHub request(s)")
    for action in report.planned:
        call = to_call(repo, report.number or 0, action).describe()
        print("  " + call.replace("\n", "\\n")[:2000])


async def _declare(
    settings: Any,
    clients: Callable[[int], GitHubPort],
    opened: list[tuple[IssueKey, Hints]],
    sink: Any,
    notifications: Any,
) -> None:
    """Each incident issue the notification opened, declared through the reconciler."""
    from datetime import UTC, datetime

    from app.runtime.reconcile import Reconciler

    reconciler = Reconciler.from_settings(
        settings, clients=clients, now=lambda: datetime.now(UTC), notifications=sink
    )
    try:
        for key, hints in opened:
            declared = await reconciler.run(key, hints)
            print(f"{key}: declared with {len(declared.outcome.done)} request(s)")
    finally:
        await common.sent(notifications)


def cmd_alert_token(args: argparse.Namespace) -> int:
    from app.core.alerts import owner_token
    from app.web.alerts import valid_owner

    if not valid_owner(args.owner):
        print(
            f"error: {args.owner[:60]!r} is not a GitHub user or organisation name", file=sys.stderr
        )
        return 2
    settings = common.settings_or_exit()
    if settings.alerts_token is None or not settings.alerts_token.get_secret_value():
        print(
            "error: ALERTS_TOKEN is not set: the owner's token is derived from it", file=sys.stderr
        )
        return 2
    print(owner_token(settings.alerts_token.get_secret_value(), args.owner))
    return 0
