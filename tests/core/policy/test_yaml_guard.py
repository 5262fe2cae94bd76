"""The hardened YAML reader (app/core/policy/yaml_guard.py): bombs, size, nesting, values YAML cannot build."""

from __future__ import annotations

import pytest

from app.core.policy import (
    Severity,
)
from app.github.config import check_text
from tests.factories import config_problems as problems


def test_yaml_bombs_and_huge_files_are_refused() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for i, prev in zip("bcdefgh", "abcdefg", strict=True):
        bomb += f"{i}: &{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
    assert problems(bomb) == ["file: too many values once aliases are expanded"]
    assert problems("x: " + "y" * 300_000) == ["file: larger than 262144 bytes"]


TOO_DEEP = "file: nested too deeply (more than 64 levels)"


@pytest.mark.parametrize(
    "text",
    [
        "a: " + "[" * 130_000 + "]" * 130_000,
        "[" * 250_000,
        "a: " + "{b: " * 40_000 + "}" * 40_000,
        "- " * 120_000 + "x",
        "".join(" " * i + f"k{i}:\n" for i in range(600)),
        "a: " + "[" * 65 + "]" * 65,
    ],
    ids=["flow-lists", "unclosed", "flow-maps", "block-lists", "indentation", "65-levels"],
)
def test_deeply_nested_yaml_is_refused(text: str) -> None:
    assert problems(text) == [TOO_DEEP]


def test_flow_nesting_is_refused_before_the_yaml_parser_starts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import app.core.policy.yaml_guard as guard

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("the YAML parser was started")

    monkeypatch.setattr(guard.yaml, "SafeLoader", never)
    monkeypatch.setattr(guard, "_Loader", never, raising=False)
    assert problems("a: " + "[" * 130_000 + "]" * 130_000) == [TOO_DEEP]
    assert problems("a: '" + "[" * 100 + "'\nb: [[[x]]]\nc: " + "[" * 100 + "]" * 100) == [TOO_DEEP]


def test_brackets_in_text_and_comments_are_no_nesting() -> None:
    text = (
        "# [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n"
        "severities:\n  P1:\n    name: '"
        + "[" * 70
        + "'\n    checklist: [\"{{{{ "
        + "[" * 70
        + "\", don't panic]  # ]]]]\n"
    )
    policy = check_text(text, source="x")
    assert policy.for_severity(Severity.P1).name == "[" * 70
    assert policy.for_severity(Severity.P1).checklist == ["{{{{ " + "[" * 70, "don't panic"]
    nested_64 = "x: " + "[" * 64 + "]" * 64
    assert problems(nested_64) == ["x: unknown key"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("calendar:\n  extra_holidays: [2026-02-30]\n", "a value cannot be read: day is out of"),
        ("a: 1" + "0" * 5000 + "\n", "a value cannot be read: Exceeds the limit"),
        ("a: \x1f\n", "special characters are not allowed"),
        ('a: "\\uD800"\n', "text that is not valid Unicode"),
    ],
)
def test_values_yaml_cannot_build_are_explained(text: str, expected: str) -> None:
    (found,) = problems(text)
    assert expected in found


def test_values_are_counted_while_the_yaml_is_composed(monkeypatch: pytest.MonkeyPatch) -> None:
    import app.core.policy.yaml_guard as guard

    monkeypatch.setattr(guard, "MAX_CONFIG_NODES", 100)
    assert problems("a: [" + "[], " * 200 + "]\n") == ["file: more than 100 values"]
