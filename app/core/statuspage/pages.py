"""The site's HTML: the index and one page per incident. No JavaScript; landmarks, headings,
text beside every colour, and a layout that reads on a phone."""

from __future__ import annotations

from datetime import datetime
from html import escape

from app.core.commands import ComponentState
from app.core.statuspage.current import INDICATORS, components, indicator
from app.core.statuspage.model import PublicIncident, SiteConfig, iso

# Colours meet WCAG AA (4.5:1) for their text: white on the banners, and each state's
# colour on white; the state is always written too, never told by colour alone.
STYLE = """
:root{--ink:#1f2328;--muted:#57606a;--line:#d0d7de;--ok:#1a7f37;--minor:#9a6700;
--major:#bc4c00;--critical:#cf222e;--link:#0969da}
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink);
background:#fff;overflow-wrap:anywhere}
.wrap{max-width:46rem;margin:0 auto;padding:1rem}
a{color:var(--link)}
a:focus{outline:3px solid var(--link);outline-offset:2px}
.skip{position:absolute;left:-999px}
.skip:focus{left:1rem;top:1rem;background:#fff;padding:.5rem}
h1{font-size:1.75rem;margin:.5rem 0}
h2{font-size:1.25rem;margin:2rem 0 .5rem;border-bottom:1px solid var(--line)}
h3{font-size:1.1rem;margin:1rem 0 .25rem}
.banner{color:#fff;padding:.75rem 1rem;border-radius:6px;font-weight:600;margin:1rem 0}
.banner.none{background:var(--ok)}.banner.minor{background:var(--minor)}
.banner.major{background:var(--major)}.banner.critical{background:var(--critical)}
ul.components{list-style:none;padding:0;margin:0}
ul.components li{display:flex;flex-wrap:wrap;justify-content:space-between;gap:.5rem;
padding:.5rem 0;border-bottom:1px solid var(--line)}
.state{font-weight:600}
.operational{color:var(--ok)}.degraded{color:var(--minor)}
.partial-outage{color:var(--major)}.major-outage{color:var(--critical)}
ol.updates{list-style:none;padding:0;margin:0}
ol.updates li{padding:.5rem 0;border-bottom:1px solid var(--line)}
.text{white-space:pre-line;overflow-wrap:anywhere;margin:.25rem 0}
.meta{color:var(--muted);font-size:.9rem}
footer{color:var(--muted);font-size:.9rem;margin:2rem 0;border-top:1px solid var(--line);
padding-top:1rem}
@media (max-width:30rem){h1{font-size:1.4rem}.wrap{padding:.75rem}}
""".strip()

NO_INCIDENTS = "No incidents reported."
NO_OPEN = "There are no open incidents."


def _time(moment: datetime) -> str:
    shown = moment.strftime("%Y-%m-%d %H:%M UTC")
    return f'<time datetime="{iso(moment)}">{shown}</time>'


def _page(config: SiteConfig, title: str, body: list[str], *, root: str) -> str:
    """A whole HTML document around `body`; `root` leads from this page to the site's root."""
    head = [
        "<!doctype html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title>",
        f'<link rel="alternate" type="application/atom+xml" title="{escape(config.title)}" '
        f'href="{root}feed.atom">',
        f"<style>{STYLE}</style>",
        "</head>",
        "<body>",
        '<a class="skip" href="#main">Skip to content</a>',
        '<div class="wrap">',
    ]
    foot = [
        "<footer>",
        f'<p><a href="{root}feed.atom">Subscribe to updates (Atom feed)</a> · '
        f'<a href="{root}status.json">status.json</a></p>',
        "</footer>",
        "</div>",
        "</body>",
        "</html>",
        "",
    ]
    return "\n".join(head + body + foot)


