"""`incident-app doctor` against respx: verdicts per check, reasons, exit status."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import respx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from app.cli import main
from tests.conftest import API, APP_ID, CRON_SECRET, SECRET, SECRETS
from tests.standins import SlackStandIn, in_a_thread

# Every role the chain, a trigger or the breach track reaches has somebody.
GOOD_CONFIG = (
    "roster:\n  release_manager.rohan-patel: octocat\n  architect.morgan-lee: hubot\n"
    "  team_lead.casey-brooks: monalisa\n  management.senior: sam\n"
    "  management.executive: erin\n  legal.counsel: lena\n  security.officer: sid\n"
)
BAD_CONFIG = "default_severity: P9\nseverities:\n  P1:\n    update_every: often\n"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, private_key: str) -> None:
    """The process environment of a configured App, and no .env."""
    monkeypatch.chdir(tmp_path)
    for name, value in {
        "APP_ID": str(APP_ID),
        "PRIVATE_KEY": private_key.replace("\n", "\\n"),
        "WEBHOOK_SECRET": SECRET,
        "CRON_SECRET": CRON_SECRET,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("NOTIFIERS_FILE", raising=False)


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    """GitHub with one installation of two repositories: one without a config, one with."""
    with respx.mock(base_url=API, assert_all_mocked=True, assert_all_called=False) as mock:
        mock.get("/app", name="app").respond(
            200,
            json={
                "id": APP_ID,
                "slug": "incident-app",
                "name": "incident-app",
                "html_url": "https://github.com/apps/incident-app",
            },
        )
        mock.get("/app/installations").respond(200, json=[{"id": 11, "account": {"login": "acme"}}])
        mock.post("/app/installations/11/access_tokens").respond(
            201, json={"token": "ghs_doctor", "expires_at": "2099-01-01T00:00:00Z"}
        )
        mock.get("/installation/repositories").respond(
            200,
            json={
                "total_count": 2,
                "repositories": [{"full_name": "acme/web"}, {"full_name": "acme/api"}],
            },
        )
        mock.get("/repos/acme/web/contents/.github/incident.yml").respond(
            404, json={"message": "Not Found"}
        )
        mock.get("/repos/acme/api/contents/.github/incident.yml", name="api-config").respond(
            200, text=GOOD_CONFIG, headers={"content-type": "text/plain"}
        )
        yield mock


def doctor(capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str], str]:
    status = main(["doctor"])
    captured = capsys.readouterr()
    return status, captured.out.splitlines(), captured.err


@pytest.mark.usefixtures("env")
def test_all_good(router: respx.MockRouter, capsys: pytest.CaptureFixture[str]) -> None:
    status, lines, _ = doctor(capsys)
    assert lines == [
        f"ok    APP_ID: {APP_ID}",
        "ok    private key: an RSA private key",
        "ok    WEBHOOK_SECRET: set",
        "ok    CRON_SECRET: set",
        "ok    NOTIFIERS_FILE: not set: nobody outside GitHub is notified",
        f"ok    App authentication: incident-app at {API}",
        "ok    installations: 1",
        "ok    installation 11 (acme): 2 repositories",
        "ok    acme/web .github/incident.yml: none: the organisation's or the bundled default applies",
        "ok    acme/api .github/incident.yml: valid",
        "All checks passed.",
    ]
    assert status == 0
    assert router["app"].calls.last.request.headers["authorization"].startswith("Bearer ")


@pytest.mark.usefixtures("env")
def test_a_missing_cron_secret_is_a_warning_only(
    router: respx.MockRouter, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CRON_SECRET")
    status, lines, _ = doctor(capsys)
    assert (
        "warn  CRON_SECRET: not set: POST /cron/tick is off, so run `incident-app tick` from cron"
        in lines
    )
    assert lines[-1] == "All checks passed, 1 warning(s)."
    assert status == 0


@pytest.mark.usefixtures("env")
def test_a_rejected_jwt_fails(router: respx.MockRouter, capsys: pytest.CaptureFixture[str]) -> None:
    router["app"].respond(401, json={"message": "A JSON web token could not be decoded"})
    status, lines, _ = doctor(capsys)
    assert (
        "FAIL  App authentication: GitHub refused the App's JWT (401): "
        "are APP_ID and the key the same App's?"
    ) in lines
    assert not any("installation" in line for line in lines)
    assert lines[-1] == "1 check(s) failed, 0 warning(s)."
    assert status == 1


@pytest.mark.usefixtures("env")
def test_a_repository_with_an_invalid_config_is_reported(
    router: respx.MockRouter, capsys: pytest.CaptureFixture[str]
) -> None:
    router["api-config"].respond(200, text=BAD_CONFIG, headers={"content-type": "text/plain"})
    status, lines, _ = doctor(capsys)
    at = lines.index(
        "FAIL  acme/api .github/incident.yml: 2 problem(s); incidents run on the fallback config"
    )
    assert lines[at + 1] == "        default_severity: Input should be 'P0', 'P1', 'P2' or 'P3'"
    assert lines[at + 2].startswith("        severities.P1.update_every: 'often' is not a duration")
    assert (
        "ok    acme/web .github/incident.yml: none: the organisation's or the bundled default applies"
        in lines
    )
    assert status == 1


@pytest.mark.usefixtures("env")
def test_without_network_each_check_fails_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with respx.mock(assert_all_mocked=True) as mock:
        mock.route().mock(side_effect=httpx.ConnectError("Name or service not known"))
        status, lines, err = doctor(capsys)
    assert (
        f"FAIL  App authentication: no answer from GitHub at {API} (network error or timeout)"
        in lines
    )
    assert "Traceback" not in "\n".join(lines) + err
    assert status == 1


@pytest.mark.usefixtures("env")
def test_an_unreachable_repository_fails_alone(
    router: respx.MockRouter, capsys: pytest.CaptureFixture[str]
) -> None:
    router["api-config"].side_effect = httpx.ConnectError("connection reset")
    status, lines, err = doctor(capsys)
    assert (
        "FAIL  acme/api .github/incident.yml: cannot read: no answer from GitHub at "
        f"{API} (network error or timeout)"
    ) in lines
    assert (
        "ok    acme/web .github/incident.yml: none: the organisation's or the bundled default applies"
        in lines
    )
    assert "Traceback" not in err
    assert status == 1


@pytest.mark.usefixtures("env")
@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("not a key", "not a PEM private key (expected -----BEGIN RSA PRIVATE KEY-----)"),
        ("ec", "not an RSA key: GitHub Apps sign with RSA"),
    ],
)
def test_an_unusable_key_fails_and_github_is_not_asked(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], key: str, reason: str
) -> None:
    if key == "ec":
        key = (
            ec.generate_private_key(ec.SECP256R1())
            .private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            .decode()
        )
    monkeypatch.setenv("PRIVATE_KEY", key)
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as mock:
        status, lines, _ = doctor(capsys)
    assert f"FAIL  private key: {reason}" in lines
    assert "FAIL  GitHub: not tried: needs APP_ID and a usable private key" in lines
    assert not mock.calls
    assert status == 1


def test_nothing_configured(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("APP_ID", "PRIVATE_KEY", "PRIVATE_KEY_PATH", "WEBHOOK_SECRET", "CRON_SECRET"):
        monkeypatch.delenv(name, raising=False)
    status, lines, _ = doctor(capsys)
    assert lines[:4] == [
        "FAIL  APP_ID: not set",
        "FAIL  private key: neither PRIVATE_KEY nor PRIVATE_KEY_PATH is set",
        "FAIL  WEBHOOK_SECRET: not set: every delivery would be refused",
        "warn  CRON_SECRET: not set: POST /cron/tick is off, so run `incident-app tick` from cron",
    ]
    assert status == 1


def test_a_bad_setting_is_one_line_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("APP_ID", "twelve")
    with pytest.raises(SystemExit) as exit_:
        main(["doctor"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: APP_ID: ")
    assert "Traceback" not in err


def test_doctor_explains_itself(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["doctor", "--help"])
    assert exit_.value.code == 0
    assert "exit status 1 when any check fails" in capsys.readouterr().out


@pytest.mark.usefixtures("env")
def test_roles_that_reach_nobody_are_a_warning(
    router: respx.MockRouter, capsys: pytest.CaptureFixture[str]
) -> None:
    router["api-config"].respond(
        200,
        text="roster:\n  release_manager.rohan-patel: octocat\n",
        headers={"content-type": "text/plain"},
    )
    status, lines, _ = doctor(capsys)
    assert status == 0
    assert any(line.startswith("warn  acme/api .github/incident.yml: valid, but") for line in lines)
    assert (
        "        Legal/Compliance (`legal`): nobody to notify — map its seats in `roster:`" in lines
    )


NOTIFIERS = """
notifiers:
  payments-slack: {kind: slack, bot_token: "${DOCTOR_SLACK_TOKEN}", archive_after: 2h}
  other-slack: {kind: slack, bot_token: "xoxb-doctor-wrong-token"}
  team-webhook: {kind: slack, webhook_url: "https://hooks.slack.com/services/doctor-hook-secret"}
  payments-pager: {kind: pagerduty, routing_key: "doctor-routing-secret"}
  ops-hook: {kind: webhook, url: "https://ops.example.com/in/doctor-path", secret: "doctor-hmac-secret"}
