"""Tests of app/core/messages/formatting: user text made safe, bodies cut to GitHub's limit."""

from __future__ import annotations

from app.core import markers
from app.core.messages import MAX_BODY, cell, fit


def test_user_text_cannot_break_a_table_cell() -> None:
    hostile = "a | b\n```\n</details><script>@everyone"
    assert "|" not in cell(hostile).replace("\\|", "")
    assert "\n" not in cell(hostile) and "<" not in cell(hostile)
    assert "@\u200beveryone" in cell(hostile)


def test_hostile_comment_text_is_neutralised_where_the_app_repeats_it() -> None:

    text = cell("@everyone | <img src=x onerror=alert(1)> " + "@a " * 500)
    assert "@everyone" not in text and "<img" not in text and "|" not in text.replace("\\|", "")
    assert len(text) <= 400


def test_a_body_longer_than_github_allows_is_cut_keeping_its_marker() -> None:

    marker = markers.render(markers.PirFallback())
    body = fit("x" * 100_000 + "\n\n" + marker)
    assert len(body) <= MAX_BODY
    assert body.endswith(marker)
    assert markers.parse(body) == [markers.PirFallback()]
