"""The `incident-app` command line: help, dry runs on recorded deliveries, config checks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import build_parser, main

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "HOME": "/tmp", **(env or {})},
        timeout=60,
    )


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


def test_receive_without_credentials_prints_the_planned_calls_and_sends_nothing() -> None:
    result = run(
        "receive", "--event", "issues", "--payload", "webhooks/issues.opened-incident-p0.json"
    )
    assert result.returncode == 0, result.stderr
    assert "dry run" in result.stdout
    assert "Codertocat/Hello-World#1: would make 2 GitHub request(s)" in result.stdout
    assert (
        'POST /repos/Codertocat/Hello-World/issues/1/labels {"labels": ["status:investigating"]}'
        in result.stdout
    )
    assert "POST /repos/Codertocat/Hello-World/issues/1/comments" in result.stdout
    assert "P0 Critical incident declared" in result.stdout


def test_receive_of_a_status_command_shows_its_effect() -> None:
    result = run(
        "receive",
        "--event",
        "issue_comment",
        "--payload",
        "webhooks/issue_comment.created-status-mitigating.json",
    )
    assert result.returncode == 0, result.stderr
    assert '{"labels": ["status:mitigating"]}' in result.stdout
    assert (
        "DELETE /repos/Codertocat/Hello-World/issues/1/labels/status%3Ainvestigating"
        in result.stdout
    )
    assert '/reactions {"content": "+1"}' in result.stdout


def test_receive_of_an_ignored_delivery_says_why() -> None:
    result = run("receive", "--event", "issues", "--payload", "webhooks/issues.labeled-bug.json")
    assert result.returncode == 0
    assert "Nothing to do: not an incident." in result.stdout


def test_receive_with_a_missing_file_is_a_clear_error() -> None:
    result = run("receive", "--event", "issues", "--payload", "nope.json")
    assert result.returncode == 2
    assert "cannot read nope.json" in result.stderr


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


def test_tick_without_credentials_says_what_is_missing() -> None:
    result = run("tick")
    assert result.returncode == 2
    assert "APP_ID and PRIVATE_KEY" in result.stderr


def test_alert_without_credentials_prints_the_issue_it_would_open() -> None:
    result = run(
        "alert",
        "--source",
        "alertmanager",
        "--repo",
        "acme/payments",
        "--payload",
        "webhooks/alerts/alertmanager-firing.json",
    )
    assert result.returncode == 0, result.stderr
    assert "dry run" in result.stdout
    assert "(firing): opened" in result.stdout
    assert "acme/payments: would make 1 GitHub request(s)" in result.stdout
    assert '"labels": ["incident", "sev:P1", "alert"]' in result.stdout


def test_alert_with_a_payload_of_the_wrong_shape_says_why() -> None:
    result = run(
        "alert",
        "--source",
        "alertmanager",
        "--repo",
        "acme/payments",
        "--payload",
        "webhooks/alerts/generic-firing.json",
    )
    assert result.returncode == 2
    assert "unsupported version" in result.stderr


def test_alert_token_prints_the_owners_token_derived_from_alerts_token() -> None:
    from app.core.alerts import owner_token

    result = run("alert-token", "Acme", env={"ALERTS_TOKEN": "operator-secret"})
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    assert token.startswith("iao_") and token == owner_token("operator-secret", "acme")
    assert "operator-secret" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("args", "env", "says"),
    [
        (["acme"], {}, "ALERTS_TOKEN is not set"),
        (["acme/payments"], {"ALERTS_TOKEN": "x"}, "not a GitHub user or organisation"),
    ],
)
def test_alert_token_refuses_without_alerts_token_or_a_name(
    args: list[str], env: dict[str, str], says: str
) -> None:
    result = run("alert-token", *args, env=env)
    assert result.returncode == 2
    assert says in result.stderr and result.stdout == ""
