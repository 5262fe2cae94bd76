"""What the site says now: each component's state, the page's indicator, where it is served."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from app.core.commands import ComponentState
from app.core.statuspage.model import History, PublicIncident, SiteConfig

HISTORY_DAYS = 90

# Statuspage's page indicator, from the worst component state of the open incidents.
INDICATORS = {
    "none": "All Systems Operational",
    "minor": "Minor Service Outage",
    "major": "Partial System Outage",
    "critical": "Major Service Outage",
}
_INDICATOR_OF = {
    ComponentState.OPERATIONAL: "none",
    ComponentState.DEGRADED: "minor",
    ComponentState.PARTIAL_OUTAGE: "major",
    ComponentState.MAJOR_OUTAGE: "critical",
}
_ORDER = ("none", "minor", "major", "critical")


@dataclass(frozen=True)
class Component:
    """A component as customers see it now, and when that last changed."""

    name: str
    state: ComponentState
    since: datetime | None


def site_url(repository: str, cname: str | None) -> str:
    """Where GitHub Pages serves the site: its custom domain, the user or organisation site,
    or the project site under the owner's github.io."""
    if cname and cname.strip():
        return f"https://{cname.strip().splitlines()[0].strip().rstrip('/')}/"
    owner, name = repository.split("/", 1)
    if name.lower() == f"{owner.lower()}.github.io":
        return f"https://{name.lower()}/"
    return f"https://{owner.lower()}.github.io/{name}/"


def components(config: SiteConfig, incidents: list[PublicIncident]) -> list[Component]:
    """Each component's state now: the worst an open incident gives it, else operational.
    The configured components first, in order; then any other an open incident named."""
    found: dict[str, Component] = {
        name.lower(): Component(name, ComponentState.OPERATIONAL, None)
        for name in config.components
    }
    for incident in incidents:
        for name, state in incident.components:
            known = found.get(name.lower())
            if known is None:
                if not incident.open:
                    continue
                known = Component(name, ComponentState.OPERATIONAL, None)
            since = max(filter(None, [known.since, incident.updated_at]))
            worse = incident.open and state.rank > known.state.rank
            found[name.lower()] = Component(known.name, state if worse else known.state, since)
    return list(found.values())


def indicator(config: SiteConfig, incidents: list[PublicIncident]) -> str:
    """Statuspage's page indicator: none, minor, major or critical."""
    worst = "none"
    for part in components(config, incidents):
        worst = max(worst, _INDICATOR_OF[part.state], key=_ORDER.index)
    if worst == "none" and any(i.open for i in incidents):
        worst = "minor"
    return worst


def history_start(now: datetime) -> datetime:
    """Where the front page's history begins: 90 days before `now`."""
    return now - timedelta(days=HISTORY_DAYS)


def recent(history: History, now: datetime) -> list[PublicIncident]:
    """The open incidents and those updated in the last 90 days, newest first."""
    since = history_start(now)
    return [i for i in history.ordered() if i.open or i.updated_at >= since]
