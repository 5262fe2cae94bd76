"""`incident-app tick` (app/cli/ticks.py)."""

from __future__ import annotations

from tests.cli.run import run


def test_tick_without_credentials_says_what_is_missing() -> None:
    result = run("tick")
    assert result.returncode == 2
    assert "APP_ID and PRIVATE_KEY" in result.stderr
