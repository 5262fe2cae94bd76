"""Who may act on an incident: commands' authors, contested label changes and closes, and
when a declaration counts as confirmed (behaviour §3, §8)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from app.core import commands as cmd
from app.core import markers
from app.core.labels import (
    FLAGS,
    INCIDENT,
    SEVERITIES,
    STATUSES,
)
from app.core.policy import Confirm, Policy
from app.core.snapshot import Comment, Event, Snapshot
from app.core.state.model import CommandUse

_CONTESTED_ADDS = frozenset({*SEVERITIES, *STATUSES, *FLAGS})


# Labels whose putting on by someone with authority confirms a declaration: the incident's
# own labels too (a maintainer labelling `incident` has touched it), never a removal.
_CONFIRMING = frozenset({INCIDENT, *_CONTESTED_ADDS})


_CONTESTED_REMOVALS = frozenset({*FLAGS, INCIDENT})


def authorized(comment: Comment, snapshot: Snapshot, policy: Policy) -> bool:
    """May this comment's author give commands? (behaviour §3: write access, or the roster)."""
    if comment.ours or comment.author_is_bot:
        return False
    login = comment.author.lower()
    return login in snapshot.authorized or login in policy.roster_logins


def may_act(login: str, snapshot: Snapshot, policy: Policy) -> bool:
    """May this person change an incident's severity or status? (as for commands)"""
    return login.lower() in snapshot.authorized or login.lower() in policy.roster_logins


def recorders(policy: Policy, roles: Mapping[str, list[str]]) -> set[str]:
    """Who may record that legal or the regulator was notified (lower-case logins): the
    holders of `breach.recorders` on the incident."""
    return {m[1:].lower() for role in policy.breach.recorders for m in roles.get(role, [])}


def briefed_at(snapshot: Snapshot) -> datetime | None:
    """When the app posted its brief (its own comment with the brief's marker), if it did."""
    return min(
        (c.created_at for c in snapshot.comments if c.ours and markers.of(markers.Brief, c.body)),
        default=None,
    )


def contested_events(snapshot: Snapshot) -> list[Event]:
    """What only responders may do: people's closes and reopens, and after the app's brief
    their `sev:`, `status:` and flag labels, and removing `incident`, the last `sev:` label or
    a flag label.

    Labels set until the app's brief are the declaration, whoever set them (an issue form
    may label for its author); only later changes need authority.
    """
    briefed = briefed_at(snapshot)
    found = []
    present: set[str] = set()
    for event in snapshot.events:
        label = event.label
        if label is not None and event.kind == "labeled":
            present.add(label)
        elif label is not None and event.kind == "unlabeled":
            present.discard(label)
        if event.ours:
            continue
        if event.kind in ("closed", "reopened"):
            found.append(event)
        elif briefed is None or event.at <= briefed or label is None:
            continue
        elif (event.kind == "labeled" and label in _CONTESTED_ADDS) or (
            event.kind == "unlabeled"
            and (
                label in _CONTESTED_REMOVALS
                or (label in SEVERITIES and not present & SEVERITIES.keys())
            )
        ):
            found.append(event)
    return found


def needs_confirmation(snapshot: Snapshot, policy: Policy) -> bool:
    """Does a declaration here wait for someone with authority before it pages? Issues the
    app opened itself (alerts, scheduled drills) never do."""
    confirm = policy.declarations.confirm
    if snapshot.issue.ours or confirm is Confirm.NEVER:
        return False
    return confirm is Confirm.ALWAYS or not snapshot.repo.private


def label_actors(snapshot: Snapshot) -> set[str]:
    """People whose label changes may confirm a declaration (their authority is read)."""
    return {e.actor for e in snapshot.events if not e.ours and e.actor and e.label is not None}


def command_uses(snapshot: Snapshot, policy: Policy) -> list[CommandUse]:
    """Every command in every human comment as first posted, oldest first."""
    uses: list[CommandUse] = []
    for comment in sorted(snapshot.comments, key=lambda c: (c.created_at, c.id)):
        if comment.ours or comment.author_is_bot or comment.edited:
            continue
        ok = authorized(comment, snapshot, policy)
        uses.extend(CommandUse(comment, c, ok) for c in cmd.parse(comment.body))
    return uses


def confirmation(
    snapshot: Snapshot, policy: Policy, uses: list[CommandUse], declared: datetime
) -> dict[str, Any]:
    """When and by whom the declaration was confirmed (behaviour §8): the declaration itself
    where no confirmation is needed; the app's own record of it (a brief posted confirmed, a
    `Confirmed` note), which stays whatever happens to its cause; else the first command, or
    `sev:`, `status:` or flag label put on, by someone with authority since the declaration.
    Closing it or taking its labels off dismisses a report rather than confirming it."""
    if not needs_confirmation(snapshot, policy):
        return {"confirmed_at": declared, "confirmed_by": ""}
    for comment in sorted(snapshot.comments, key=lambda c: (c.created_at, c.id)):
        if not comment.ours:
            continue
        for marker in markers.parse(comment.body):
            if isinstance(marker, markers.Confirmed):
                return {"confirmed_at": comment.created_at, "confirmed_by": marker.by}
            if isinstance(marker, markers.Brief) and not marker.unconfirmed:
                return {"confirmed_at": comment.created_at, "confirmed_by": ""}
    found = [
        (e.at, e.actor)
        for e in snapshot.events
        if not e.ours
        and e.actor
        and e.at >= declared
        and e.kind == "labeled"
        and e.label in _CONFIRMING
        and may_act(e.actor, snapshot, policy)
    ]
    found += [
        (use.comment.created_at, use.comment.author)
        for use in uses
        if use.authorized
        and use.comment.created_at >= declared
        and not isinstance(use.command, cmd.Invalid | cmd.Help)
    ]
    if not found:
        return {"confirmed_at": None, "confirmed_by": ""}
    at, who = min(found, key=lambda f: f[0])
    return {"confirmed_at": at, "confirmed_by": who}
