"""`incident-app alert` and `alert-token` (app/cli/alerts.py)."""

from __future__ import annotations

import pytest

from tests.cli.run import run


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