def _updates(incident: PublicIncident) -> list[str]:
    lines = ['<ol class="updates">']
    for number, update in reversed(list(enumerate(incident.updates, 1))):
        lines += [
            f'<li id="update-{number}">',
            f"<p><strong>{escape(update.status.label)}</strong> "
            f'<span class="meta">{_time(update.at)}</span></p>',
            f'<p class="text">{escape(update.text)}</p>',
            "</li>",
        ]
    return [*lines, "</ol>"]


def _summary_of(incident: PublicIncident, *, level: int, link: str) -> list[str]:
    h = f"h{level}"
    return [
        '<article class="incident">',
        f'<{h}><a href="{link}">{escape(incident.title)}</a></{h}>',
        f'<p class="meta">{escape(incident.status.label)} · started {_time(incident.created_at)}'
        + (f" · resolved {_time(incident.resolved_at)}" if incident.resolved_at else "")
        + "</p>",
        *_updates(incident),
        "</article>",
    ]


def _component_list(config: SiteConfig, incidents: list[PublicIncident]) -> list[str]:
    parts = components(config, incidents)
    if not parts:
        return []
    lines = [
        '<section aria-labelledby="components">',
        '<h2 id="components">Components</h2>',
        '<ul class="components">',
    ]
    for part in parts:
        lines.append(
            f"<li><span>{escape(part.name)}</span>"
            f'<span class="state {part.state.value}">{escape(part.state.label)}</span></li>'
        )
    return [*lines, "</ul>", "</section>"]


def index(config: SiteConfig, incidents: list[PublicIncident], *, since: datetime) -> str:
    """The front page: the page's status, each component, open incidents with their
    updates, and the past ones `since` (90 days before it was written: the page says the
    day, so it stays true however long no change writes it again)."""
    level = indicator(config, incidents)
    body = [
        "<header>",
        f"<h1>{escape(config.title)}</h1>",
        f'<p class="banner {level}">{escape(INDICATORS[level])}</p>',
        "</header>",
        '<main id="main">',
        *_component_list(config, incidents),
        '<section aria-labelledby="open">',
        '<h2 id="open">Current incidents</h2>',
    ]
    open_now = [i for i in incidents if i.open]
    for incident in open_now:
        body += _summary_of(incident, level=3, link=f"incidents/{incident.id}.html")
    if not open_now:
        body.append(f"<p>{NO_OPEN}</p>")
    body += [
        "</section>",
        '<section aria-labelledby="history">',
        f'<h2 id="history">Past incidents since {since:%Y-%m-%d}</h2>',
    ]
    past = [i for i in incidents if not i.open]
    for incident in past:
        body += _summary_of(incident, level=3, link=f"incidents/{incident.id}.html")
    if not past:
        body.append(f"<p>{NO_INCIDENTS}</p>")
    body += ["</section>", "</main>"]
    return _page(config, config.title, body, root="")


def incident(config: SiteConfig, incident: PublicIncident) -> str:
    """One incident's page, under its opaque id."""
    affected = [
        f'<li>{escape(name)}: <span class="state {state.value}">{escape(state.label)}</span></li>'
        for name, state in incident.components
        if state is not ComponentState.OPERATIONAL or not incident.open
    ]
    body = [
        "<header>",
        f'<p><a href="../index.html">{escape(config.title)}</a></p>',
        f"<h1>{escape(incident.title)}</h1>",
        f'<p class="meta">{escape(incident.status.label)} · started {_time(incident.created_at)}'
        + (f" · resolved {_time(incident.resolved_at)}" if incident.resolved_at else "")
        + "</p>",
        "</header>",
        '<main id="main">',
    ]
    if affected:
        body += [
            '<section aria-labelledby="affected">',
            '<h2 id="affected">Affected components</h2>',
            "<ul>",
            *affected,
            "</ul>",
            "</section>",
        ]
    body += [
        '<section aria-labelledby="updates">',
        '<h2 id="updates">Updates</h2>',
        *_updates(incident),
        "</section>",
        "</main>",
    ]
    return _page(config, f"{incident.title} · {config.title}", body, root="../")
