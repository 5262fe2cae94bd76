"""Roles (app/core/runbook/roles.py), pure: whom a severity assigns and handing a role over —
runbook "Incident Commander (Release Manager)", "Technical Lead (Architect)" — as
`(snapshot, policy, now) -> actions`."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from app.core.actions import Action, AddAssignees, AddReaction, RemoveAssignees
from app.core.policy import Severity
from app.core.runbook import plan
from app.core.runbook.roles import assignees_for, logins
from app.core.state import derive
from tests.factories import DECLARED, POLICY, said, snapshot

NOW = DECLARED + timedelta(minutes=20)


def assignments(actions: list[Action]) -> list[Action]:
    return [a for a in actions if isinstance(a, AddAssignees | RemoveAssignees | AddReaction)]


def test_each_severity_assigns_the_roles_the_runbook_gives_it() -> None:
    state = derive(snapshot("P1"), POLICY)
    assert assignees_for(POLICY, state, Severity.P0) == ["rohan", "morgan", "casey"]
    assert assignees_for(POLICY, state, Severity.P1) == ["rohan", "morgan"]
    assert assignees_for(POLICY, state, Severity.P2) == ["rohan"]


def test_teams_are_named_never_assigned() -> None:
    assert logins(["@ada", "@acme/leadership", "casey"]) == ["ada"]


def test_handing_the_technical_lead_over_assigns_the_new_one_and_unassigns_the_old() -> None:
    base = snapshot("P1")
    issue = replace(base.issue, assignees=frozenset({"rohan", "morgan"}))
    handed = replace(
        base,
        issue=issue,
        comments=(*base.comments, *said((timedelta(minutes=15), "alice", "/assign tl @ken"))),
    )
    actions = assignments(plan(handed, POLICY, NOW))
    assert actions == [AddAssignees(("ken",)), RemoveAssignees(("morgan",)), AddReaction(10, "+1")]


def test_a_hand_over_already_confirmed_is_not_done_again() -> None:
    base = snapshot("P1", comments=[(timedelta(minutes=15), "/assign tl @ken")])
    issue = replace(base.issue, assignees=frozenset({"rohan", "ken"}))
    assert assignments(plan(replace(base, issue=issue), POLICY, NOW)) == []
