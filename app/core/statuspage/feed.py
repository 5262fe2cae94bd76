"""The site's Atom feed (RFC 4287): one entry per public update, newest first."""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from app.core.statuspage.model import PublicIncident, SiteConfig, iso

FEED_LIMIT = 100  # entries; readers poll, and the site keeps every update besides
EPOCH = "1970-01-01T00:00:00Z"


def atom(config: SiteConfig, incidents: list[PublicIncident]) -> str:
    """The feed of every incident's updates; its `updated` is the newest entry's."""
    entries = sorted(
        (
            (update.at, incident, number, update)
            for incident in incidents
            for number, update in enumerate(incident.updates, 1)
        ),
        key=lambda e: (e[0], e[1].id, e[2]),
        reverse=True,
    )[:FEED_LIMIT]
    updated = iso(entries[0][0]) if entries else EPOCH
    own = quoteattr(config.url + "feed.atom")
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom">',
        f"<title>{escape(config.title)}</title>",
        f"<id>{escape(config.url)}</id>",
        f'<link rel="alternate" type="text/html" href={quoteattr(config.url)}/>',
        f'<link rel="self" type="application/atom+xml" href={own}/>',
        f"<updated>{updated}</updated>",
        f"<author><name>{escape(config.title)}</name></author>",
    ]
    for at, incident, number, update in entries:
        page = f"{config.url}incidents/{incident.id}.html"
        lines += [
            "<entry>",
            f"<title>{escape(f'{incident.title}: {update.status.label}')}</title>",
            f"<id>{escape(f'{page}#update-{number}')}</id>",
            f'<link rel="alternate" type="text/html" href={quoteattr(page)}/>',
            f"<updated>{iso(at)}</updated>",
            f"<published>{iso(at)}</published>",
            f'<content type="text">{escape(update.text)}</content>',
            "</entry>",
        ]
    lines += ["</feed>", ""]
    return "\n".join(lines)
