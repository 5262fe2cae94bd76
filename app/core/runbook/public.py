"""Telling customers (runbook "Status Page Updates"): the incident's note that it is on the
public site, and the communication lead's reminders when a public update is due.

P0/P1 want a public update every `public_every` (their update interval by default); P2 its
first within `public_first_within` (4 h) of the declaration, then as its updates; P3 daily,
and only while labelled `customer-facing`. Each window is reminded once (its marker).
"""

from __future__ import annotations

from datetime import datetime

from app.core import commands as cmd
from app.core import markers, messages
from app.core.actions import Action, PostComment
from app.core.commands import Status
from app.core.labels import CUSTOMER_FACING
from app.core.policy import Policy
from app.core.runbook.situation import Situation
from app.core.state import IncidentState
from app.core.statuspage import listed, opaque_id

MAX_WINDOWS = 1000  # a bound on the walk over windows (a year of 15-minute windows is 35 040)


def tells_customers(policy: Policy) -> bool:
    """Does this repository publish anything: a status site, or notifiers for public updates?"""
    return policy.statuspage is not None or any(route.public for route in policy.notify)


def last_public_at(state: IncidentState) -> datetime | None:
    """When the last authorised `/public` (or PUBLIC UPDATE) was posted."""
    times = [
        u.comment.created_at
        for u in state.uses
        if u.authorized and isinstance(u.command, cmd.Publish)
    ]
    return max(times, default=None)


def _cadence_applies(state: IncidentState, policy: Policy) -> bool:
    sp = policy.for_severity(state.severity)
    if not tells_customers(policy) or state.drill or not state.confirmed:
        return False
    if state.status is Status.RESOLVED:
        return False
    if sp.public_only_customer_facing and CUSTOMER_FACING not in state.flags:
        return False
    # A sensitive incident goes public only by someone's explicit choice: no nudging first.
    return not state.sensitive or listed(state)


def public_due(state: IncidentState, policy: Policy, now: datetime) -> datetime | None:
    """The due time of the public-update window open at `now` (not reminded yet), or of the
    next one; None when no public update is due at all. Pure: the wake-up for this incident
    is at the returned time (when it is after `now`)."""
    if not _cadence_applies(state, policy):
        return None
    sp = policy.for_severity(state.severity)
    cal = policy.business_calendar
    every = sp.public_every or sp.update_every
    last = last_public_at(state)
    due = (sp.public_first_within or every).after(state.declared_at, cal)
    if last is not None:
        due = every.after(last, cal)
    reminded = {n.marker.due for n in state.notes_of(markers.PublicReminder)}
    for _ in range(MAX_WINDOWS):
        following = every.after(due, cal)
        if due > now or (following > now and due.isoformat() not in reminded):
            return due
        due = following
    return due


def next_public_due(s: Situation) -> datetime | None:
    """`public_due` for a plan's situation (the name the wake-ups use)."""
    return public_due(s.state, s.policy, s.now)


def reminder(s: Situation) -> list[Action]:
    """One reminder per window in which no public update came."""
    due = next_public_due(s)
    if due is None or due > s.now:
        return []
    state, policy = s.state, s.policy
    who = state.roles.get("communication_lead") or policy.holders("communication_lead")
    sp = policy.for_severity(state.severity)
    last = last_public_at(state)
    if last is None and sp.public_first_within is not None:
        why = f"the first within {sp.public_first_within} of the declaration"
    else:
        why = f"every {sp.public_every or sp.update_every}"
    said = "None was posted yet." if last is None else "The last one is older than that."
    body = messages.public_reminder(
        policy=policy, severity=state.severity, due=due, who=list(who), why=why, last=said
    )
    return [PostComment(body, markers.PublicReminder.KIND)]


def record(s: Situation) -> list[Action]:
    """Once the incident is listed on the repository's status site, say so on the issue (its
    marker keeps the page's id)."""
    site = s.policy.statuspage
    if site is None or s.state.notes_of(markers.PublicRecord) or not listed(s.state):
        return []
    incident_id = opaque_id(s.snapshot, s.state)
    if incident_id is None:
        return []
    return [
        PostComment(messages.record_note(site.repository, incident_id), markers.PublicRecord.KIND)
    ]
