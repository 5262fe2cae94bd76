"""Secrets never reach a log or an error reply (docs/behaviour.md §7)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from app.logs import Redact
from app.settings import Settings
from tests.conftest import ALL_LOGS, CRON_SECRET, SECRET, SECRETS, Harness, delivery_for

pytestmark = pytest.mark.anyio


async def test_failure_paths_log_no_secret(
    harness: Harness, caplog: pytest.LogCaptureFixture, private_key: str
) -> None:
    caplog.set_level(logging.DEBUG)
    github = harness.github
    github.add_issue(labels=("incident", "sev:P0"))
    github.fail("POST", r"/access_tokens$", 401, times=5)  # credentials refused
    await harness.deliver("issues", delivery_for(github, "issues.opened-incident-p0.json"))
    bad = await harness.client.post("/cron/tick", headers={"Authorization": "Bearer nope"})
    unsigned = await harness.client.post(
        "/api/github/webhooks", content=b"{}", headers={"X-GitHub-Event": "issues"}
    )
    text = caplog.text + bad.text + unsigned.text
    assert "reconcile failed" in caplog.text  # the failure is logged …
    for secret in (SECRET, CRON_SECRET, *private_key.splitlines()[1:-1]):
        assert secret not in text  # … without the secrets


def test_no_log_line_so_far_holds_a_secret() -> None:
    """The same check runs over the whole suite when it ends (tests/conftest.py)."""
    assert ALL_LOGS.lines, "the session-wide log capture is not collecting"
    assert ALL_LOGS.leaks() == []


def test_the_redacting_filter_scrubs_messages_and_tracebacks() -> None:
    record = logging.LogRecord("app", logging.ERROR, __file__, 1, "token %s", (SECRET,), None)
    try:
        raise RuntimeError(f"boom {CRON_SECRET}")
    except RuntimeError:
        import sys

        record.exc_info = sys.exc_info()
    Redact([SECRET, CRON_SECRET]).filter(record)
    assert SECRET not in record.getMessage() and "[redacted]" in record.getMessage()
    assert record.exc_text is not None and CRON_SECRET not in record.exc_text
    assert SECRETS  # the suite-wide list the conftest check uses


# --- what the command's logs scrub --------------------------------------------------------


@pytest.fixture
def command_logs(capsys: pytest.CaptureFixture[str]) -> Iterator[Callable[[Settings], str]]:
    """Configure logging as `incident-app serve` does for some settings, and return what
    each log call then writes to stderr; the suite's own logging is put back after."""
    from app.cli import _configure_logs

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level

    def configured(settings: Settings) -> str:
        _configure_logs(settings)
        return capsys.readouterr().err

    yield configured
    root.handlers[:] = handlers
    root.setLevel(level)


def settings_with(**values: Any) -> Settings:
    return Settings(_env_file=None, webhook_secret=SECRET, **values)  # type: ignore[call-arg]


def key_lines(pem: str) -> list[str]:
    return [line for line in pem.splitlines() if not line.startswith("-----")]


@pytest.mark.parametrize("given", ["PRIVATE_KEY", "PRIVATE_KEY escaped", "PRIVATE_KEY_PATH"])
def test_every_line_of_the_key_is_scrubbed_however_it_was_given(
    command_logs: Callable[[Settings], str], private_key: str, tmp_path: Path, given: str
) -> None:
    escaped = private_key.replace("\n", "\\n")
    if given == "PRIVATE_KEY":
        settings = settings_with(private_key=private_key)
    elif given == "PRIVATE_KEY escaped":
        settings = settings_with(private_key=escaped)
    else:
        (tmp_path / "key.pem").write_text(private_key)
        settings = settings_with(private_key_path=tmp_path / "key.pem")
    command_logs(settings)
    log = logging.getLogger("app.test")
    lines = key_lines(private_key)
    log.warning("the key: %s", private_key)
    log.warning("the key, escaped: %s", escaped)
    log.warning("the key as repr: %r", private_key)
    log.warning("one line of it: %s", lines[3])
    log.warning("two halves: %s / %s", lines[5][:40], lines[5][40:])
    err = command_logs(settings)
    assert err.count("[redacted]") >= 4
    for line in lines:
        assert line not in err
    assert lines[5][:40] in err  # a part of a line is no line (and would be a needle everywhere)


def test_a_secret_of_any_length_is_scrubbed(command_logs: Callable[[Settings], str]) -> None:
    settings = settings_with(cron_secret="7", metrics_token="ab")
    command_logs(settings)
    logging.getLogger("app.test").warning("tokens: <%s> <%s>", "7", "ab")
    assert "tokens: <[redacted]> <[redacted]>" in command_logs(settings)


def test_a_traceback_is_scrubbed_too(command_logs: Callable[[Settings], str]) -> None:
    settings = settings_with(cron_secret="Zq9")
    command_logs(settings)
    try:
        raise RuntimeError("refused Zq9 at /app-manifests/abc123/conversions")
    except RuntimeError:
        logging.getLogger("app.test").exception("failed")
    err = command_logs(settings)
    assert "Zq9" not in err and "abc123" not in err
    assert "RuntimeError: refused [redacted] at /app-manifests/[redacted]/conversions" in err


def test_the_setup_code_in_a_url_is_scrubbed(command_logs: Callable[[Settings], str]) -> None:
    settings = settings_with()
    command_logs(settings)
    logging.getLogger("httpx").warning(
        "HTTP Request: %s %s", "POST", "https://api.github.com/app-manifests/a1b2c3/conversions"
    )
    err = command_logs(settings)
    assert "a1b2c3" not in err
    assert "https://api.github.com/app-manifests/[redacted]/conversions" in err


HOOK_KEY = "secrets-hook-key-in-path"
HOOK_HMAC = "secrets-hook-hmac-key-0001"
SECRETS.extend([HOOK_KEY, HOOK_HMAC])


async def test_a_notifier_url_is_scrubbed_by_the_commands_logs_at_debug(
    command_logs: Callable[[Settings], str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """NOTIFIERS_FILE's URLs (and the `${VAR}`s in them) join the command's scrubber, and a
    real send at LOG_LEVEL=DEBUG writes none of them, nor the signing key."""
    from app.notify.dispatch import Notifications
    from tests.notify.test_notifiers import event
    from tests.standins import WebhookStandIn

    hook = await WebhookStandIn().start()
    try:
        path = tmp_path / "notifiers.yml"
        path.write_text(
            "notifiers:\n"
            f'  ops-hook: {{kind: webhook, url: "{hook.url}/hooks/${{HOOK_KEY}}", '
            'secret: "${HOOK_HMAC}"}\n'
        )
        monkeypatch.setenv("HOOK_KEY", HOOK_KEY)
        monkeypatch.setenv("HOOK_HMAC", HOOK_HMAC)
        settings = settings_with(notifiers_file=path, log_level="DEBUG")
        command_logs(settings)
        notifications = Notifications.from_settings(settings)
        assert notifications is not None
        notifications.submit(event(), ["ops-hook"])
        await notifications.drain()
        logging.getLogger("app.test").warning("posting to %s/hooks/%s", hook.url, HOOK_KEY)
        await notifications.aclose()
        err = command_logs(settings)
    finally:
        await hook.close()
    assert [r.path for r in hook.requests] == [f"/hooks/{HOOK_KEY}"]
    assert "HTTP Request: POST" in err and "notify: acme/Hello-World#7:declared" in err
    assert HOOK_KEY not in err and HOOK_HMAC not in err
    assert "posting to [redacted]" in err
