"""Atlassian Statuspage (REST API v1): one Statuspage incident per incident, created by its
first public update, updated by the next, resolved by the resolution told to customers.

Which Statuspage incident is whose survives restarts and replicas without a store of ours:
each one carries `metadata.incident_app.incident` (an opaque id of the GitHub incident, never
its repository's name), and before writing, the page's unresolved incidents are read
(`GET …/incidents/unresolved`) to find it. Its `metadata.incident_app.update` names the last
event applied, so a redelivered event (after a restart, the ledger of the past process is
gone) changes nothing: no second incident, no second update.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

import httpx

from app.core.notify import Event, Kind
from app.notify.attempts import Attempts, Permanent, Transient
from app.notify.operator import StatuspageNotifier

# Our status (the `status:` label) → a Statuspage incident's status.
STATUSES: dict[str, str] = {
    "investigating": "investigating",
    "mitigating": "identified",
    "monitoring": "monitoring",
    "resolved": "resolved",
}
# Our component states (`/component`) → a Statuspage component's status.
COMPONENT_STATUSES: dict[str, str] = {
    "operational": "operational",
    "degraded": "degraded_performance",
    "partial-outage": "partial_outage",
    "major-outage": "major_outage",
}
METADATA = "incident_app"  # the key of our part of an incident's `metadata`
DEFAULT_NAME = "Service disruption"  # when an update carries no public title
NAME_LIMIT = 255  # Statuspage's limit on an incident's name


def opaque(incident: str) -> str:
    """An id of the GitHub incident that says nothing of it (metadata may be shown)."""
    return hashlib.sha256(f"incident-app:{incident}".encode()).hexdigest()[:24]


def resolves(event: Event) -> bool:
    """The all-clear with its final public entry, or `/public resolved`."""
    return event.kind is Kind.RESOLVED or event.status == "resolved"


def incident_status(event: Event) -> str:
    """The Statuspage status of a public event (STATUSES)."""
    if resolves(event):
        return "resolved"
    return STATUSES.get(event.status, "investigating")


def incident_body(
    event: Event, components: dict[str, str], *, created: bool = True
) -> dict[str, Any]:
    """The `{"incident": …}` body for `event`: name, status, body, components, metadata.
    An event without public text (`/component` alone) changes the components of an incident
    already there, and adds no incident update (neither `status` nor `body`).

    Only the public fields: never the issue's title, its text, its URL or repository."""
    resolved = resolves(event)
    ids = {name.lower(): id_ for name, id_ in components.items()}  # `/component API` is `api`
    states = {
        ids[name.lower()]: "operational" if resolved else COMPONENT_STATUSES[state]
        for name, state in event.components.items()
        if name.lower() in ids and state in COMPONENT_STATUSES
    }
    incident: dict[str, Any] = {
        "name": (event.public_title or DEFAULT_NAME)[:NAME_LIMIT],
        "status": incident_status(event),
        "body": event.public_text,
        "metadata": {METADATA: {"incident": opaque(event.incident), "update": opaque(event.key)}},
    }
    if not event.public_text and not resolved:
        del incident["body"]
        if not created:
            del incident["status"]
    if states:
        incident["component_ids"] = list(states)
        incident["components"] = states
    return {"incident": incident}


class Statuspage:
    """One Statuspage page (its id and API key)."""

    kind = "statuspage"
    public = True

    def __init__(self, config: StatuspageNotifier, *, http: httpx.AsyncClient) -> None:
        self._config = config
        self._http = http
        self._incidents = f"{config.api_url.rstrip('/')}/v1/pages/{config.page_id}/incidents"
        self._headers = {"Authorization": f"OAuth {config.api_key.get_secret_value()}"}

    def wants(self, event: Event) -> bool:
        return event.public and not event.restated  # a restated update was had already

    async def send(self, event: Event, attempts: Attempts) -> None:
        found = await attempts.run(lambda: self._find(event))
        if found is not None:
            ours = (found.get("metadata") or {}).get(METADATA) or {}
            if ours.get("update") == opaque(event.key):
                return  # applied already (a redelivery): nothing changes
            url = f"{self._incidents}/{found['id']}"
            body = incident_body(event, self._config.components, created=False)
            await attempts.run(lambda: self._call("PATCH", url, body))
        elif not resolves(event):
            body = incident_body(event, self._config.components)
            await attempts.run(lambda: self._call("POST", self._incidents, body))
        # A resolution without an open Statuspage incident: resolved there already.

    async def _find(self, event: Event) -> dict[str, Any] | None:
        """The page's unresolved incident of `event`'s GitHub incident, if there is one."""
        listed = await self._call(
            "GET", f"{self._incidents}/unresolved", None, params={"per_page": 100}
        )
        wanted = opaque(event.incident)
        for item in listed if isinstance(listed, list) else []:
            ours = (item.get("metadata") or {}).get(METADATA) if isinstance(item, dict) else None
            if isinstance(ours, dict) and ours.get("incident") == wanted:
                return dict(item)
        return None

    async def _call(
        self,
        method: str,
        url: str,
        body: dict[str, Any] | None,
        *,
        params: dict[str, Any] | None = None,
    ) -> Any:
        try:
            reply = await self._http.request(
                method, url, json=body, params=params, headers=self._headers
            )
        except httpx.TimeoutException:
            raise Transient("Statuspage did not answer in time") from None
        except httpx.TransportError as exc:
            raise Transient(f"Statuspage unreachable ({type(exc).__name__})") from None
        if reply.is_success:
            try:
                return reply.json()
            except ValueError:
                return None
        # 420 is Statuspage's own "enhance your calm": its rate limit, as 429 is.
        if reply.status_code in (420, 429) or reply.status_code >= 500:
            after = reply.headers.get("retry-after", "")
            wait = float(after) if after.isdigit() else None
            raise Transient(f"Statuspage answered {reply.status_code}", wait)
        raise Permanent(f"Statuspage refused {method} ({reply.status_code}): {_message(reply)}")

    async def sweep(self, now: datetime, attempts: Attempts) -> list[str]:
        return []


def _message(reply: httpx.Response) -> str:
    """Statuspage's own words for a refusal (`error` of its JSON body)."""
    try:
        data = reply.json()
    except ValueError:
        return "no details"
    error = data.get("error") if isinstance(data, dict) else None
    text = "; ".join(map(str, error)) if isinstance(error, list) else str(error or "no details")
    return text[:300]