people: {octocat: U0123ABCD}
"""
DOCTOR_SECRETS = [
    "xoxb-doctor-token",
    "xoxb-doctor-wrong-token",
    "doctor-hook-secret",
    "doctor-routing-secret",
    "doctor-hmac-secret",
]
SECRETS.extend(DOCTOR_SECRETS)


@pytest.mark.usefixtures("env")
def test_notifiers_each_with_its_kind_and_slack_tokens_tried(
    router: respx.MockRouter,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "notifiers.yml"
    path.write_text(NOTIFIERS)
    monkeypatch.setenv("NOTIFIERS_FILE", str(path))
    monkeypatch.setenv("DOCTOR_SLACK_TOKEN", "xoxb-doctor-token")
    with in_a_thread(SlackStandIn(token="xoxb-doctor-token")) as slack:
        monkeypatch.setenv("SLACK_API_URL", slack.url + "/api/")
        status, lines, err = doctor(capsys)
    assert lines[4:11] == [
        f"ok    NOTIFIERS_FILE: {path}: 5 notifier(s), 1 Slack user ID(s)",
        "ok    notifier payments-slack: slack bot token works: incident-bot in Acme; "
        "announces in #incidents, archives channels 2h after the all-clear",
        "FAIL  notifier other-slack: slack bot token: Slack auth.test: invalid_auth",
        "ok    notifier team-webhook: slack incoming webhook: messages only, no channels",
        "ok    notifier payments-pager: pagerduty: its first event checks the key",
        "ok    notifier ops-hook: webhook to ops.example.com, signed",
        f"ok    App authentication: incident-app at {API}",
    ]
    assert [r.path for r in slack.requests] == ["/api/auth.test", "/api/auth.test"]
    assert status == 1
    shown = "\n".join(lines) + err
    assert not [s for s in DOCTOR_SECRETS if s in shown]


@pytest.mark.usefixtures("env")
def test_an_unusable_notifiers_file_fails_with_its_problems(
    router: respx.MockRouter,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "notifiers.yml"
    path.write_text(NOTIFIERS.replace("pagerduty, ", "pagerduty, colour: red, "))
    monkeypatch.setenv("NOTIFIERS_FILE", str(path))
    monkeypatch.delenv("DOCTOR_SLACK_TOKEN", raising=False)
    status, lines, _ = doctor(capsys)
    assert lines[4:8] == [
        f"FAIL  NOTIFIERS_FILE: {path}: 2 problem(s); no notifier is used",
        "        notifiers.payments-slack.bot_token: environment variable DOCTOR_SLACK_TOKEN is not set",
        "        notifiers.payments-pager.colour: unknown key",
        f"ok    App authentication: incident-app at {API}",
    ]
    assert status == 1


@pytest.mark.usefixtures("env")
def test_the_running_servers_notification_failures_are_shown(
    router: respx.MockRouter,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """With PUBLIC_URL (and METRICS_TOKEN), doctor reads what the server sent and what failed."""
    path = tmp_path / "notifiers.yml"
    path.write_text("notifiers:\n  payments-pager: {kind: pagerduty, routing_key: rk}\n")
    monkeypatch.setenv("NOTIFIERS_FILE", str(path))
    monkeypatch.setenv("PUBLIC_URL", "https://incidents.example.com")
    monkeypatch.setenv("METRICS_TOKEN", "m-token-123")
    failure = {
        "at": "2026-11-26T03:12:00+00:00",
        "notifier": "payments-pager",
        "event": "acme/payments#42:comment:991",
        "reason": "PagerDuty refused the event (400): Invalid routing key",
    }
    status_page = router.route(host="incidents.example.com", path="/").respond(
        200,
        json={
            "app": "incident-app",
            "notifications": {
                "notifiers": {"payments-pager": "pagerduty"},
                "counts": {"sent": 7, "failed": 1, "retried": 2, "skipped": 0},
                "recent_failures": [failure],
            },
        },
    )
    _, lines, _ = doctor(capsys)
    at = lines.index(
        "warn  notifications sent: by https://incidents.example.com: 7 sent, 2 retried, 1 failed"
    )
    assert lines[at + 1].strip() == (
        "2026-11-26T03:12:00+00:00 payments-pager acme/payments#42:comment:991: "
        "PagerDuty refused the event (400): Invalid routing key"
    )
    assert status_page.calls.last.request.headers["authorization"] == "Bearer m-token-123"


@pytest.mark.usefixtures("env")
def test_notifier_variables_may_come_from_dotenv(
    router: respx.MockRouter,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`${NAME}` in NOTIFIERS_FILE reads `.env` too, as the settings do (the process
    environment wins)."""
    path = tmp_path / "notifiers.yml"
    path.write_text('notifiers:\n  pager: {kind: pagerduty, routing_key: "${PD_FROM_DOTENV}"}\n')
    (tmp_path / ".env").write_text(f"NOTIFIERS_FILE={path}\nPD_FROM_DOTENV=doctor-dotenv-key\n")
    monkeypatch.delenv("PD_FROM_DOTENV", raising=False)
    _, lines, err = doctor(capsys)
    assert f"ok    NOTIFIERS_FILE: {path}: 1 notifier(s), 0 Slack user ID(s)" in lines
    assert "doctor-dotenv-key" not in "\n".join(lines) + err


