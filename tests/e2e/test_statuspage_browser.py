"""The public status site as a customer sees it: the files the app committed to the Pages
branch (over the GitHub double), opened in headless Chromium with JavaScript off, at a
phone's width. Screenshots are kept in test-artifacts/."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import pytest
from playwright.async_api import Page, async_playwright, expect

from tests.conftest import Harness
from tests.e2e.test_statuspage import BRANCH, INTERNAL, SITE_REPO, declared, say
from tests.web.test_browser import ARGS, ARTIFACTS, CHROMIUM, TIMEOUT_MS

pytestmark = pytest.mark.anyio

PHONE = {"width": 375, "height": 740}


async def assert_accessible(page: Page) -> None:
    """One h1, headings that never skip a level, the page's language, landmarks, a skip
    link to the main content."""
    levels = await page.locator("h1, h2, h3, h4, h5, h6").evaluate_all(
        "hs => hs.map(h => Number(h.tagName[1]))"
    )
    assert levels.count(1) == 1 and levels[0] == 1, levels
    assert all(b - a <= 1 for a, b in pairwise(levels)), levels
    assert await page.locator("html").get_attribute("lang") == "en"
    for role in ("banner", "main", "contentinfo"):
        await expect(page.get_by_role(role)).to_have_count(1)
    await expect(page.get_by_role("link", name="Skip to content")).to_have_attribute(
        "href", "#main"
    )


async def test_a_customer_reads_the_status_site_on_a_phone(
    harness: Harness, tmp_path: Path
) -> None:
    await declared(harness)
    await say(harness, f"/status mitigating {INTERNAL}")
    await say(
        harness,
        "/public title Checkout problems\n"
        "/public Some customers cannot pay by card. We found the cause and are fixing it.\n"
        "/component Checkout partial-outage",
    )
    for path, text in harness.github.git_files(SITE_REPO, BRANCH).items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    ARTIFACTS.mkdir(exist_ok=True)

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=str(CHROMIUM), args=ARGS, timeout=TIMEOUT_MS
        )
        try:
            context = await browser.new_context(java_script_enabled=False, viewport=PHONE)
            page = await context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            await page.goto((tmp_path / "index.html").as_uri())

            await expect(page).to_have_title("Acme status")
            await expect(page.get_by_role("heading", level=1)).to_have_text("Acme status")
            await expect(page.get_by_role("main")).to_be_visible()
            await expect(page.get_by_text("Partial System Outage")).to_be_visible()
            checkout = page.locator("ul.components li", has_text="Checkout")
            await expect(checkout).to_contain_text("Partial outage")
            await expect(page.locator("ul.components li", has_text="API")).to_contain_text(
                "Operational"
            )
            await expect(page.get_by_text("Some customers cannot pay by card.")).to_be_visible()
            text = await page.locator("body").inner_text()
            assert "db-7" not in text and "rohan" not in text
            box = await page.locator("main").bounding_box()
            assert box is not None and box["width"] <= PHONE["width"]  # no sideways scrolling
            await assert_accessible(page)
            await page.screenshot(path=str(ARTIFACTS / "status-site.png"), full_page=True)

            await page.get_by_role("link", name="Checkout problems").click()
            await expect(page.get_by_role("heading", level=1)).to_have_text("Checkout problems")
            await expect(page.get_by_role("heading", name="Updates")).to_be_visible()
            await expect(page.get_by_text("Identified", exact=True)).to_be_visible()
            await assert_accessible(page)
            await page.screenshot(path=str(ARTIFACTS / "status-site-incident.png"), full_page=True)
            await page.get_by_role("link", name="Acme status").click()
            await expect(page.get_by_role("heading", level=1)).to_have_text("Acme status")
        finally:
            await browser.close()


async def test_long_words_never_make_a_phone_scroll_sideways(
    harness: Harness, tmp_path: Path
) -> None:
    await declared(harness)
    harness.github.files[(SITE_REPO.lower(), ".github/incident.yml")] = (
        "site:\n  title: Acme status\n  components: [API, " + "Checkout" * 7 + "]\n"
    )
    await say(harness, "/public title " + "Checkout" * 15)
    await say(harness, "/public " + "x" * 300 + f"\n/component {'Checkout' * 7} degraded")
    for path, text in harness.github.git_files(SITE_REPO, BRANCH).items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=str(CHROMIUM), args=ARGS, timeout=TIMEOUT_MS
        )
        try:
            context = await browser.new_context(java_script_enabled=False, viewport=PHONE)
            page = await context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            for path in ["index.html"] + [
                str(p.relative_to(tmp_path)) for p in (tmp_path / "incidents").iterdir()
            ]:
                await page.goto((tmp_path / path).as_uri())
                width = await page.evaluate("document.documentElement.scrollWidth")
                assert width <= PHONE["width"], path
            await page.screenshot(
                path=str(ARTIFACTS / "status-site-long-words.png"), full_page=True
            )
        finally:
            await browser.close()
