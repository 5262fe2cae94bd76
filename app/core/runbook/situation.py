"""What every step of the runbook reads: the snapshot, the policy, the state and now."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from app.core import markers
from app.core.actions import Action
from app.core.policy import Policy
from app.core.snapshot import Snapshot
from app.core.state import IncidentState


@dataclass(frozen=True)
class Situation:
    """One incident as a plan sees it: GitHub's record, the repository's policy, the state
    folded from the record, and the moment of planning (core never reads a clock)."""

    snapshot: Snapshot
    policy: Policy
    state: IncidentState
    now: datetime


# Every step of `plan` has this one signature.
StepFunction = Callable[[Situation], list[Action]]


def briefed(state: IncidentState) -> bool:
    """Has the app posted its brief (the declaration's record)?"""
    return bool(state.notes_of(markers.Brief))


def recurring(state: IncidentState) -> bool:
    """Did the brief find this incident to be a recurrence?"""
    return any(n.marker.recurs for n in state.notes_of(markers.Brief))