@pytest.mark.usefixtures("env")
@pytest.mark.parametrize(
    ("scopes", "verdict"),
    [
        (
            ("channels:manage", "channels:read", "chat:write"),
            "FAIL  notifier payments-slack: slack bot token lacks groups:write, groups:read: "
            "add them to the Slack app's bot token scopes and reinstall it (groups:* make "
            "confidential incidents' private channels)",
        ),
        (
            None,
            "warn  notifier payments-slack: slack bot token works: incident-bot in Acme; "
            "announces in #incidents, archives channels 2h after the all-clear; Slack did not "
            "say the token's scopes",
        ),
    ],
)
def test_a_slack_token_without_the_scopes_for_private_channels_is_reported(
    router: respx.MockRouter,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    scopes: tuple[str, ...] | None,
    verdict: str,
) -> None:
    """auth.test answers the token's scopes in `x-oauth-scopes`; confidential incidents need
    groups:write and groups:read for their private channels."""
    path = tmp_path / "notifiers.yml"
    path.write_text(NOTIFIERS)
    monkeypatch.setenv("NOTIFIERS_FILE", str(path))
    monkeypatch.setenv("DOCTOR_SLACK_TOKEN", "xoxb-doctor-token")
    with in_a_thread(SlackStandIn(token="xoxb-doctor-token", scopes=scopes)) as slack:
        monkeypatch.setenv("SLACK_API_URL", slack.url + "/api/")
        status, lines, _ = doctor(capsys)
    assert lines[5] == verdict
    assert status == 1


