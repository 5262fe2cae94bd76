"""The Atom feed read as feed readers read it (feedparser): valid, one entry per public
update, linking each to its incident's page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import feedparser

from app.core.statuspage import History, PublicIncident, PublicStatus, PublicUpdate, SiteConfig
from app.core.statuspage.feed import atom

T = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
CONFIG = SiteConfig("Acme <status>", "https://status.acme.com/", ())


def test_the_feed_parses_with_one_entry_per_update() -> None:
    incident = PublicIncident(
        id="a1b2c3d4e5f6a7b8c9d0",
        title="Payments & refunds",
        impact="major",
        created_at=T,
        updates=(
            PublicUpdate(T + timedelta(minutes=5), PublicStatus.INVESTIGATING, "Looking <now>."),
            PublicUpdate(T + timedelta(minutes=50), PublicStatus.RESOLVED, "Fixed & done."),
        ),
        resolved_at=T + timedelta(minutes=50),
    )
    feed = feedparser.parse(atom(CONFIG, History().merged([incident]).ordered()))
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    assert feed.feed.title == "Acme <status>"
    assert [e.title for e in feed.entries] == [
        "Payments & refunds: Resolved",
        "Payments & refunds: Investigating",
    ]
    newest = feed.entries[0]
    assert newest.link == "https://status.acme.com/incidents/a1b2c3d4e5f6a7b8c9d0.html"
    assert newest.id.endswith("#update-2")
    assert newest.summary == "Fixed & done."
    assert newest.updated_parsed[:5] == (2026, 11, 24, 15, 50)


def test_an_empty_site_has_a_valid_empty_feed() -> None:
    feed = feedparser.parse(atom(CONFIG, []))
    assert not feed.bozo
    assert feed.entries == []
