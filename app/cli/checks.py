"""`incident-app check-config` (one config file) and `doctor` (the whole setup)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from app.cli import common


def cmd_check_config(args: argparse.Namespace) -> int:
    from app.core.policy import ConfigError
    from app.github.config import check_text

    path = Path(args.path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"{path}: cannot read: {exc}", file=sys.stderr)
        return 2
    try:
        policy = check_text(text, source=str(path))
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem)
        print(f"{len(exc.problems)} problem(s) in {path}")
        return 1
    unmapped = [
        seat for seat, login in policy.roster.items() if not login and seat not in policy.seats
    ]
    print(f"{path}: valid.")
    if unmapped:
        print(f"note: seats without a GitHub login: {', '.join(unmapped)}")
    for warning in policy.unstaffed():
        print(f"warning: {warning}")
    _rotations(policy)
    return 0


def _rotations(policy: Any) -> None:
    """The rotations' warnings and the next two weeks' turns (calendars: `doctor`)."""
    from datetime import UTC, datetime

    from app.core.oncall import views

    if not policy.rotations:
        return
    now = datetime.now(UTC)
    for warning in views.warnings(policy, now):
        print(f"warning: {warning}")
    calendars = [n for n, r in policy.rotations.items() if r.calendar]
    if calendars:
        print(f"note: {', '.join(calendars)} follow calendars: `incident-app doctor` fetches them")
    print("On call, the next two weeks:")
    for line in views.agenda(policy, now):
        print(f"  {line}")


def cmd_doctor(args: argparse.Namespace) -> int:
    return asyncio.run(doctor())


async def doctor() -> int:
    from app.doctor import diagnose

    settings = common.settings_or_exit()
    common.configure_logs(settings, strict=False)
    failed = warned = 0
    async for check in diagnose(settings):
        failed += check.verdict == "FAIL"
        warned += check.verdict == "warn"
        for line in check.lines():
            print(line, flush=True)
    if failed:
        print(f"{failed} check(s) failed, {warned} warning(s).")
        return 1
    print(f"All checks passed, {warned} warning(s)." if warned else "All checks passed.")
    return 0
