"""Resolution (app/core/runbook/resolution.py), pure: runbook "Post-Incident Activities" —
"Send official all-clear communication", "Monitor for recurrence" — as
`(snapshot, policy, now) -> actions`."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from app.core import markers
from app.core.actions import Action, PostComment, SetState
from app.core.runbook import plan
from app.core.snapshot import Snapshot
from tests.factories import DECLARED, POLICY, ours, snapshot

RESOLVED = DECLARED + timedelta(hours=1)


def bodies(actions: list[Action], kind: str) -> list[str]:
    return [a.body for a in actions if isinstance(a, PostComment) and a.kind == kind]


def resolved() -> Snapshot:
    return snapshot("P1", comments=[(timedelta(hours=1), "/status resolved rolled back")])


def test_resolving_closes_the_issue_and_sends_the_all_clear_once() -> None:
    actions = plan(resolved(), POLICY, RESOLVED + timedelta(minutes=1))
    assert SetState("closed", "completed") in actions
    (clear,) = bodies(actions, "all-clear")
    assert markers.of(markers.AllClear, clear) == [markers.AllClear(1)]
    assert "@alice" in clear  # everyone who took part
    told = resolved()
    told = replace(told, comments=(*told.comments, *ours(markers.AllClear(1), at=RESOLVED)))
    assert bodies(plan(told, POLICY, RESOLVED + timedelta(minutes=2)), "all-clear") == []


def test_the_mitigating_phase_gets_its_checklist_once() -> None:
    mitigating = snapshot("P1", comments=[(timedelta(minutes=30), "/status mitigating rollback")])
    now = DECLARED + timedelta(minutes=31)
    (checklist,) = bodies(plan(mitigating, POLICY, now), "phase")
    assert markers.of(markers.PhaseNote, checklist) == [markers.PhaseNote("mitigating")]
    done = replace(
        mitigating, comments=(*mitigating.comments, *ours(markers.PhaseNote("mitigating")))
    )
    assert bodies(plan(done, POLICY, now), "phase") == []


def test_a_reopen_inside_the_monitoring_window_is_a_recurrence() -> None:
    reopened = snapshot(
        "P1",
        comments=[
            (timedelta(hours=1), "/status resolved rolled back"),
            (timedelta(hours=3), "/status investigating errors are back"),
        ],
        own=[markers.AllClear(1)],
    )
    actions = plan(reopened, POLICY, DECLARED + timedelta(hours=3, minutes=1))
    (note,) = bodies(actions, "recurrence")
    assert markers.of(markers.Recurrence, note) == [markers.Recurrence(2)]
