"""`incident-app oncall`: who is on call, as a schedule or an iCalendar feed."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from app.cli import common

if TYPE_CHECKING:
    from app.core.oncall import OnCallRecord
    from app.core.policy import Policy

# The feed shows a week back and four weeks ahead; the text two weeks ahead.
FEED_BEHIND = timedelta(days=7)
FEED_AHEAD = timedelta(days=28)


def cmd_oncall(args: argparse.Namespace) -> int:
    return asyncio.run(oncall(args))


def _moment(text: str | None) -> datetime | None:
    if text is None:
        return datetime.now(UTC)
    try:
        found = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return found if found.tzinfo else found.replace(tzinfo=UTC)


async def oncall(args: argparse.Namespace) -> int:
    from app.core.oncall import views

    if args.feed_url:
        return _feed_url(args)
    at = _moment(args.at)
    if at is None:
        print(f"error: --at {args.at!r}: use an ISO time, e.g. 2026-03-30T09:00Z", file=sys.stderr)
        return 2
    found = await (_local(args, at) if args.config else _github(args, at))
    if isinstance(found, int):
        return found
    policy, record = found
    if not policy.rotations:
        print("no rotations: add `rotations:` to .github/incident.yml", file=sys.stderr)
        return 1
    if args.ics:
        name = f"On call: {args.repo or args.config}"
        turns = views.turns(policy, at - FEED_BEHIND, at + FEED_AHEAD, record, whole=True)
        sys.stdout.write(views.ics(name, turns, at))
        return 0
    for problem in record.problems():
        print(f"warning: {problem}; its seats' backups are reached")
    for line in views.agenda(policy, at, record):
        print(line)
    return 0


def _feed_url(args: argparse.Namespace) -> int:
    """`--feed-url`: the address people subscribe to (PUBLIC_URL, ONCALL_FEED_SECRET)."""
    from app.core.oncall.tokens import feed_path

    settings = common.settings()
    if not args.repo or "/" not in args.repo:
        print("error: give --repo owner/name", file=sys.stderr)
        return 2
    if settings.oncall_feed_secret is None or not settings.public_url:
        print("error: --feed-url needs ONCALL_FEED_SECRET and PUBLIC_URL", file=sys.stderr)
        return 2
    secret = settings.oncall_feed_secret.get_secret_value()
    print(settings.public_url + feed_path(secret, args.repo))
    return 0


async def _calendars(policy: Policy, at: datetime) -> OnCallRecord:
    from app.core.oncall import OnCallRecord
    from app.notify.calendars import from_settings

    names = [r.calendar for r in policy.rotations.values() if r.calendar]
    found = from_settings(common.settings(), now=lambda: datetime.now(UTC)) if names else None
    return OnCallRecord(calendars=await found.feeds(names, at)) if found else OnCallRecord()


async def _local(args: argparse.Namespace, at: datetime) -> tuple[Policy, OnCallRecord] | int:
    """`--config PATH`: a local incident.yml, calendars from NOTIFIERS_FILE, no covers."""
    from app.core.policy import ConfigError
    from app.github.config import check_text

    path = Path(args.config)
    try:
        policy = check_text(path.read_text(encoding="utf-8"), source=str(path))
    except (OSError, UnicodeDecodeError) as exc:
        print(f"{path}: cannot read: {exc}", file=sys.stderr)
        return 2
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return policy, await _calendars(policy, at)


async def _github(args: argparse.Namespace, at: datetime) -> tuple[Policy, OnCallRecord] | int:
    """The repository's config and covers with the App's credentials."""
    from app.github.client import AppClients
    from app.github.config import ConfigLoader
    from app.github.errors import GitHubError
    from app.notify.calendars import from_settings
    from app.runtime.oncall import OnCallReader

    if not args.repo or "/" not in args.repo:
        print("error: give --repo owner/name (or --config PATH)", file=sys.stderr)
        return 2
    settings = common.settings()
    common.configure_logs(settings)
    if not settings.has_credentials:
        print("error: oncall needs APP_ID and PRIVATE_KEY, or --config PATH", file=sys.stderr)
        return 2
    factory = AppClients(settings)
    owner, name = args.repo.split("/", 1)
    try:
        found = await factory.app().request("GET", f"/repos/{args.repo}/installation")
        gh = factory.installation(int(found.data["id"]))
        policy = (await ConfigLoader().load(gh, owner, name)).policy
        reader = OnCallReader(
            from_settings(settings, now=lambda: datetime.now(UTC)), app_id=settings.app_id
        )
        return policy, await reader.record(gh, args.repo, policy, at)
    except GitHubError as exc:
        print(f"error: {args.repo}: {exc}", file=sys.stderr)
        return 2
