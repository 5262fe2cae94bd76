"""Escalation: every step the clocks make due (response, unresolved, breach deadlines), the
comments that reach the chain or a track's roles, and `/escalate` (docs/behaviour.md §4)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.core import commands as cmd
from app.core import markers, messages
from app.core.actions import Action, PostComment
from app.core.commands import Status
from app.core.policy import Policy, Span, UnresolvedTrack
from app.core.runbook.reach import Reach, reach, reaches
from app.core.runbook.situation import Situation, recurring
from app.core.state import IncidentState


@dataclass(frozen=True)
class Step:
    """One escalation step: when it is due, its id (the marker's record), what was missed,
    and whom it reaches — `roles`, or None to climb the escalation chain."""

    due: datetime
    id: str
    why: str
    roles: tuple[str, ...] | None = None
    review: str | None = None


MAX_STEPS = 400  # a year of business-day reviews


def due_steps(policy: Policy, state: IncidentState, until: datetime) -> list[Step]:
    """Every escalation step of the incident due by `until`, in time order.

    Two tracks (runbook "Automatic Escalations"), both from the current severity's start, so
    a severity change restarts the clocks:
    - response: while nobody acknowledges, climb the chain — the first step at the response
      deadline, each next one a response interval later;
    - unresolved: from `escalate_after`, the severity's `unresolved` track (P1: senior
      management, then the executive team every 2 h; P2: a daily review with management;
      P3: a weekly review if no progress); without one, climb the chain.
    """
    steps = _response_steps(policy, state, until) + _unresolved_steps(policy, state, until)
    return sorted(steps, key=lambda s: s.due)


def _response_steps(policy: Policy, state: IncidentState, until: datetime) -> list[Step]:
    """While nobody acknowledges: one step a response interval, climbing the chain."""
    if state.acked_at is not None:
        return []
    sp = policy.for_severity(state.severity)
    cal = policy.business_calendar
    sev = state.severity.value
    steps: list[Step] = []
    due = sp.respond_within.after(state.severity_since, cal)
    for k in range(1, len(policy.escalation_chain)):
        if due > until:
            break
        why = (
            f"not acknowledged within {sp.respond_within} ({sev}), due {messages.when(due, policy)}"
        )
        steps.append(Step(due, f"response-{sev}-{k}", why))
        due = sp.respond_within.after(due, cal)
    return steps


def _unresolved_steps(policy: Policy, state: IncidentState, until: datetime) -> list[Step]:
    """From `escalate_after`: the severity's track, or without one a climb up the chain."""
    sp = policy.for_severity(state.severity)
    threshold = sp.escalate_after
    if threshold is None or threshold.amount == 0:
        return []
    if sp.unresolved is not None:
        return _track_steps(policy, state, threshold, sp.unresolved, until)
    cal = policy.business_calendar
    start, sev = state.severity_since, state.severity.value
    since = f"since {messages.when(start, policy)}"
    steps: list[Step] = []
    due = threshold.after(start, cal)
    for k in range(1, len(policy.escalation_chain)):
        if due > until:
            break
        why = f"unresolved after {threshold} ({sev}), {since}"
        steps.append(Step(due, f"unresolved-{sev}-{k}", why))
        due = threshold.after(due, cal)
    return steps


def _track_steps(
    policy: Policy, state: IncidentState, threshold: Span, track: UnresolvedTrack, until: datetime
) -> list[Step]:
    """The severity's `unresolved` track: its roles first, then `then`'s every interval."""
    cal = policy.business_calendar
    start, sev = state.severity_since, state.severity.value
    since = f"since {messages.when(start, policy)}"
    steps: list[Step] = []
    previous, due, k = start, threshold.after(start, cal), 1
    while due <= until and k <= MAX_STEPS:
        roles = (
            track.notify
            if k == 1 or track.then is None or not track.then.notify
            else track.then.notify
        )
        # Runbook P3: "Escalation: weekly review if recurring"; "weekly review if no progress".
        quiet = (
            track.only_without_update
            and not recurring(state)
            and any(previous < u.at <= due for u in state.updates)
        )
        if not quiet:
            lasted = messages.duration(due - start, messages.DurationStyle.WORDS)
            why = (
                f"no status update since {messages.when(previous, policy)} ({sev})"
                if track.only_without_update
                else f"unresolved after {lasted} ({sev}), {since}"
            )
            steps.append(Step(due, f"unresolved-{sev}-{k}", why, tuple(roles), track.review))
        if track.then is None:
            break
        previous, due, k = due, track.then.every.after(due, cal), k + 1
    return steps


def breach_steps(policy: Policy, state: IncidentState, until: datetime) -> list[Step]:
    """The breach's deadline steps due by `until`: legal not told in time; the regulator's
    deadline, with a reminder a quarter before it, until the regulator's notification is
    recorded. They run on after the incident is resolved (behaviour §4)."""
    return [step for step in breach_schedule(policy, state) if step.due <= until]


