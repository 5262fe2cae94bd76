"""What every command shares: the settings, the logs, the operator's notifiers."""

from __future__ import annotations

import sys
from typing import Any


def settings(**overrides: Any) -> Any:
    """Settings from the environment and .env; options given on the command line win."""
    from app.settings import Settings

    return Settings(**{k: v for k, v in overrides.items() if v is not None})


def settings_or_exit(**overrides: Any) -> Any:
    """Like settings, but a bad value is one clear line and exit status 2, not a traceback."""
    from pydantic import ValidationError

    try:
        return settings(**overrides)
    except ValidationError as exc:
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"]).upper() or "settings"
            print(f"error: {where}: {error['msg'].removeprefix('Value error, ')}", file=sys.stderr)
        raise SystemExit(2) from None


def configure_logs(settings: Any, *, strict: bool = True) -> None:
    from app.logs import configure

    secrets = settings.secrets() + _operator(settings, strict=strict)
    configure(settings.log_level, settings.log_format, secrets)


def _operator(settings: Any, *, strict: bool) -> list[str]:
    """The secrets of NOTIFIERS_FILE, for the log scrubber; when `strict`, exit 2 if the file
    is unusable (better than paging nobody in silence; `doctor` reports it instead)."""
    if settings.notifiers_file is None:
        return []
    from app.notify.operator import OperatorError, load

    try:
        return load(settings.notifiers_file, env=settings.environment()).secrets()
    except OperatorError as exc:
        if not strict:
            return []
        for problem in exc.problems:
            print(f"error: NOTIFIERS_FILE {exc.source}: {problem}", file=sys.stderr)
        raise SystemExit(2) from None


def notifications(settings: Any, *, dry_run: bool, cluster: Any = None) -> tuple[Any, Any]:
    """(what the reconciler tells, the Notifications to drain and close): the operator's
    notifiers, or in a dry run only their names; (None, None) without NOTIFIERS_FILE."""
    from app.core.notify import Unsent
    from app.notify.dispatch import Notifications
    from app.notify.ledger import SharedLedger

    found = Notifications.from_settings(
        settings, ledger=SharedLedger(cluster.once) if cluster is not None else None
    )
    if found is None:
        return None, None
    if dry_run:
        names = found.names()
        return Unsent(names), found
    return found, found


async def sent(notifications: Any) -> None:
    """Wait for what a command told, then let go."""
    if notifications is not None:
        await notifications.drain()
        await notifications.aclose()
