"""Follow-through: the review's action items filed as issues, listed on the incident (and
the review issue), and reminded weekly when overdue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.core import commands as cmd
from app.core import followup, markers, messages
from app.core.actions import Action, EditComment, OpenIssue, PostComment
from app.core.labels import ACTION_ITEM, horizon
from app.core.policy import Policy
from app.core.runbook.drills import drill
from app.core.runbook.resolution import resolutions
from app.core.runbook.review import overdue
from app.core.runbook.situation import Situation
from app.core.snapshot import Snapshot
from app.core.state import IncidentState


@dataclass(frozen=True)
class Wanted:
    """An action item that should exist as an issue."""

    key: str
    horizon: str
    text: str
    owner: str | None
    due: datetime
    source: str  # a link to where it was written


def linked_round(state: IncidentState) -> tuple[int, int, datetime] | None:
    """(round, pull request, resolution) of the latest review with a merged-able document."""
    links = [n.marker for n in state.notes_of(markers.PirLink) if n.marker.pull is not None]
    if not links:
        return None
    link = max(links, key=lambda m: m.round)
    resolved = resolutions(state)
    if link.pull is None or link.round > len(resolved):
        return None
    return link.round, link.pull, resolved[link.round - 1]


def wanted_items(snapshot: Snapshot, policy: Policy, state: IncidentState) -> list[Wanted]:
    """The action items of the merged review document (at most `pir.max_action_items`) and
    of `/action` commands."""
    found: list[Wanted] = []
    record = snapshot.followup
    linked = linked_round(state)
    if record is not None and record.merged_at is not None and linked is not None:
        for item in followup.items(record.document)[: policy.pir.max_action_items]:
            found.append(
                Wanted(
                    f"r{linked[0]}:{item.key}",
                    item.horizon,
                    item.text,
                    item.owner,
                    item.due(record.merged_at),
                    f"#{linked[1]}",
                )
            )
    for use in state.uses:
        c = use.command
        if use.authorized and isinstance(c, cmd.AddActionItem):
            at = use.comment.created_at
            due = at + followup.HORIZONS[c.horizon][1]
            source = use.comment.url or f"#{snapshot.issue.number}"
            found.append(Wanted(f"c{use.comment.id}", c.horizon, c.text, c.owner, due, source))
    return list({w.key: w for w in found}.values())


def unfiled_items(snapshot: Snapshot, policy: Policy, state: IncidentState) -> list[str]:
    """The merged review's action items past `pir.max_action_items`: listed, never filed."""
    record = snapshot.followup
    if record is None or record.merged_at is None or linked_round(state) is None:
        return []
    return [item.text for item in followup.items(record.document)[policy.pir.max_action_items :]]


def action_items(s: Situation) -> list[Action]:
    """Follow-through: one issue per action item not yet filed, then the incident's list of
    them (one comment, edited in place). Nothing is planned before GitHub's record of what
    exists was read (`snapshot.followup`)."""
    snapshot, policy, state = s.snapshot, s.policy, s.state
    record = snapshot.followup
    if record is None:
        return []
    filed = {key for key, _, _ in record.filed}
    missing = [w for w in wanted_items(snapshot, policy, state) if w.key not in filed]
    if not missing:
        return listing(snapshot, policy, state)
    number = snapshot.issue.number
    return [
        OpenIssue(
            messages.title(w.text),
            messages.action_item_body(
                text=w.text,
                horizon=w.horizon,
                due=w.due,
                incident=number,
                source=w.source,
                marker=markers.ActionItem(number, w.key, w.due.isoformat()),
            ),
            (ACTION_ITEM, horizon(w.horizon)),
            (w.owner,) if w.owner else (),
            "action-item",
        )
        for w in missing
    ]


def action_list(snapshot: Snapshot, policy: Policy, state: IncidentState) -> list[Action]:
    """The incident's comment listing its action items (see `listing`), as a drill when it
    is one."""
    return drill(listing(snapshot, policy, state), state, policy)


def listing(snapshot: Snapshot, policy: Policy, state: IncidentState) -> list[Action]:
    """The incident's comment listing its action items, posted once and kept up to date."""
    record = snapshot.followup
    if record is None or not record.filed:
        return []
    keys = tuple(sorted(key for key, _, _ in record.filed))
    unfiled = unfiled_items(snapshot, policy, state)
    body = messages.action_list(
        sorted(record.filed), keys, unfiled=unfiled, limit=policy.pir.max_action_items
    )
    notes = state.notes_of(markers.ActionList)
    actions: list[Action] = []
    if not notes:
        actions.append(PostComment(body, "action-list"))
    elif notes[-1].marker.keys != keys:
        actions.append(EditComment(notes[-1].comment.id, body))
    # The review issue lists them too (one comment there, kept up to date).
    if record.review_issue is not None:
        if record.review_listing is None:
            actions.append(PostComment(body, "action-list", number=record.review_issue))
        elif record.review_listing[1] != keys:
            actions.append(EditComment(record.review_listing[0], body))
    return actions


def plan_action_reminder(snapshot: Snapshot, policy: Policy, now: datetime) -> list[Action]:
    """An open action item past its due date: one reminder a week, to its assignees or the
    incident commander (runbook: "monthly review of action item progress" needs items done)."""
    due_at = overdue(snapshot, markers.ActionItem, now)
    if due_at is None:
        return []
    year, week, _ = now.astimezone(policy.business_calendar.zone).isocalendar()
    this_week = f"{year}-W{week:02d}"
    reminded = {
        m.week
        for c in snapshot.comments
        if c.ours
        for m in markers.of(markers.ActionReminder, c.body)
    }
    if this_week in reminded:
        return []
    who = [f"@{a}" for a in sorted(snapshot.issue.assignees)] or policy.holders(
        "incident_commander"
    )
    body = messages.action_overdue(who=who, due_at=due_at, week=this_week, policy=policy)
    return [PostComment(body, "action-reminder")]
