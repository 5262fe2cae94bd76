"""Communication: update reminders, replies to commands, and telling people what was undone
or denied (runbook "Communication")."""

from __future__ import annotations

from datetime import datetime

from app.core import commands as cmd
from app.core import markers, messages
from app.core.actions import Action, AddReaction, PostComment
from app.core.business_calendar import BusinessCalendar
from app.core.commands import Status
from app.core.policy import Span
from app.core.runbook.escalation import manual_escalation
from app.core.runbook.roles import hand_over
from app.core.runbook.severity import next_update
from app.core.runbook.situation import Situation
from app.core.snapshot import Comment
from app.core.state import recorders

NO_BREACH = "there is no confirmed data breach on this incident to record it for; nothing changed"
NOT_RECORDER = "only the {who} (`breach.recorders`) may record it; nothing changed"


def reminder(s: Situation) -> list[Action]:
    """One reminder per missed update interval, counted from the last update."""
    state, policy = s.state, s.policy
    if state.status is Status.RESOLVED:
        return []  # a closed issue is reopened by this plan
    sp = policy.for_severity(state.severity)
    anchor, first_due, promised = next_update(policy, state)
    number, last_due = _dues_passed(sp.update_every, first_due, s.now, policy.business_calendar)
    if number == 0:
        return []
    key = anchor.isoformat()
    if any(
        n.marker.anchor == key and n.marker.number >= number
        for n in state.notes_of(markers.Reminder)
    ):
        return []
    who = state.roles.get("communication_lead") or policy.holders("communication_lead")
    who = list(dict.fromkeys([*who, *(f"@{a}" for a in sorted(s.snapshot.issue.assignees))]))
    body = messages.reminder(
        policy=policy,
        severity=state.severity,
        due=last_due,
        who=who,
        anchor=anchor,
        number=number,
        status=state.status,
        latest=state.updates[-1] if state.updates else None,
        promised=promised and number == 1,
    )
    return [PostComment(body, "reminder")]


def _dues_passed(
    span: Span, first: datetime, now: datetime, cal: BusinessCalendar
) -> tuple[int, datetime]:
    """How many dues passed by `now` — `first`, then one every `span` — and the last one."""
    if now < first:
        return 0, first
    if span.unit != "business_days":
        step = span.after(first, cal) - first
        number = 1 + int((now - first) / step)
        return number, first + step * (number - 1)
    number, due, last = 0, first, first
    while due <= now and number < 366:
        number, last, due = number + 1, due, span.after(due, cal)
    return number, last


Replied = set[tuple[type[markers.Marker], int | None]]


def commands(s: Situation) -> list[Action]:
    """Each command comment answered once: denied (once per person), invalid, help,
    `/escalate`; `/assign` hands the role over; the app's 👍 records the one-off effects."""
    state, policy = s.state, s.policy
    actions: list[Action] = []
    replied: Replied = {
        (type(n.marker), n.marker.comment)
        for n in state.notes
        if isinstance(n.marker, markers.HelpReply | markers.InvalidReply | markers.Escalation)
    }
    denied = {n.marker.login for n in state.notes_of(markers.Denied)}
    by_comment: dict[int, list[cmd.Command]] = {}
    for use in state.uses:
        if use.authorized:
            by_comment.setdefault(use.comment.id, []).append(use.command)
        elif use.comment.author.lower() not in denied:
            denied.add(use.comment.author.lower())
            actions.append(PostComment(messages.denied_reply(use.comment.author), "denied"))
    # Role holders as they were before each comment, to know whom a hand-over replaces.
    holders = {role: policy.holders(role) for role in policy.roles}
    comments = {u.comment.id: u.comment for u in state.uses}
    for comment_id, given in by_comment.items():
        actions += _answers(s, comments[comment_id], given, replied)
        actions += _effects(s, comments[comment_id], given, holders)
    return actions


def _answers(
    s: Situation, comment: Comment, given: list[cmd.Command], replied: Replied
) -> list[Action]:
    """The replies one comment's commands call for and have not had."""
    actions: list[Action] = []
    invalid = [(c.command, c.problem) for c in given if isinstance(c, cmd.Invalid)]
    invalid += [(name, problem) for _, name, problem in _refused(s, comment, given)]
    if invalid and (markers.InvalidReply, comment.id) not in replied:
        actions.append(PostComment(messages.invalid_reply(comment.id, invalid), "invalid"))
    helped = any(isinstance(c, cmd.Help) for c in given)
    if helped and (markers.HelpReply, comment.id) not in replied:
        actions.append(PostComment(messages.help_reply(comment.id), "help"))
    for c in given:
        if isinstance(c, cmd.Escalate) and (markers.Escalation, comment.id) not in replied:
            actions.append(manual_escalation(s, comment.author, c, comment.id))
    return actions


def _refused(
    s: Situation, comment: Comment, given: list[cmd.Command]
) -> list[tuple[cmd.Command, str, str]]:
    """`/legal notified` and `/regulator notified` the state does not count, as (command,
    how it was given, why): no confirmed breach before it, or an author who holds none of
    `breach.recorders`."""
    breach, policy = s.state.breach, s.policy
    refused: list[tuple[cmd.Command, str, str]] = []
    for c in given:
        if not isinstance(c, cmd.LegalNotified | cmd.RegulatorNotified):
            continue
        name = "/legal notified" if isinstance(c, cmd.LegalNotified) else "/regulator notified"
        if breach is None or comment.created_at < breach.at:
            refused.append((c, name, NO_BREACH))
        elif comment.author.lower() not in recorders(policy, s.state.roles):
            titles = [policy.role_title(r) for r in policy.breach.recorders]
            who = " or ".join(filter(None, [", ".join(titles[:-1]), *titles[-1:]]))
            refused.append((c, name, NOT_RECORDER.format(who=who)))
    return refused


def _effects(
    s: Situation, comment: Comment, given: list[cmd.Command], holders: dict[str, list[str]]
) -> list[Action]:
    """One comment's one-off effects (hand-overs), done once; `holders` follows `/assign`."""
    actions: list[Action] = []
    refused = [c for c, _, _ in _refused(s, comment, given)]
    acted = [c for c in given if not isinstance(c, cmd.Invalid | cmd.Help) and c not in refused]
    # The app's own 👍 is the record that the one-off effects were done; anyone else's
    # reaction is no record of anything.
    fresh = acted and not comment.confirmed
    for c in acted:
        if isinstance(c, cmd.AssignRole):
            if fresh:
                actions += hand_over(s.snapshot, holders, c)
            holders[c.role] = [f"@{c.login}"]
    if fresh:
        actions.append(AddReaction(comment.id, "+1"))
    return actions


def undone(s: Situation) -> list[Action]:
    """Changes by people without authority were not applied (the labels and the open or
    closed state are put back by the other steps): tell each such person once, and why."""
    told = {n.marker.login for n in s.state.notes_of(markers.Undone)}
    actions: list[Action] = []
    for event in s.state.undone:
        login = event.actor.lower()
        if login in told:
            continue
        told.add(login)
        what = {"closed": "closing this incident", "reopened": "reopening this incident"}.get(
            event.kind,
            f"removing `{event.label}`" if event.kind == "unlabeled" else f"adding `{event.label}`",
        )
        holders = s.state.roles.get("incident_commander", [])
        actions.append(PostComment(messages.undone_reply(event.actor, what, holders), "undone"))
    return actions
