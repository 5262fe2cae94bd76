"""The operator's NOTIFIERS_FILE: `${VAR}` expansion, validation with located messages."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from app.notify.operator import OperatorError, load, parse

ENV = {"SLACK_BOT_TOKEN": "xoxb-op-secret", "PD_ROUTING_KEY": "pd-op-secret", "HOOK": "hk"}

GOOD = """
notifiers:
  payments-slack: {kind: slack, bot_token: "${SLACK_BOT_TOKEN}", channel: "#inc", archive_after: 30m}
  team-webhook: {kind: slack, webhook_url: "https://hooks.slack.com/services/${HOOK}"}
  payments-pager: {kind: pagerduty, routing_key: "${PD_ROUTING_KEY}"}
  ops-hook: {kind: webhook, url: "https://ops.example.com/in", secret: "${HOOK}-and-sixteen-more"}
people:
  octocat: U0123ABCD
"""


def problems(text: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(OperatorError) as err:
        parse(text, env=ENV if env is None else env)
    return err.value.problems


def test_a_good_file_with_its_variables_expanded() -> None:
    found = parse(GOOD, env=ENV)
    assert found.names() == {"payments-slack", "team-webhook", "payments-pager", "ops-hook"}
    slack = found.notifiers["payments-slack"]
    assert slack.kind == "slack"
    assert slack.bot_token is not None and slack.bot_token.get_secret_value() == "xoxb-op-secret"
    assert slack.archive_after == timedelta(minutes=30)
    assert found.notifiers["team-webhook"].channel == "#incidents"  # type: ignore[union-attr]
    assert found.notifiers["team-webhook"].archive_after == timedelta(hours=24)  # type: ignore[union-attr]
    assert sorted(found.secrets()) == sorted(
        [
            "xoxb-op-secret",
            "https://hooks.slack.com/services/hk",
            "hk",  # the variable in the URL, on its own too
            "pd-op-secret",
            "https://ops.example.com/in",
            "hk-and-sixteen-more",
        ]
    )
    assert found.people == {"octocat": "U0123ABCD"}
    assert "xoxb-op-secret" not in repr(found)


def test_an_unset_variable_is_named_and_no_value_is_shown() -> None:
    assert problems(GOOD, env={"SLACK_BOT_TOKEN": "xoxb-op-secret", "HOOK": ""}) == [
        "notifiers.team-webhook.webhook_url: environment variable HOOK is not set",
        "notifiers.payments-pager.routing_key: environment variable PD_ROUTING_KEY is not set",
        "notifiers.ops-hook.secret: environment variable HOOK is not set",
    ]


def test_every_problem_with_its_location() -> None:
    text = """
notifiers:
  a: {kind: slack}
  b: {kind: slack, bot_token: x, webhook_url: "https://y"}
  c: {kind: pagerduty, routing_key: k, extra: 1}
  d: {kind: sms}
  "bad name": {kind: webhook, url: "ftp://x", secret: s}
  e: {kind: slack, bot_token: t, archive_after: soon}
  f: {kind: pagerduty}
people: {octocat: nope}
colour: red
"""
    assert problems(text) == [
        "notifiers.a: give either bot_token or webhook_url (one of them)",
        "notifiers.b: give either bot_token or webhook_url (one of them)",
        "notifiers.c.extra: unknown key",
        "notifiers.d: kind must be one of slack, pagerduty, webhook, statuspage, email",
        "notifiers.bad name: a name is letters, digits, '.', '_' and '-' (at most 64)",
        "notifiers.bad name.url: must be an https:// URL",
        "notifiers.bad name.secret: must be at least 16 characters: a random one, e.g. "
        "`openssl rand -hex 32`",
        "notifiers.e.archive_after: 'soon' is not a duration: use 30m, 2h or 1d",
        "notifiers.f.routing_key: Field required",
        "people.octocat: not a Slack user ID (U… or W…, as in the member's profile)",
        "colour: unknown key",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("notifiers: [1", "line 1: not valid YAML"),
        ("- a", "file: must be a mapping with `notifiers:` (and `people:`)"),
    ],
)
def test_not_a_file_of_notifiers(text: str, message: str) -> None:
    assert problems(text) == [message]


def test_an_empty_file_defines_nothing() -> None:
    assert parse("", env={}).names() == frozenset()


def test_load_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(OperatorError) as err:
        load(tmp_path / "missing.yml", env={})
    assert (
        str(err.value)
        == f"{tmp_path / 'missing.yml'}: file: cannot read: No such file or directory"
    )
    path = tmp_path / "notifiers.yml"
    path.write_text(GOOD)
    assert load(path, env=ENV).names() == parse(GOOD, env=ENV).names()


@pytest.mark.parametrize("secret", ["''", "' '", "fifteen-chars-x", "'               x'"])
def test_a_webhook_secret_shorter_than_16_characters_is_a_problem(secret: str) -> None:
    text = f"notifiers:\n  ops-hook: {{kind: webhook, url: 'https://ops.example.com/in', secret: {secret}}}\n"
    assert problems(text) == [
        "notifiers.ops-hook.secret: must be at least 16 characters: a random one, e.g. "
        "`openssl rand -hex 32`"
    ]
    assert parse(text.replace(secret, "sixteen-chars-xx"), env={}).names() == {"ops-hook"}


def test_a_too_short_secret_stops_tick_with_its_location(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """As for any other problem of the file: `serve` and `tick` exit 2, naming the key."""
    from app.cli import main

    path = tmp_path / "notifiers.yml"
    path.write_text(
        "notifiers:\n  ops-hook: {kind: webhook, url: 'https://ops.example.com/in', secret: ''}\n"
    )
    monkeypatch.setenv("NOTIFIERS_FILE", str(path))
    with pytest.raises(SystemExit) as exited:
        main(["tick"])
    assert exited.value.code == 2
    assert (
        f"error: NOTIFIERS_FILE {path}: notifiers.ops-hook.secret: must be at least 16 "
        "characters" in capsys.readouterr().err
    )


CUSTOMERS = """
notifiers:
  status-page: {kind: statuspage, page_id: kctbh9vrtdwd, api_key: "${SP_KEY}",
                components: {api: cmpapi000001}}
  customers:
    kind: email
    host: smtp.acme.example
    username: status@acme.example
    password: "${SMTP_PASSWORD}"
    from: status@acme.example
    to: [ana@customer.example]
    unsubscribe: ["mailto:unsubscribe@acme.example"]
"""


def test_the_customers_notifiers_and_their_defaults() -> None:
    found = parse(CUSTOMERS, env={"SP_KEY": "sp-op-secret", "SMTP_PASSWORD": "smtp-op-secret"})
    page, mail = found.notifiers["status-page"], found.notifiers["customers"]
    assert page.kind == "statuspage" and page.api_url == "https://api.statuspage.io"  # type: ignore[union-attr]
    assert mail.kind == "email"
    assert (mail.port, mail.starttls, mail.email_above) == (587, True, 10.0)  # type: ignore[union-attr]
    assert mail.sender == "status@acme.example"  # type: ignore[union-attr]
    # The API key and the SMTP password are secrets: the log scrubber gets them.
    assert sorted(found.secrets()) == ["smtp-op-secret", "sp-op-secret"]
    assert "smtp-op-secret" not in repr(found) and "sp-op-secret" not in repr(found)
