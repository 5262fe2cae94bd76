"""When something is next due: the moment a wake-up should reconcile an issue again.

Each chapter computes its own deadlines (escalation's steps, communication's reminders, the
review's and action items' due dates, the monthly review's and drills' periods); this module
only asks them for the first one after `now`. Pure: `now` is given, nothing is read.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time, timedelta

from app.core import markers
from app.core.commands import Status
from app.core.oncall import next_handoff
from app.core.policy import Policy
from app.core.runbook.breach import breach_open
from app.core.runbook.communication import next_reminder_at
from app.core.runbook.escalation import breach_schedule, due_steps, posted_steps
from app.core.runbook.oncall import PAGED
from app.core.runbook.public import next_public_due
from app.core.runbook.resolution import resolutions
from app.core.runbook.review import due_date
from app.core.runbook.situation import Situation
from app.core.snapshot import Snapshot

# Escalation tracks are looked ahead this far; a wake-up then looks again.
HORIZON = timedelta(days=366)
# A repository's drills and monthly review are checked at least this often.
REPOSITORY_CHECK = timedelta(days=1)


def next_due(s: Situation, *, archive_after: timedelta | None = None) -> datetime | None:
    """The first moment after `s.now` at which planning this incident again may do
    something: an escalation step, an update reminder, a public-update reminder, a rotation's
    handoff (P0/P1), a breach deadline (resolved or not), or (with Slack's `archive_after`) its
    channel's archiving. None when nothing is ever due again."""
    found = [*_escalation_dues(s), *_breach_dues(s), *_handoff_dues(s)]
    if s.state.status is not Status.RESOLVED:
        found.append(next_reminder_at(s.policy, s.state, s.now))
        if (public := next_public_due(s)) is not None:
            found.append(public)
    elif archive_after is not None and (resolved := resolutions(s.state)):
        found.append(resolved[-1] + archive_after)
    return _first_after(found, s.now)


def _escalation_dues(s: Situation) -> list[datetime]:
    """The next response and unresolved steps not yet posted (none once resolved)."""
    if s.state.status is Status.RESOLVED:
        return []
    posted, _ = posted_steps(s.state)
    steps = due_steps(s.policy, s.state, s.now + HORIZON)
    return [step.due for step in steps if step.id not in posted]


def _breach_dues(s: Situation) -> list[datetime]:
    """The breach's deadline steps not yet posted: they outlive the resolution (behaviour
    §4), so a resolved incident with a breach still open (`breach_open`) has them due."""
    if not breach_open(s.state, s.policy):
        return []
    posted, _ = posted_steps(s.state)
    return [step.due for step in breach_schedule(s.policy, s.state) if step.id not in posted]


def _handoff_dues(s: Situation) -> list[datetime]:
    """An open P0/P1 gets a note at each rotation's handoff (`oncall.handover`)."""
    if not s.policy.rotations or s.state.status is Status.RESOLVED:
        return []
    if s.state.severity not in PAGED or s.snapshot.issue.state != "open":
        return []
    at = next_handoff(s.policy, s.now, s.snapshot.oncall)
    return [at] if at is not None else []


def reminder_due(snapshot: Snapshot, policy: Policy, now: datetime) -> datetime | None:
    """An open review or action item the app opened: when its next overdue reminder may
    come — its due date, then (past it) the start of the next day in the policy's zone.
    `plan_pir_reminder` posts once per business day and `plan_action_reminder` once a week;
    a day's wake-up that finds nothing to post plans nothing."""
    for kind in (markers.PirIssue, markers.ActionItem):
        due_at = due_date(snapshot, kind)
        if due_at is not None:
            return due_at if now < due_at else next_day(policy, now)
    return None


def next_day(policy: Policy, now: datetime) -> datetime:
    """The start of the day after `now`'s in the policy's time zone."""
    zone = policy.business_calendar.zone
    tomorrow = now.astimezone(zone).date() + timedelta(days=1)
    return datetime.combine(tomorrow, time(0), tzinfo=zone)


def repository_due(policy: Policy, now: datetime) -> datetime:
    """When a repository's drills and monthly review are next worth checking: a day on, or
    the next first business day of a month if that comes sooner (periods begin there)."""
    cal = policy.business_calendar
    today = now.astimezone(cal.zone).date()
    this_month = cal.first_business_day(today.replace(day=1))
    if this_month <= today:  # this month's period has begun: the next one's
        following = (today.replace(day=28) + timedelta(days=4)).replace(day=1)
        this_month = cal.first_business_day(following)
    boundary = datetime.combine(this_month, time(0), tzinfo=cal.zone)
    return min(now + REPOSITORY_CHECK, boundary)


def _first_after(moments: Iterable[datetime], now: datetime) -> datetime | None:
    return min((m for m in moments if m > now), default=None)
