"""Secrets never reach a log or an error reply (SPEC §7)."""

from __future__ import annotations

import logging

import pytest

from app.logs import Redact
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
