"""Tests of app/core/pir/history: the timeline and its Mermaid chart."""

from __future__ import annotations

from app.core.pir import mermaid_text


def test_user_text_cannot_break_the_mermaid_block() -> None:
    assert all(ch not in mermaid_text("x: y; z %% `w`\n#1") for ch in ":;%`\n#")
