"""The review section of the config (app/core/policy/sections.py): rounds, the folder, the label."""

from __future__ import annotations

import json

import pytest

from app.github.config import bundled_policy, check_text
from tests.factories import config_problems as problems


def test_the_review_allows_three_rounds_unless_configured() -> None:
    assert bundled_policy().pir.max_rounds == 3
    assert check_text("pir:\n  max_rounds: 5\n", source="x").pir.max_rounds == 5


CHARACTERS = "only letters, digits, '.', '_' and '-' between the slashes"


PATH_RULE = "pir.path: must be a relative folder in this repository such as ops/docs/incidents"


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("../../victim/contents/docs", "no . or .. segment"),
        ("ops/../../victim", "no . or .. segment"),
        ("ops/./docs", "no . or .. segment"),
        ("/etc/docs", "no leading /"),
        ("https://evil.example/docs", "not a URL"),
        ("ops\\docs", "no backslash"),
        ("ops//docs", "no empty segment (//)"),
        ("", "no empty segment (//)"),
        ("ops/docs?ref=evil", CHARACTERS),
        ("ops/%2e%2e/docs", CHARACTERS),
        ("ops/d o c s", CHARACTERS),
        ("a/" * 101 + "b", "at most 200 characters"),
    ],
)
def test_the_review_folder_stays_inside_the_repository(path: str, why: str) -> None:
    (found,) = problems(f"pir:\n  path: {json.dumps(path)}\n")
    assert found == f"{PATH_RULE}: {why}"
    assert path not in found or path == ""


@pytest.mark.parametrize(
    ("text", "folder"),
    [
        ("ops/docs/incidents", "ops/docs/incidents"),
        ("docs/", "docs"),
        (".github/pir", ".github/pir"),
    ],
)
def test_ordinary_review_folders_are_accepted(text: str, folder: str) -> None:
    assert check_text(f"pir:\n  path: {text}\n", source="x").pir.path == folder


@pytest.mark.parametrize("label", ["pir,incident", "x" * 51, "", "   ", "pir\nlabel"])
def test_the_review_label_must_be_a_github_label(label: str) -> None:
    (found,) = problems(f"pir:\n  label: {json.dumps(label)}\n")
    assert found == "pir.label: must be a GitHub label: 1 to 50 characters, no commas"


def test_ordinary_review_labels_are_accepted() -> None:
    assert check_text("pir:\n  label: 'post-incident review 🔍'\n", source="x").pir.label == (
        "post-incident review 🔍"
    )