def breach_schedule(policy: Policy, state: IncidentState) -> list[Step]:
    """Every breach deadline step that is or will be due, whenever (none once recorded in
    time)."""
    record = state.breach
    if record is None:
        return []
    cal = policy.business_calendar
    steps: list[Step] = []
    legal_by = policy.breach.legal_within.after(record.at, cal)
    if record.legal_at is None or record.legal_at > legal_by:
        why = (
            f"legal not notified within {policy.breach.legal_within} of the confirmed breach "
            f"(due {messages.when(legal_by, policy)})"
        )
        steps.append(Step(legal_by, "breach-legal", why, tuple(policy.breach.escalate_to)))
    regulator = policy.breach.regulator_within
    if regulator is not None:
        deadline = regulator.after(record.at, cal)
        remind = deadline - (deadline - record.at) / 4
        when = messages.when(deadline, policy)
        reminder = Step(
            remind,
            "breach-regulator-reminder",
            f"the regulator must be notified by {when}",
            tuple(policy.breach.notify),
            "regulator deadline",
        )
        missed = Step(
            deadline,
            "breach-regulator",
            f"the regulator's deadline ({when}) has come",
            tuple(policy.breach.escalate_to),
        )
        told = record.regulator_at  # `/regulator notified`: what was due after it is not
        steps += [step for step in (reminder, missed) if told is None or told > step.due]
    return steps


def escalations(s: Situation) -> list[Action]:
    """One comment per track for the steps now due and not yet posted: the response track
    climbs the chain; the unresolved track reaches its roles (or climbs, without one). A
    resolved incident's clocks stop, but for a breach's deadlines."""
    state, policy = s.state, s.policy
    posted, level = posted_steps(state)
    due = breach_steps(policy, state, s.now)
    if state.status is not Status.RESOLVED:  # resolved: a reopen restarts them
        due = due_steps(policy, state, s.now) + due
    missing = sorted((step for step in due if step.id not in posted), key=lambda step: step.due)
    actions: list[Action] = []
    climbing = [step for step in missing if step.roles is None]
    if climbing:
        level = min(level + len(climbing), len(policy.escalation_chain) - 1)
        actions.append(_climb(s, climbing, level))
    targeted = [step for step in missing if step.roles is not None]
    if targeted:
        actions.append(_reach(s, targeted, level))
    return actions


def posted_steps(state: IncidentState) -> tuple[set[str], int]:
    """(the steps the app's escalation comments record, the highest level they reached)."""
    posted: set[str] = set()
    level = 0
    for note in state.notes_of(markers.Escalation):
        posted.update(note.marker.steps)
        level = max(level, note.marker.level)
    return posted, level


def _climb(s: Situation, climbing: list[Step], level: int) -> PostComment:
    """The comment reaching the chain's role at `level` for the steps missed; a role that
    reaches nobody hands the call on up the chain, and the marker records the level reached."""
    chain = s.policy.escalation_chain
    role = chain[level]
    target = reach(role, s.policy, s.now, s.state.roles)
    body = messages.escalation(
        policy=s.policy,
        missed=[step.why for step in climbing],
        target=target,
        backups=s.policy.backups(role),
        steps=[step.id for step in climbing],
        level=level,
        reached=_level(chain, [target], level),
    )
    return PostComment(body, "escalation")


def _level(chain: list[str], targets: list[Reach], level: int) -> int:
    """The chain's level a call reached: the highest of the roles reached, at least `level`."""
    return max((chain.index(t.reached) for t in targets if t.reached in chain), default=level)


def _reach(s: Situation, targeted: list[Step], level: int) -> PostComment:
    """The comment reaching the roles of the latest targeted step."""
    last = targeted[-1]
    targets = reaches(last.roles or (), s.policy, s.now, s.state.roles)
    body = messages.unresolved(
        policy=s.policy,
        missed=[step.why for step in targeted],
        review=last.review,
        targets=targets,
        steps=[step.id for step in targeted],
        level=max(level, _level(s.policy.escalation_chain, targets, level)),
    )
    return PostComment(body, "escalation")


def manual_escalation(s: Situation, by: str, command: cmd.Escalate, comment_id: int) -> PostComment:
    """Runbook "Manual Escalation Triggers": technical complexity climbs the chain; business
    impact, compliance risk and resource constraints reach the roles `triggers` names."""
    policy, state = s.policy, s.state
    reached = max((n.marker.level for n in state.notes_of(markers.Escalation)), default=0)
    roles = policy.triggers.get(command.trigger)
    if roles:
        level = reached
    else:
        level = min(reached + 1, len(policy.escalation_chain) - 1)
        roles = [policy.escalation_chain[level]]
    targets = reaches(roles, policy, s.now, state.roles)
    body = messages.manual_escalation(
        policy=policy,
        by=by,
        reason=command.reason,
        trigger=command.trigger,
        level=level,
        reached=_level(policy.escalation_chain, targets, level),
        targets=targets,
        climbed=not policy.triggers.get(command.trigger),
        comment_id=comment_id,
    )
    return PostComment(body, "escalation")
