"""`incident-app report`: the monthly incident review of a repository."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from app.cli import common

if TYPE_CHECKING:
    from app.core.policy import Policy
    from app.github.port import GitHubPort

# Where the review reads from: a GitHub (or a recording of one), the policy, the App's ID.
Source = tuple["GitHubPort", "Policy", "int | None"]


def cmd_report(args: argparse.Namespace) -> int:
    return asyncio.run(report(args))


def _month_start(day: date) -> datetime:
    return datetime(day.year, day.month, 1, tzinfo=UTC)


async def report(args: argparse.Namespace) -> int:
    import dataclasses

    from app.core import monthly
    from app.github.errors import GitHubError
    from app.runtime.report import build

    now = datetime.now(UTC)
    since, until = _period(args, now)
    source = _recorded(args) if args.offline else await _github(args)
    if isinstance(source, int):
        return source
    gh, policy, app_id = source
    try:
        review = await build(
            gh, repo=args.repo, policy=policy, since=since, until=until, now=now, app_id=app_id
        )
    except GitHubError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.format == "json":
        print(json.dumps(dataclasses.asdict(review), default=str, indent=2))
    else:
        print(monthly.render(review), end="")
    return 0


def _period(args: argparse.Namespace, now: datetime) -> tuple[datetime, datetime]:
    """`--since` and `--until`, by default last month."""
    this_month = _month_start(now.date())
    since = (
        datetime.combine(date.fromisoformat(args.since), time(), tzinfo=UTC)
        if args.since
        else _month_start((this_month - timedelta(days=1)).date())
    )
    until = (
        datetime.combine(date.fromisoformat(args.until), time(), tzinfo=UTC)
        if args.until
        else _month_start((since + timedelta(days=32)).date())
    )
    return since, until


def _recorded(args: argparse.Namespace) -> Source | int:
    """`--offline DIR`: the recording, its incident.yml (else the bundled policy), and
    `--app-id`; or the exit status after saying what is wrong."""
    from app.core.policy import ConfigError
    from app.github.config import bundled_policy, check_text
    from app.github.offline import RecordedGitHub

    policy = bundled_policy()
    folder = Path(args.offline)
    if not folder.is_dir():
        print(f"error: {folder} is not a folder of recorded issues", file=sys.stderr)
        return 2
    gh = RecordedGitHub(folder)
    config = folder / "incident.yml"
    if config.is_file():
        try:
            policy = check_text(config.read_text(encoding="utf-8"), source=str(config))
        except ConfigError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    return gh, policy, int(args.app_id) if args.app_id else None


async def _github(args: argparse.Namespace) -> Source | int:
    """The repository's installation with the App's credentials and the bundled policy; or
    the exit status after saying what is wrong."""
    from app.github.client import AppClients
    from app.github.config import bundled_policy
    from app.github.errors import GitHubError

    policy = bundled_policy()
    settings = common.settings()
    common.configure_logs(settings)
    if not settings.has_credentials:
        print("error: report needs APP_ID and PRIVATE_KEY, or --offline DIR", file=sys.stderr)
        return 2
    factory = AppClients(settings)
    try:
        found = await factory.app().request("GET", f"/repos/{args.repo}/installation")
    except GitHubError as exc:
        print(f"error: the App is not installed on {args.repo}: {exc}", file=sys.stderr)
        return 2
    return factory.installation(int(found.data["id"])), policy, settings.app_id