@pytest.mark.usefixtures("env")
def test_a_short_webhook_secret_is_reported(
    router: respx.MockRouter,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "notifiers.yml"
    path.write_text(NOTIFIERS.replace('secret: "doctor-hmac-secret"', "secret: ''"))
    monkeypatch.setenv("NOTIFIERS_FILE", str(path))
    monkeypatch.setenv("DOCTOR_SLACK_TOKEN", "xoxb-doctor-token")
    status, lines, _ = doctor(capsys)
    assert lines[4:6] == [
        f"FAIL  NOTIFIERS_FILE: {path}: 1 problem(s); no notifier is used",
        "        notifiers.ops-hook.secret: must be at least 16 characters: a random one, e.g. "
        "`openssl rand -hex 32`",
    ]
    assert status == 1


@pytest.mark.usefixtures("env")
def test_with_alerts_token_the_repositories_that_will_refuse_alerts_are_listed(
    router: respx.MockRouter, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Alerts need `alerts: {enabled: true}` since the door was narrowed: the doctor says
    where they will be refused, reading each config as the server does, each file once."""
    monkeypatch.setenv("ALERTS_TOKEN", "doctor-alerts-token")
    router["api-config"].respond(
        200, text=GOOD_CONFIG + "alerts: {enabled: true}\n", headers={"content-type": "text/plain"}
    )
    org = router.get("/repos/acme/.github/contents/.github/incident.yml").respond(
        404, json={"message": "Not Found"}
    )
    status, lines, _ = doctor(capsys)
    at = lines.index(
        "warn  installation 11 (acme) alerts: 1 of 2 repositories refuse alerts (403) until "
        ".github/incident.yml (theirs or the owner's .github) says `alerts: {enabled: true}`"
    )
    assert lines[at + 1 :] == ["        acme/web", "All checks passed, 1 warning(s)."]
    assert router["api-config"].call_count == 1 and org.call_count == 1
    assert status == 0


@pytest.mark.usefixtures("env")
def test_without_alerts_token_no_alert_opt_in_is_checked(
    router: respx.MockRouter, capsys: pytest.CaptureFixture[str]
) -> None:
    _, lines, _ = doctor(capsys)
    assert not [line for line in lines if " alerts: " in line]


ONCALL_ICS = (Path(__file__).parent / "notify" / "oncall-vendor.ics").read_text()


@pytest.mark.usefixtures("env")
def test_doctor_fetches_each_on_call_calendar_and_never_shows_its_url(
    router: respx.MockRouter,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "notifiers.yml"
    path.write_text(
        "calendars:\n"
        "  vendor-oncall: {url: 'https://pd.example/ics/doctor-cal-secret'}\n"
        "  gone: {url: 'https://pd.example/ics/doctor-gone-secret'}\n"
    )
    SECRETS.extend(["doctor-cal-secret", "doctor-gone-secret"])
    monkeypatch.setenv("NOTIFIERS_FILE", str(path))
    router.get("https://pd.example/ics/doctor-cal-secret").respond(200, text=ONCALL_ICS)
    router.get("https://pd.example/ics/doctor-gone-secret").respond(503, text="down")
    status, lines, _ = doctor(capsys)
    found = [line for line in lines if line.split()[1] == "calendar"]
    assert found[0].startswith("ok    calendar vendor-oncall: ")
    assert found[1] == "FAIL  calendar gone: HTTP 503: its seats fall to their backups"
    assert status == 1
    assert not any("secret" in line for line in lines)
