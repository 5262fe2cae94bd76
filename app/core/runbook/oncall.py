"""On call: who a plan reaches at the moment it matters, the handover on open P0/P1
incidents, and `/oncall` (docs/user-guide/oncall.md). Who holds a seat is
`app.core.oncall`'s; this chapter decides what to write about it."""

from __future__ import annotations

from datetime import datetime, timedelta

from app.core import commands as cmd
from app.core import markers
from app.core.actions import Action, AddAssignees, OpenIssue, PostComment, RemoveAssignees
from app.core.commands import Status
from app.core.labels import ONCALL
from app.core.messages import oncall as texts
from app.core.oncall import Cover, Handoff, bound, cover_end, holder_at, last_handoff, next_handoff
from app.core.oncall.command import OnCall
from app.core.policy import Policy, Severity
from app.core.runbook.roles import logins
from app.core.runbook.severity import deadlines, next_update
from app.core.runbook.situation import Situation, briefed
from app.core.snapshot import Comment, Snapshot
from app.core.state import IncidentState, briefed_at, declared_at

# A handoff further back than this is history: a stopped app tells of the latest one only.
HANDOVER_WINDOW = timedelta(hours=12)
PAGED = (Severity.P0, Severity.P1)


def on_call_policy(snapshot: Snapshot, policy: Policy, now: datetime) -> Policy:
    """The policy with rotating seats held by who is on call at the moment that matters:
    the declaration's GitHub time until the brief is posted, then `now` (each escalation
    step and reminder reaches who holds the seat when it is carried out)."""
    if not policy.seats:
        return policy
    at = now if briefed_at(snapshot) else min(declared_at(snapshot), now)
    return bound(policy, snapshot.oncall, at)


def handover(s: Situation) -> list[Action]:
    """On an open P0/P1: one note per rotation handoff since the declaration (the latest,
    within HANDOVER_WINDOW), naming the incoming person; the app's assignment moves over."""
    state = s.state
    if not s.policy.rotations or not briefed(state) or s.snapshot.issue.state != "open":
        return []
    if state.severity not in PAGED or state.status is Status.RESOLVED:
        return []
    told = {(n.marker.rotation, n.marker.at) for n in state.notes_of(markers.Handover)}
    actions: list[Action] = []
    for name in s.policy.rotations:
        found = last_handoff(name, s.policy, s.now, HANDOVER_WINDOW, s.snapshot.oncall)
        if found is None or found.at <= state.declared_at:
            continue
        if (name, texts.iso(found.at)) not in told:
            actions += _handed(s, found)
    return actions


def calendar_problems(s: Situation) -> list[Action]:
    """An open incident is told once per calendar its seats follow that could not be read
    (from its declaration on: the brief comes first in the same plan)."""
    if s.snapshot.issue.state != "open":
        return []
    told = {n.marker.calendar for n in s.state.notes_of(markers.CalendarProblem)}
    actions: list[Action] = []
    for name, feed in s.snapshot.oncall.calendars.items():
        seats = [
            seat
            for seat, held in s.policy.seats.items()
            if s.policy.rotations[held.rotation].calendar == name
        ]
        if feed.problem and seats and name not in told:
            body = texts.calendar_problem(name, feed.problem, seats)
            actions.append(PostComment(body, "calendar-problem"))
    return actions


def _handed(s: Situation, handoff: Handoff) -> list[Action]:
    """The assignee swap and the note for one handoff, or nothing when no role changes."""
    policy, state, record = s.policy, s.state, s.snapshot.oncall
    placed = _placed_at(state, handoff.rotation)
    changes: list[texts.RoleChange] = []
    outgoing_logins: list[tuple[str, str, str]] = []  # (role, outgoing, incoming)
    for role_key, role in policy.roles.items():
        for seat in role.members:
            held = policy.seats.get(seat)
            if held is None or held.rotation != handoff.rotation:
                continue
            before = holder_at(seat, policy, record, placed)
            after = holder_at(seat, policy, record, handoff.at)
            if (before or "").lower() == (after or "").lower():
                continue
            changes.append(texts.RoleChange(policy.role_title(role_key), before, after))
            if before and after and state.roles.get(role_key) == policy.holders(role_key):
                outgoing_logins.append((role_key, before, after))
    if not changes:
        return []
    actions = _reassigned(s, outgoing_logins)
    zone = policy.rotations[handoff.rotation].timezone or policy.calendar.timezone
    note = texts.handover_note(handoff.rotation, handoff.at, zone, changes)
    return [*actions, PostComment(note, "handover")]


