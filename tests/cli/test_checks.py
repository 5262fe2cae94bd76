"""`incident-app check-config` (app/cli/checks.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli import main
from tests.cli.run import ROOT


def test_check_config_accepts_the_bundled_default_and_a_roster(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check-config", str(ROOT / "config" / "incident.yml")]) == 0
    good = tmp_path / "incident.yml"
    good.write_text("roster:\n  release_manager.rohan-patel: octocat\n")
    assert main(["check-config", str(good)]) == 0
    out = capsys.readouterr().out
    assert f"{good}: valid." in out
    assert "seats without a GitHub login: architect.morgan-lee" in out
    # The chain, the triggers and the breach track reach roles nobody holds yet: said plainly.
    assert "warning: Senior Management (`senior_management`): nobody to notify" in out
    assert "warning: Legal/Compliance (`legal`): nobody to notify" in out


def test_check_config_prints_every_error_with_its_location(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "incident.yml"
    bad.write_text("default_severity: P9\nseverities:\n  P1:\n    update_every: often\n")
    assert main(["check-config", str(bad)]) == 1
    out = capsys.readouterr().out
    assert f"{bad}: default_severity: Input should be 'P0', 'P1', 'P2' or 'P3'" in out
    assert f"{bad}: severities.P1.update_every: 'often' is not a duration" in out
    assert "2 problem(s)" in out
