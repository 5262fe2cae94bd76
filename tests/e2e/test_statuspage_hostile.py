"""Hostile public texts on the status site (issue 24): whatever a `/public` or `/public title`
carries — HTML, script, markdown, mentions, what GitHub hides, a very long text — customers
read it as text, the feed stays valid Atom, status.json valid JSON, and nothing internal
(the repository's name, hidden notes) reaches any file."""

from __future__ import annotations

import json

import feedparser
import pytest

from tests.conftest import Harness
from tests.e2e.test_statuspage import declared, say, site

pytestmark = pytest.mark.anyio

TITLE = '<img src=x onerror=alert(1)> Checkout "problems" & more'
TEXT = '<script>alert("x")</script> See [our blog](https://evil.example) ]]> & @alice <b>bold</b>'
LONG_WORD = "x" * 300


async def test_hostile_public_texts_are_text_everywhere(harness: Harness) -> None:
    await declared(harness)
    await say(harness, f"/public title {TITLE}")
    await say(harness, f"/public {TEXT} <!-- db-7 is down, rohan is on it -->")
    await say(harness, f"/public {LONG_WORD} " + "word " * 300)

    files = site(harness)
    for path, text in files.items():
        for internal in ("db-7", "rohan", "hello-world"):
            assert internal not in text.lower(), (path, internal)
        if path.endswith(".html"):
            assert "<script" not in text and "<img" not in text and "<b>" not in text, path
    index = files["index.html"]
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in index
    assert 'href="https://evil.example"' not in index  # markdown is not rendered: no link
    feed = feedparser.parse(files["feed.atom"])
    assert not feed.bozo, feed.bozo_exception
    assert feed.entries[-1].title.startswith(TITLE)
    assert feed.entries[-1].summary == TEXT
    summary = json.loads(files["status.json"])
    [incident] = summary["incidents"]
    assert incident["name"] == TITLE
    assert [u["body"] for u in incident["incident_updates"]][1] == TEXT


async def test_a_public_update_too_long_is_refused_with_a_reply(harness: Harness) -> None:
    await declared(harness)
    await say(harness, "/public " + "We are investigating. " * 100)
    assert site(harness) == {}  # nothing published, not even a cut-off sentence
    [reply] = [c for c in harness.github.posted_comments() if "at most 2000 characters" in c]
    assert "(this one has 2199)" in reply
