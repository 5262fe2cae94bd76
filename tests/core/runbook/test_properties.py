"""Idempotency as a property: after executing a plan, planning again yields nothing.

Histories are arbitrary interleavings of what people do (labels, command comments from
people with and without access, closing, reopening) and of deliveries (plan + execute).
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from app.core.actions import (
    Action,
    AddAssignees,
    AddLabels,
    AddReaction,
    DeleteComment,
    PostComment,
    RemoveAssignees,
    RemoveLabel,
    SetState,
)
from app.core.runbook import plan
from app.core.snapshot import Comment, Event, Issue, Repo, Snapshot
from tests.conftest import T0
from tests.factories import ROSTER, policy

# With a status site, so the public steps (its note, the public reminders) plan too.
POLICY = policy(ROSTER + "statuspage: {repository: acme/status, branch: gh-pages}\n")
LABELS = [
    "incident",
    "sev:P0",
    "sev:P1",
    "sev:P2",
    "sev:P3",
    "status:investigating",
    "status:mitigating",
    "status:monitoring",
    "status:resolved",
    "security",
    "breach",
    "drill",
    "customer-facing",
    "bug",
]
BODIES = [
    "/ack",
    "/status mitigating",
    "/status monitoring",
    "/status resolved",
    "/status investigating now",
    "/sev P0",
    "/sev P2",
    "/assign ic @bob",
    "/assign tl @casey",
    "/escalate db down",
    "/legal notified L-1",
    "/regulator notified R-1",
    "/incident help",
    "/status nope",
    "INCIDENT UPDATE #2\nSeverity: P1\nStatus: Monitoring",
    "/public We are investigating.",
    "/public resolved Fixed.\n/component API operational",
    "/component API degraded",
    "/public title Slow logins",
    "PUBLIC UPDATE\nStill on it.",
    "just talking",
    "> /status resolved (quoted)",
]
PEOPLE = ["alice", "rohan", "mallory"]  # alice has write access, rohan is in the roster
LABELERS = ["x", "mallory", "alice", "rohan"]


@dataclasses.dataclass
class World:
    """A pure model of one issue on GitHub, for the planner alone."""

    issue: Issue
    comments: list[Comment]
    events: list[Event]
    tick: int = 0
    next_id: int = 1

    def now(self) -> object:
        return T0 + timedelta(minutes=self.tick)

    def step(self) -> None:
        self.tick += 1

    def _id(self) -> int:
        self.next_id += 1
        return self.next_id

    def snapshot(self) -> Snapshot:
        return Snapshot(
            repo=Repo("acme", "shop"),
            issue=self.issue,
            comments=tuple(self.comments),
            events=tuple(self.events),
            authorized=frozenset({"alice"}),
        )

    # what people do

    def label(self, name: str, *, ours: bool = False, by: str = "x") -> None:
        if name not in self.issue.labels:
            self.issue = dataclasses.replace(self.issue, labels=self.issue.labels | {name})
            who = "app[bot]" if ours else by
            self.events.append(Event(self._id(), "labeled", self.now(), who, ours, label=name))  # type: ignore[arg-type]

    def unlabel(self, name: str, *, ours: bool = False, by: str = "x") -> None:
        if name in self.issue.labels:
            self.issue = dataclasses.replace(self.issue, labels=self.issue.labels - {name})
            who = "app[bot]" if ours else by
            self.events.append(Event(self._id(), "unlabeled", self.now(), who, ours, label=name))  # type: ignore[arg-type]

    def say(self, body: str, who: str, *, ours: bool = False) -> None:
        self.comments.append(
            Comment(self._id(), "app[bot]" if ours else who, ours, "NONE", self.now(), body, ours)
        )  # type: ignore[arg-type]

    def set_state(self, state: str, *, ours: bool = False) -> None:
        if state != self.issue.state:
            self.issue = dataclasses.replace(self.issue, state=state)
            kind = "closed" if state == "closed" else "reopened"
            self.events.append(Event(self._id(), kind, self.now(), "x", ours))  # type: ignore[arg-type]

    # what the executor does

    def execute(self, actions: list[Action]) -> None:
        for action in actions:
            match action:
                case AddLabels(labels):
                    for name in labels:
                        self.label(name, ours=True)
                case RemoveLabel(name):
                    self.unlabel(name, ours=True)
                case AddAssignees(logins):
                    self.issue = dataclasses.replace(
                        self.issue, assignees=self.issue.assignees | set(logins)
                    )
                case RemoveAssignees(logins):
                    self.issue = dataclasses.replace(
                        self.issue, assignees=self.issue.assignees - set(logins)
                    )
                case PostComment(body, _):
                    self.say(body, "app", ours=True)
                case DeleteComment(cid, _):
                    self.comments = [c for c in self.comments if c.id != cid]
                case AddReaction(cid, _):
                    self.comments = [
                        dataclasses.replace(c, thumbs_up=c.thumbs_up + 1, confirmed=True)
                        if c.id == cid
                        else c
                        for c in self.comments
                    ]
                case SetState(state, _):
                    self.set_state(state, ours=True)


ops = st.lists(
    st.one_of(
        # Labels by someone without authority ("x", "mallory"), with write access ("alice")
        # or in the roster ("rohan"): flag labels (`breach`, `drill`, `security`) included.
        st.tuples(st.just("label"), st.sampled_from(LABELS), st.sampled_from(LABELERS)),
        st.tuples(st.just("unlabel"), st.sampled_from(LABELS), st.sampled_from(LABELERS)),
        st.tuples(st.just("say"), st.sampled_from(BODIES), st.sampled_from(PEOPLE)),
        st.tuples(st.just("close")),
        st.tuples(st.just("reopen")),
        st.tuples(st.just("deliver")),
        st.tuples(st.just("deliver")),
    ),
    max_size=25,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history=ops, initial=st.sets(st.sampled_from(LABELS[:5]), max_size=2))
# Found at 4,000 examples: a breach before the declaration, lowered again before the brief,
# made the next plan announce "P0 → P1" (the breach note had announced P0).
@example(
    history=[("label", "incident", "x"), ("label", "breach", "alice"), ("label", "sev:P1", "x")],
    initial=set(),
)
@example(
    history=[("label", "breach", "x"), ("say", "/ack", "alice"), ("label", "incident", "x")],
    initial=set(),
)
def test_planning_after_executing_the_plan_yields_nothing(
    history: list[tuple[str, ...]], initial: set[str]
) -> None:
    world = World(
        Issue(1, "Outage", "open", frozenset(), frozenset(), T0, None, "alice", 0),  # type: ignore[arg-type]
        [],
        [],
    )
    for name in sorted(initial):
        world.label(name)
    for op in [*history, ("deliver",)]:
        world.step()
        if op[0] == "label":
            world.label(op[1], by=op[2])
        elif op[0] == "unlabel":
            world.unlabel(op[1], by=op[2])
        elif op[0] == "say":
            world.say(op[1], op[2])
        elif op[0] == "close":
            world.set_state("closed")
        elif op[0] == "reopen":
            world.set_state("open")
        else:
            world.execute(plan(world.snapshot(), POLICY, world.now()))  # type: ignore[arg-type]
            # Planning again at the same instant: time passing may make new deadlines due.
            again = plan(world.snapshot(), POLICY, world.now())  # type: ignore[arg-type]
            assert again == [], f"not idempotent after {history}: {again}"


@settings(max_examples=150, deadline=None)
@given(history=ops)
def test_mallory_never_changes_state(history: list[tuple[str, ...]]) -> None:
    """Commands of someone without access add at most a reply, never a state change."""
    world = World(
        Issue(1, "Outage", "open", frozenset(), frozenset(), T0, None, "alice", 0),  # type: ignore[arg-type]
        [],
        [],
    )
    world.label("incident")
    world.label("sev:P1")
    world.execute(plan(world.snapshot(), POLICY, world.now()))  # type: ignore[arg-type]
    before = (world.issue.labels, world.issue.state, world.issue.assignees)
    for op in history:
        if op[0] == "say":
            world.step()
            world.say(op[1], "mallory")
    world.step()
    actions = plan(world.snapshot(), POLICY, world.now())  # type: ignore[arg-type]
    assert all(isinstance(a, PostComment) and a.kind == "denied" for a in actions)
    world.execute(actions)
    assert (world.issue.labels, world.issue.state, world.issue.assignees) == before
