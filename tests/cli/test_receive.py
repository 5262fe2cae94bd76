"""`incident-app receive` (app/cli/receive.py): a dry run on a recorded delivery."""

from __future__ import annotations

from tests.cli.run import run


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
