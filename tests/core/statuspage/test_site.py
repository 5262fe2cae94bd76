"""The public site rendered from its history (issue 24): the same history gives the same
files; index, incident pages, Atom feed and status.json say what customers may read."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree

import pytest

from app.core.commands import ComponentState
from app.core.statuspage import (
    History,
    PublicIncident,
    PublicStatus,
    PublicUpdate,
    SiteConfig,
    read_history,
    render,
    site_url,
)
from app.core.statuspage.current import components, indicator

T = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
H = timedelta(hours=1)
CONFIG = SiteConfig("Acme status", "https://acme.github.io/status/", ("API", "Checkout"))
ATOM = "{http://www.w3.org/2005/Atom}"


def _incident(
    id: str = "a1b2c3d4e5f6a7b8c9d0",
    *,
    at: datetime = T,
    resolved: bool = False,
    components: tuple[tuple[str, ComponentState], ...] = (
        ("Checkout", ComponentState.PARTIAL_OUTAGE),
    ),
) -> PublicIncident:
    updates = [PublicUpdate(at + H, PublicStatus.IDENTIFIED, "Some payments <fail>. We know why.")]
    if resolved:
        updates.append(PublicUpdate(at + 2 * H, PublicStatus.RESOLVED, "Fixed."))
    return PublicIncident(
        id=id,
        title="Checkout problems",
        impact="major",
        created_at=at,
        updates=tuple(updates),
        components=components,
        resolved_at=at + 2 * H if resolved else None,
    )


def test_the_same_history_renders_the_same_files() -> None:
    history = History().merged([_incident()])
    first = render(CONFIG, history, now=T + 3 * H)
    again = render(CONFIG, read_history(first["history.json"]), now=T + 5 * H)
    assert first == again
    assert set(first) == {
        "index.html",
        "feed.atom",
        "status.json",
        "history.json",
        ".nojekyll",
        "incidents/a1b2c3d4e5f6a7b8c9d0.html",
    }


def test_the_index_shows_components_and_open_incidents_escaped() -> None:
    page = render(CONFIG, History().merged([_incident()]), now=T)["index.html"]
    assert '<html lang="en">' in page
    assert 'name="viewport"' in page
    assert "<main" in page and "<header>" in page and "<footer>" in page
    assert "<script" not in page
    assert "Partial System Outage" in page
    assert 'class="state partial-outage">Partial outage' in page
    assert "Some payments &lt;fail&gt;. We know why." in page
    assert 'href="incidents/a1b2c3d4e5f6a7b8c9d0.html"' in page


def test_resolved_incidents_leave_the_components_operational_and_stay_90_days() -> None:
    old = _incident("old000000000000000000", at=T - timedelta(days=120), resolved=True)
    recent = _incident("new000000000000000000", resolved=True)
    files = render(CONFIG, History().merged([old, recent]), now=T + 3 * H)
    page = files["index.html"]
    assert "All Systems Operational" in page
    assert "incidents/new000000000000000000.html" in page
    assert "incidents/old000000000000000000.html" not in page
    assert "incidents/old000000000000000000.html" in files  # its page stays
    # The page says from which day: still true when no change writes it again for months.
    assert "Past incidents since 2026-08-26</h2>" in page
    assert all(c.state is ComponentState.OPERATIONAL for c in components(CONFIG, [old, recent]))


def test_the_worst_open_component_sets_the_indicator() -> None:
    a = _incident("a" * 20, components=(("API", ComponentState.DEGRADED),))
    b = _incident("b" * 20, components=(("API", ComponentState.MAJOR_OUTAGE),))
    assert indicator(CONFIG, [a, b]) == "critical"
    status = json.loads(render(CONFIG, History().merged([a, b]), now=T)["status.json"])["status"]
    assert status == {"indicator": "critical", "description": "Major Service Outage"}
    assert indicator(CONFIG, [_incident("c" * 20, components=())]) == "minor"
    assert indicator(CONFIG, []) == "none"


def test_the_feed_has_one_entry_per_public_update() -> None:
    history = History().merged([_incident(resolved=True), _incident("z" * 20)])
    feed = ElementTree.fromstring(render(CONFIG, history, now=T)["feed.atom"])
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 3
    assert feed.findtext(f"{ATOM}updated") == "2026-11-24T17:00:00Z"
    first = entries[0]
    assert first.findtext(f"{ATOM}title") == "Checkout problems: Resolved"
    assert first.find(f"{ATOM}link").get("href") == (  # type: ignore[union-attr]
        "https://acme.github.io/status/incidents/a1b2c3d4e5f6a7b8c9d0.html"
    )


def test_status_json_has_the_summary_fields() -> None:
    data = json.loads(render(CONFIG, History().merged([_incident()]), now=T)["status.json"])
    assert set(data) == {"page", "status", "components", "incidents", "scheduled_maintenances"}
    assert set(data["page"]) >= {"id", "name", "url", "time_zone", "updated_at"}
    assert data["status"] == {"indicator": "major", "description": "Partial System Outage"}
    assert [(c["name"], c["status"]) for c in data["components"]] == [
        ("API", "operational"),
        ("Checkout", "partial_outage"),
    ]
    [incident] = data["incidents"]
    assert incident["status"] == "identified"
    assert incident["impact"] == "major"
    assert incident["shortlink"].endswith("/incidents/a1b2c3d4e5f6a7b8c9d0.html")
    assert incident["incident_updates"][0]["body"] == "Some payments <fail>. We know why."


def test_a_cname_found_is_kept() -> None:
    files = render(CONFIG, History(), now=T, cname="status.acme.com\n")
    assert files["CNAME"] == "status.acme.com\n"


@pytest.mark.parametrize(
    ("repository", "cname", "url"),
    [
        ("acme/status", None, "https://acme.github.io/status/"),
        ("Acme/acme.github.io", None, "https://acme.github.io/"),
        ("acme/status", "status.acme.com\n", "https://status.acme.com/"),
    ],
)
def test_where_pages_serves_the_site(repository: str, cname: str | None, url: str) -> None:
    assert site_url(repository, cname) == url


def test_an_unreadable_history_is_an_empty_one() -> None:
    assert read_history("not json") == History()
    assert read_history('{"incidents": [{"id": 1}]}') == History()
    assert read_history(None) == History()


def test_only_the_components_the_site_lists_are_shown() -> None:
    named = _incident(
        components=(("checkout", ComponentState.DEGRADED), ("db-7", ComponentState.MAJOR_OUTAGE))
    )
    assert named.limited_to(CONFIG.components).components == (
        ("Checkout", ComponentState.DEGRADED),
    )
    assert named.limited_to(()) == named  # a site without a list shows what incidents name
