"""The `incident-app` command: serve, receive, alert, alert-token, tick, check-config, report,
doctor (a module per command; `parser` builds the command line)."""

from __future__ import annotations

from app.cli.common import configure_logs as _configure_logs
from app.cli.parser import build_parser
from app.cli.ticks import tick as _tick

# `_configure_logs` and `_tick` keep the names the module `app/cli.py` gave them.
__all__ = ["_configure_logs", "_tick", "build_parser", "main"]


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.func(args)
    return result
