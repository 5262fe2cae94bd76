"""`status.json`: the fields Atlassian Statuspage documents for `/api/v2/summary.json`, so
aggregators that read Statuspage pages read this one too."""

from __future__ import annotations

import hashlib
from typing import Any

from app.core.statuspage.current import INDICATORS, components, indicator
from app.core.statuspage.feed import EPOCH
from app.core.statuspage.model import PublicIncident, SiteConfig, iso

TIME_ZONE = "Etc/UTC"


def page_id(config: SiteConfig) -> str:
    return hashlib.sha256(config.url.encode()).hexdigest()[:12]


def _component_id(config: SiteConfig, name: str) -> str:
    return hashlib.sha256(f"{config.url}:{name.lower()}".encode()).hexdigest()[:12]


def summary(config: SiteConfig, incidents: list[PublicIncident]) -> dict[str, Any]:
    """Page, status, components, unresolved incidents, and no scheduled maintenances."""
    pid = page_id(config)
    updated = max((i.updated_at for i in incidents), default=None)
    stamp = iso(updated) if updated else EPOCH
    level = indicator(config, incidents)
    return {
        "page": {
            "id": pid,
            "name": config.title,
            "url": config.url,
            "time_zone": TIME_ZONE,
            "updated_at": stamp,
        },
        "status": {"indicator": level, "description": INDICATORS[level]},
        "components": [
            {
                "id": _component_id(config, part.name),
                "name": part.name,
                "status": part.state.statuspage,
                "created_at": EPOCH,
                "updated_at": iso(part.since) if part.since else EPOCH,
                "position": position,
                "description": None,
                "showcase": True,
                "start_date": None,
                "group_id": None,
                "page_id": pid,
                "group": False,
                "only_show_if_degraded": False,
            }
            for position, part in enumerate(components(config, incidents), 1)
        ],
        "incidents": [_incident(config, pid, i) for i in incidents if i.open],
        "scheduled_maintenances": [],
    }


def _incident(config: SiteConfig, pid: str, incident: PublicIncident) -> dict[str, Any]:
    page = f"{config.url}incidents/{incident.id}.html"
    first = incident.updates[0].at if incident.updates else incident.created_at
    monitoring = [u.at for u in incident.updates if u.status.value == "monitoring"]
    return {
        "id": incident.id,
        "name": incident.title,
        "status": incident.status.value,
        "impact": incident.impact,
        "created_at": iso(first),
        "updated_at": iso(incident.updated_at),
        "monitoring_at": iso(monitoring[-1]) if monitoring else None,
        "resolved_at": iso(incident.resolved_at) if incident.resolved_at else None,
        "started_at": iso(incident.created_at),
        "shortlink": page,
        "page_id": pid,
        "incident_updates": [
            {
                "id": f"{incident.id}-{number}",
                "status": update.status.value,
                "body": update.text,
                "incident_id": incident.id,
                "created_at": iso(update.at),
                "updated_at": iso(update.at),
                "display_at": iso(update.at),
                "affected_components": None,
            }
            for number, update in reversed(list(enumerate(incident.updates, 1)))
        ],
        "components": [
            {"id": _component_id(config, name), "name": name, "status": state.statuspage}
            for name, state in incident.components
        ],
    }