def _placed_at(state: IncidentState, rotation: str) -> datetime:
    """When the app last placed the rotation's seats on the incident: its latest handover
    note for the rotation, else the declaration. The outgoing person is who held the seat
    then, not just before the handoff: a missed handoff (a cover's end, an outage of the
    app) leaves that person assigned."""
    notes = state.notes_of(markers.Handover)
    told = [n.comment.created_at for n in notes if n.marker.rotation == rotation]
    return max(told, default=state.declared_at)


def _reassigned(s: Situation, swaps: list[tuple[str, str, str]]) -> list[Action]:
    """Where the app had assigned the seat (its holder is assigned, no `/assign` since),
    the incoming person replaces the outgoing one."""
    assigned = {a.lower() for a in s.snapshot.issue.assignees}
    assigning = set(s.policy.for_severity(s.state.severity).assign)
    add: list[str] = []
    remove: list[str] = []
    for role, before, after in swaps:
        if role not in assigning or before.lower() not in assigned:
            continue
        others = {m.lower() for r, held in s.state.roles.items() if r != role for m in logins(held)}
        if after.lower() not in assigned:
            add.append(after)
        if before.lower() not in others:
            remove.append(before)
    actions: list[Action] = [AddAssignees(tuple(add))] if add else []
    return actions + ([RemoveAssignees(tuple(remove))] if remove else [])


def commands(s: Situation) -> list[Action]:
    """Each `/oncall` answered once (who is on call at the comment's time); a cover recorded
    in the repository's On-call issue first, then answered."""
    answered = {n.marker.comment for n in s.state.notes_of(markers.OnCallReply)}
    actions: list[Action] = []
    for use in s.state.uses:
        c = use.command
        if not isinstance(c, OnCall) or not use.authorized or use.comment.id in answered:
            continue
        answered.add(use.comment.id)
        if c.cover is None:
            actions.append(PostComment(_overview(s, use.comment), "oncall-reply"))
        else:
            actions += _cover(s, use.comment, c)
    return actions


def _overview(s: Situation, comment: Comment) -> str:
    policy, record, at = s.policy, s.snapshot.oncall, comment.created_at
    rows: list[texts.SeatNow] = []
    for seat, held in policy.seats.items():
        nxt = next_handoff(_only(policy, held.rotation), at, record)
        rows.append(
            texts.SeatNow(
                held.rotation,
                seat,
                holder_at(seat, policy, record, at),
                nxt,
                holder_at(seat, policy, record, nxt) if nxt else None,
            )
        )
    return texts.oncall_reply(comment.id, rows, policy.calendar.timezone, record.problems())


def _only(policy: Policy, rotation: str) -> Policy:
    return policy.model_copy(update={"rotations": {rotation: policy.rotations[rotation]}})


def _rotation_for(policy: Policy, given: str | None) -> tuple[str | None, str]:
    """The rotation a cover is for (the one named, the only one, or the incident
    commander's), or None and why none can be chosen."""
    if given is not None:
        if given in policy.rotations:
            return given, ""
        return None, f"there is no rotation `{given[:40]}`; rotations: " + _names(policy)
    if len(policy.rotations) == 1:
        return next(iter(policy.rotations)), ""
    commander = policy.roles.get("incident_commander")
    for seat in commander.members if commander else []:
        if seat in policy.seats:
            return policy.seats[seat].rotation, ""
    return None, "say which rotation: " + _names(policy)


def _names(policy: Policy) -> str:
    return ", ".join(f"`{n}`" for n in policy.rotations) or "none configured"


