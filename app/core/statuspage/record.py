"""An incident's public record, folded from its state: what customers may read of it (pure).

Only authorised `/public`, `/public title`, `/component` (and the PUBLIC UPDATE template)
count; nothing else of the issue — its title, status updates, comments, alerts, repository —
ever reaches the record. An incident is listed after its first `/public` or `/component`;
drills never, sensitive incidents (security, breach) only after an explicit `/public`.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from app.core import commands as cmd
from app.core import markers, messages
from app.core.commands import ComponentState, Status
from app.core.labels import CUSTOMER_FACING
from app.core.snapshot import Snapshot
from app.core.state import CommandUse, IncidentState
from app.core.statuspage.model import IMPACT, PublicIncident, PublicStatus, PublicUpdate

ID_LENGTH = 20


def public_uses(state: IncidentState) -> list[CommandUse]:
    """The authorised public commands, oldest first."""
    return [u for u in state.uses if u.authorized and isinstance(u.command, cmd.PUBLIC_COMMANDS)]


def listed(state: IncidentState) -> bool:
    """Does this incident appear on the public site? (module docstring)"""
    if state.drill or not state.confirmed:
        return False
    uses = public_uses(state)
    if any(isinstance(u.command, cmd.Publish) for u in uses):
        return True
    return not state.sensitive and any(isinstance(u.command, cmd.SetComponent) for u in uses)


def opaque_id(snapshot: Snapshot, state: IncidentState) -> str | None:
    """The id of the incident's page: the one its record note keeps, else a digest of its
    first public command's comment (GitHub's global comment id and time: not derivable from
    the repository and issue number), so every replica computes the same one."""
    recorded = state.notes_of(markers.PublicRecord)
    if recorded:
        return recorded[0].marker.id
    uses = public_uses(state)
    if not uses:
        return None
    first = uses[0].comment
    seed = (
        f"incident-app/statuspage:{snapshot.repo.full_name}#{snapshot.issue.number}:"
        f"{first.id}:{first.created_at.isoformat()}"
    )
    return hashlib.sha256(seed.encode()).hexdigest()[:ID_LENGTH]


def public_incident(snapshot: Snapshot, state: IncidentState) -> PublicIncident | None:
    """The incident as the public site shows it, or None when it is not listed."""
    incident_id = opaque_id(snapshot, state)
    if incident_id is None or not listed(state):
        return None
    title = messages.DEFAULT_TITLES[state.severity]
    components: dict[str, tuple[str, ComponentState]] = {}
    updates: list[PublicUpdate] = []
    for use in public_uses(state):
        command, at = use.command, use.comment.created_at
        if isinstance(command, cmd.PublicTitle):
            title = command.text
        elif isinstance(command, cmd.SetComponent):
            name = components.get(command.name.lower(), (command.name, command.state))[0]
            components[command.name.lower()] = (name, command.state)
        elif isinstance(command, cmd.Publish):
            status = PublicStatus.RESOLVED if command.final else _status_at(state, at)
            updates.append(PublicUpdate(at, status, command.text, comment=use.comment.id))
    resolved_at = _resolution(state, updates)
    return PublicIncident(
        id=incident_id,
        title=title,
        impact=IMPACT[state.severity],
        created_at=state.declared_at,
        updates=tuple(updates),
        components=tuple(components.values()),
        resolved_at=resolved_at,
    )


def _status_at(state: IncidentState, at: datetime) -> PublicStatus:
    """The public status at `at`: the internal one then, as customers name it (a resolved
    incident's later update without `resolved` reads as investigating again)."""
    current = state.status_changes[0].value
    for change in state.status_changes:
        if change.at <= at:
            current = change.value
    if current is Status.RESOLVED:
        return PublicStatus.MONITORING
    return PublicStatus.of(current)


def _resolution(state: IncidentState, updates: list[PublicUpdate]) -> datetime | None:
    """When customers were told it is over: the last update if it was `/public resolved`;
    else the internal resolution, for which the app adds the final entry (in `updates`)."""
    if updates and updates[-1].status is PublicStatus.RESOLVED:
        return updates[-1].at
    if state.status is not Status.RESOLVED:
        return None
    at = max([state.status_since, *(u.at for u in updates)])
    text = messages.resolved_text(at - state.declared_at)
    updates.append(PublicUpdate(at, PublicStatus.RESOLVED, text, automatic=True))
    return at


def customer_facing(state: IncidentState) -> bool:
    return CUSTOMER_FACING in state.flags


def impact_share(state: IncidentState) -> float | None:
    """The share of users affected, in percent: the last `/impact`, or a status update's
    `Impact:` that states a percentage, whichever came later."""
    found: list[tuple[datetime, float]] = [
        (u.comment.created_at, u.command.percent)
        for u in state.uses
        if u.authorized and isinstance(u.command, cmd.SetImpact)
    ]
    for update in state.updates:
        share = cmd.impact_percent(update.fields.impact)
        if share is not None:
            found.append((update.at, share))
    return max(found, key=lambda f: f[0])[1] if found else None


def impact_statements(state: IncidentState) -> list[tuple[int, float]]:
    """Each authorised comment that stated the impact (`/impact`, or a status update's
    `Impact:` with a percentage): its id and the percentage, in GitHub's order."""
    found: list[tuple[int, float]] = []
    for use in state.uses:
        command = use.command
        if not use.authorized:
            continue
        if isinstance(command, cmd.SetImpact):
            found.append((use.comment.id, command.percent))
        elif isinstance(command, cmd.SetStatus):
            share = cmd.impact_percent(command.fields.impact)
            if share is not None:
                found.append((use.comment.id, share))
    return found
