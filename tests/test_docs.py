"""The docs a newcomer walks: README stays a short front door that reaches every docs page,
and the site's navigation lists every page (mkdocs.yml; `mkdocs build --strict` in .ci/run
fails on a page left out of it or a broken link)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted(p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs").rglob("*.md"))


def nav_pages(node: object) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, list):
        return [page for item in node for page in nav_pages(item)]
    if isinstance(node, dict):
        return [page for value in node.values() for page in nav_pages(value)]
    return []


def test_readme_is_short_and_links_every_docs_page() -> None:
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) < 250
    linked = set(re.findall(r"\(docs/([\w/.-]+\.md)", readme))
    assert [page for page in PAGES if page not in linked and page != "index.md"] == []


def test_the_site_navigation_lists_every_page() -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    assert sorted(nav_pages(config["nav"])) == PAGES


def test_the_on_call_guide_s_rotations_are_valid_and_warn_of_nothing_all_year() -> None:
    from datetime import UTC, datetime

    from app.core.oncall.views import warnings
    from app.github.config import check_text

    text = (ROOT / "docs" / "user-guide" / "oncall.md").read_text(encoding="utf-8")
    blocks = [b.split("```", 1)[0] for b in text.split("```yaml\n")[1:]]
    teams = [b for b in blocks if "members:" in b]
    assert len(teams) == 2  # the weekly team and the follow-the-sun team
    for block in teams:
        for month in (1, 7):  # winter and summer: layers must not overlap in either
            found = warnings(
                check_text(block, source="oncall.md"), datetime(2026, month, 15, tzinfo=UTC)
            )
            assert found == [], block