def _cover(s: Situation, comment: Comment, c: OnCall) -> list[Action]:
    policy = s.policy
    zone = policy.business_calendar.zone
    assert c.cover is not None
    rotation, why = _rotation_for(policy, c.rotation)
    if rotation is None:
        return [PostComment(texts.cover_refused(comment.id, why), "oncall-reply")]
    login = c.cover
    allowed = {*policy.rotations[rotation].logins(), *s.snapshot.authorized}
    if login.lower() not in allowed and login.lower() not in policy.roster_logins:
        reason = (
            f"`{login}` is neither a member of `{rotation}` nor has write access to this "
            "repository, and a cover grants a seat"
        )
        return [PostComment(texts.cover_refused(comment.id, reason), "oncall-reply")]
    until = cmd.promised_time(c.until, comment.created_at, zone) if c.until else None
    if c.until and (until is None or until <= comment.created_at):
        reason = f"`{c.until[:40]}` is no time to come (e.g. `2026-12-27 09:00`, `18:00`, `in 4h`)"
        return [PostComment(texts.cover_refused(comment.id, reason), "oncall-reply")]
    note = markers.CoverNote(
        rotation,
        login,
        texts.iso(comment.created_at),
        comment.author,
        texts.iso(until) if until else None,
        s.snapshot.issue.number,
        comment.id,
    )
    source = f"{s.snapshot.repo.full_name}#{s.snapshot.issue.number}"
    shown = policy.rotations[rotation].timezone or policy.calendar.timezone
    given = Cover(rotation, login, comment.created_at)
    ends = None if until else cover_end(rotation, given, policy, s.snapshot.oncall)
    record = texts.cover_record(note, source, shown, ends)
    write: Action = (
        PostComment(record, "cover", number=s.snapshot.oncall.issue)
        if s.snapshot.oncall.issue
        else OpenIssue(
            texts.ONCALL_TITLE,
            texts.oncall_issue_body() + "\n\n" + record,
            (ONCALL,),
            (),
            "oncall",
        )
    )
    reply = texts.cover_reply(comment.id, login, rotation, until, shown, ends)
    return [write, PostComment(reply, "oncall-reply")]


def _next_deadline(policy: Policy, state: IncidentState, zone: str, at: datetime) -> str:
    """The incident's next deadline at the handoff `at`, in words: one already missed first
    (`response overdue since …`), else the first to come of its response and next update."""
    respond_by, _ = deadlines(policy, state)
    _, update_due, _ = next_update(policy, state)
    dues = [("update", update_due)]
    if state.acked_at is None:
        dues.insert(0, ("response", respond_by))
    missed = [d for d in dues if d[1] <= at]
    if missed:
        what, when = min(missed, key=lambda d: d[1])
        return f"{what} overdue since {texts.local(when, zone)}"
    what, when = min(dues, key=lambda d: d[1])
    return f"{what} due {texts.local(when, zone)}"


def handover_issue(
    policy: Policy, handoff: Handoff, incidents: list[tuple[Snapshot, IncidentState]]
) -> OpenIssue | None:
    """The handover issue of one rotation's handoff, listing the incidents open at it with
    their status and next deadline; None when none was (nothing to hand over)."""
    open_ones = sorted(
        (
            (snap, state)
            for snap, state in incidents
            if snap.issue.state == "open"
            and state.status is not Status.RESOLVED
            and state.declared_at < handoff.at
        ),
        key=lambda pair: (pair[1].severity.value, pair[0].issue.number),
    )
    if not open_ones:
        return None
    zone = policy.rotations[handoff.rotation].timezone or policy.calendar.timezone
    rows = [
        texts.OpenIncident(
            snap.issue.number,
            snap.issue.title,
            state.severity.value,
            state.status.value,
            _next_deadline(policy, state, zone, handoff.at),
        )
        for snap, state in open_ones
    ]
    title, body = texts.handover_issue(
        handoff.rotation, handoff.at, zone, handoff.outgoing, handoff.incoming, rows
    )
    assignees = (handoff.incoming,) if handoff.incoming else ()
    return OpenIssue(title, body, (ONCALL,), assignees, "handover")
