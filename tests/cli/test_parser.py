"""Every command explains itself (app/cli/parser.py)."""

from __future__ import annotations

import pytest

from app.cli import build_parser


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["serve"],
        ["receive"],
        ["alert"],
        ["alert-token"],
        ["check-config"],
        ["tick"],
        ["report"],
        ["doctor"],
        ["oncall"],
    ],
)
def test_every_command_explains_itself(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args([*command, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "usage: incident-app" in out
    assert len(out.splitlines()) > 4
