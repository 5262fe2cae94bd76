"""The runbook, chapter by chapter: `plan(snapshot, policy, now)` -> actions. Pure: no I/O, no
clock.

The state machine it follows is drawn in README.md ("State machine"). Every comment it plans
carries a marker (app/core/markers/), and the next snapshot shows it, so planning again
after executing a plan yields nothing new. Each chapter is a module; each step of a plan is a
function `step(s: Situation) -> list[Action]`, run in the order of `STEPS`.
"""

from __future__ import annotations

from datetime import datetime

from app.core import markers
from app.core.actions import Action
from app.core.policy import Policy
from app.core.runbook import (
    breach,
    communication,
    declaration,
    escalation,
    follow_through,
    oncall,
    public,
    resolution,
    review,
    severity,
)
from app.core.runbook.breach import breach_due, breach_open
from app.core.runbook.deadlines import next_due, reminder_due, repository_due
from app.core.runbook.declaration import recurs_of
from app.core.runbook.drills import (
    DRILL_HEADER,
    DRILL_QUIET_ROLES,
    DueDrill,
    drill,
    drill_issue,
    due_drills,
)
from app.core.runbook.escalation import MAX_STEPS, Step, breach_steps, due_steps
from app.core.runbook.follow_through import (
    Wanted,
    action_list,
    linked_round,
    plan_action_reminder,
    unfiled_items,
    wanted_items,
)
from app.core.runbook.monthly import Period, due_period, review_issue
from app.core.runbook.oncall import HANDOVER_WINDOW, handover_issue, on_call_policy
from app.core.runbook.review import (
    pir_round,
    pir_step,
    plan_pir_reminder,
    private_home,
    review_place,
)
from app.core.runbook.situation import Situation, StepFunction, briefed, recurring
from app.core.snapshot import Snapshot
from app.core.state import derive

# The runbook's steps in a safe order: labels and the open or closed state first; in each
# step the idempotent writes (assignees) before the comment that records it as done.
STEPS: tuple[StepFunction, ...] = (
    declaration.labels,
    resolution.open_or_closed,
    declaration.declare,
    declaration.duplicate_briefs,
    severity.severity_change,
    declaration.confirmation,
    declaration.security,
    breach.breach,
    communication.commands,
    oncall.commands,
    communication.undone,
    public.record,
    oncall.handover,
    oncall.calendar_problems,
    escalation.escalations,
    communication.reminder,
    public.reminder,
    follow_through.action_items,
    resolution.phase,
    resolution.all_clear,
    resolution.recurrence,
    declaration.config_problems,
    review.review,
)


def plan(snapshot: Snapshot, policy: Policy, now: datetime) -> list[Action]:
    """The writes that bring the issue in line with the runbook, in a safe order.

    Labels and assignees come before comments: a comment is the record that something was
    done, so if a run stops half-way the next one repeats only idempotent writes.
    """
    s = situation(snapshot, policy, now)
    if s is None:
        return []
    actions = [action for step in STEPS for action in step(s)]
    return drill(actions, s.state, s.policy)


def situation(snapshot: Snapshot, policy: Policy, now: datetime) -> Situation | None:
    """The incident as `plan` sees it (the on-call holders folded into the policy), or None
    when the issue is no incident."""
    policy = oncall.on_call_policy(snapshot, policy, now)
    state = derive(snapshot, policy)
    if state is None:
        return None
    if snapshot.issue.state == "closed" and not state.notes_of(markers.Brief):
        return None  # docs/behaviour.md §2: only an open issue is declared an incident
    return Situation(snapshot, policy, state, now)


__all__ = [
    "DRILL_HEADER",
    "DRILL_QUIET_ROLES",
    "HANDOVER_WINDOW",
    "MAX_STEPS",
    "STEPS",
    "DueDrill",
    "Period",
    "Situation",
    "Step",
    "StepFunction",
    "Wanted",
    "action_list",
    "breach_due",
    "breach_open",
    "breach_steps",
    "briefed",
    "drill",
    "drill_issue",
    "due_drills",
    "due_period",
    "due_steps",
    "handover_issue",
    "linked_round",
    "next_due",
    "on_call_policy",
    "pir_round",
    "pir_step",
    "plan",
    "plan_action_reminder",
    "plan_pir_reminder",
    "private_home",
    "recurring",
    "recurs_of",
    "reminder_due",
    "repository_due",
    "review_issue",
    "review_place",
    "situation",
    "unfiled_items",
    "wanted_items",
]
