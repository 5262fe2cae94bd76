"""Layers (app/core/policy/layers.py): `extends`, and problems from another repository counted, never shown."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from app.core.policy import (
    ConfigIssue,
    public_problems,
)
from tests.factories import config_problems as problems


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        (".github:../secrets.yml", "the path must be relative inside the repository: no . or .."),
        (".github:/etc/passwd", "the path must be relative inside the repository: no leading /"),
        ("https://evil.example/x.yml", "must be [owner/]repository[:path], not a URL"),
        (".github:a\\b.yml", "the path must be relative inside the repository: no backslash"),
        ("..", "must be [owner/]repository[:path]"),
        ("acme/a b", "must be [owner/]repository[:path]"),
        ("[a]", "must be text such as .github or .github:path/in/it.yml"),
    ],
)
def test_extends_is_checked_without_echoing_it(value: str, rule: str) -> None:
    (found,) = problems(f"_extends: {json.dumps(value) if value != '[a]' else value}\n")
    assert found.startswith("_extends: ") and rule in found
    assert value not in found


def test_problems_from_another_repository_are_counted_never_shown() -> None:
    secret = ConfigIssue(
        "acme/.github:.github/incident.yml",
        "calendar.timezone",
        "unknown timezone 'hunter2'",
        foreign=True,
    )
    own = ConfigIssue("acme/web:.github/incident.yml", "pir.path", "must be relative")
    assert "hunter2" not in str(secret) and "calendar" not in str(secret)
    assert "hunter2" not in secret.public_text()
    assert own.public_text() == "pir.path: must be relative"
    assert str(own) == "acme/web:.github/incident.yml: pir.path: must be relative"
    shown = public_problems([own, secret, secret, replace(secret, location="x", message="y")])
    assert [str(p) for p in shown] == [
        "acme/web:.github/incident.yml: pir.path: must be relative",
        "acme/.github:.github/incident.yml: file: 2 problem(s); details are not shown here: "
        "run incident-app check-config on that file",
    ]
    assert public_problems(shown) == shown
    assert not any(p.foreign for p in shown)
