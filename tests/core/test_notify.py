"""Who hears of a run's writes, decided purely (`core.notify.audience`): the notifiers a
repository's `notify:` names for the incident's severities, the people holding the severity's
roles, and whether the incident is confidential (docs/behaviour.md §8, §10)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.core import markers
from app.core.actions import Action, AddLabels, PostComment
from app.core.notify import Audience, audience, pages, routes
from app.core.notify import Event as NotifyEvent
from app.core.notify import Kind as NotifyKind
from app.core.policy import Policy, Severity
from app.core.snapshot import Comment, Event, Issue, Repo, Snapshot
from app.core.state import derive
from app.github.config import check_text

POLICY = check_text(
    "roster:\n  release_manager.rohan-patel: rohan\n  architect.morgan-lee: morgan\n"
    "  team_lead.casey-brooks: casey\n"
    "notify:\n"
    "  - {to: payments-slack, severities: [P0, P1]}\n"
    "  - {to: payments-pager, severities: [P0]}\n"
    "  - {to: everything}\n",
    source="test",
)
QUIET = check_text("notify:\n  - {to: payments-pager, severities: [P0]}\n", source="test")
DECLARED = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)


def snapshot(
    severity: str = "P0",
    *,
    unconfirmed: bool = False,
    private: bool = False,
    labels: tuple[str, ...] = (),
    lowered_to: str | None = None,
) -> Snapshot:
    """An incident whose brief the app posted at DECLARED; `labels` added by a member."""
    brief = markers.Brief(severity, checklist=severity, unconfirmed=unconfirmed)
    now = lowered_to or severity
    events = [
        Event(1, "labeled", DECLARED, "alice", False, label="incident"),
        Event(2, "labeled", DECLARED, "alice", False, label=f"sev:{severity}"),
    ]
    events += [
        Event(3 + i, "labeled", DECLARED + timedelta(minutes=1), "alice", False, label=label)
        for i, label in enumerate(labels)
    ]
    if lowered_to:
        at = DECLARED + timedelta(minutes=5)
        events += [
            Event(10, "unlabeled", at, "alice", False, label=f"sev:{severity}"),
            Event(11, "labeled", at, "alice", False, label=f"sev:{lowered_to}"),
        ]
    return Snapshot(
        repo=Repo("acme", "shop", private=private),
        issue=Issue(
            1,
            "Outage",
            "open",
            frozenset({"incident", f"sev:{now}", "status:investigating", *labels}),
            frozenset(),
            DECLARED,
            None,
            "alice",
            1,
        ),
        comments=(Comment(1, "bot", True, "NONE", DECLARED, markers.render(brief), True),),
        events=tuple(events),
        authorized=frozenset({"alice"}),
    )


def told(snap: Snapshot, policy: Policy = POLICY, done: Sequence[Action] = ()) -> Audience | None:
    state = derive(snap, policy)
    assert state is not None
    return audience(snap, policy, state, done)


def test_a_confirmed_p0_reaches_its_routes_and_the_holders_of_its_roles() -> None:
    assert told(snapshot("P0")) == Audience(
        to=["payments-slack", "payments-pager", "everything"],
        people=["rohan", "morgan", "casey"],
        confidential=False,
    )


def test_a_p2_reaches_only_the_routes_without_severities() -> None:
    found = told(snapshot("P2"))
    assert found is not None and found.to == ["everything"]


def test_a_severity_the_repository_sends_nowhere_tells_nobody() -> None:
    assert told(snapshot("P2"), QUIET) is None


def test_a_lowered_incident_still_reaches_whoever_heard_of_its_first_severity() -> None:
    found = told(snapshot("P0", lowered_to="P2"))
    assert found is not None
    assert found.to == ["payments-slack", "payments-pager", "everything"]


def test_an_unconfirmed_declaration_tells_nobody_until_its_confirmation_is_written() -> None:
    snap = snapshot("P0", unconfirmed=True)
    assert told(snap) is None
    confirmed = PostComment(markers.render(markers.Confirmed("alice")), "confirmed")
    assert told(snap, done=[AddLabels(("sev:P0",)), confirmed]) is not None


def test_a_drill_stays_inside_github() -> None:
    assert told(snapshot("P0", labels=("drill",))) is None


@pytest.mark.parametrize(
    ("private", "labels"), [(True, ()), (False, ("security",)), (False, ("breach",))]
)
def test_a_private_or_sensitive_incident_is_confidential(
    private: bool, labels: tuple[str, ...]
) -> None:
    found = told(snapshot("P0", private=private, labels=labels))
    assert found is not None and found.confidential


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        (PostComment(markers.render(markers.Confirmed("alice")), "confirmed"), True),
        (PostComment(markers.render(markers.Brief("P1")), "brief"), True),
        (PostComment(markers.render(markers.Brief("P1", unconfirmed=True)), "brief"), False),
        # On another issue (the review's), or another repository: not the incident's record.
        (PostComment(markers.render(markers.Brief("P1")), "brief", number=2), False),
        (PostComment(markers.render(markers.Brief("P1")), "brief", repo="acme/private"), False),
        (PostComment("no marker", "reply"), False),
        (AddLabels(("incident",)), False),
    ],
)
def test_which_writes_page(action: Action, expected: bool) -> None:
    assert pages([action]) is expected


# --- public routes: customers hear public updates only ----------------------------------

PUBLIC = check_text(
    "notify:\n"
    "  - {to: payments-slack}\n"
    "  - {to: status-page, public: true}\n"
    "  - {to: customers-mail, public: true, severities: [P0, P1]}\n",
    source="test",
)


def an_event(kind: NotifyKind, **fields: object) -> NotifyEvent:
    return NotifyEvent(
        key=f"acme/shop#1:{kind.value}",
        kind=kind,
        repo="acme/shop",
        number=1,
        title="Outage of the payments-db primary",
        severity=Severity.P1,
        status="mitigating",
        issue_url="https://github.com/acme/shop/issues/1",
        url="https://github.com/acme/shop/issues/1#issuecomment-9",
        text="failing over db-primary-3 (internal detail)",
        at=DECLARED,
        **fields,  # type: ignore[arg-type]
    )


def test_public_routes_are_kept_apart_from_the_internal_ones() -> None:
    found = told(snapshot("P1"), PUBLIC)
    assert found is not None
    assert found.to == ["payments-slack"]
    assert found.public == ["status-page", "customers-mail"]
    assert routes(PUBLIC, Severity.P2, public=True) == ["status-page"]


@pytest.mark.parametrize(
    ("kind", "public_text", "expected"),
    [
        # Every internal kind goes to the internal routes, never to a public one.
        *((kind, "", ["payments-slack"]) for kind in NotifyKind if kind is not NotifyKind.PUBLIC),
        # The all-clear is internal; carrying the final public entry, it is told to both.
        (
            NotifyKind.RESOLVED,
            "All systems are back.",
            ["payments-slack", "status-page", "customers-mail"],
        ),
        (NotifyKind.PUBLIC, "We are looking into it.", ["status-page", "customers-mail"]),
        (NotifyKind.PUBLIC, "", ["status-page", "customers-mail"]),
    ],
)
def test_each_event_goes_to_one_audience(
    kind: NotifyKind, public_text: str, expected: list[str]
) -> None:
    found = told(snapshot("P1"), PUBLIC)
    assert found is not None
    assert found.for_event(an_event(kind, public_text=public_text)) == expected


def test_only_public_routes_are_enough_to_tell_customers() -> None:
    only = check_text("notify:\n  - {to: status-page, public: true}\n", source="test")
    found = told(snapshot("P1"), only)
    assert found is not None and found.to == [] and found.public == ["status-page"]
    assert found.for_event(an_event(NotifyKind.STATUS)) == []


# --- public events (issue 24): the app's 👍 on a `/public`, the all-clear's final entry ---


def _public_events(bodies: list[str], *, done_comment: int, all_clear: bool = False) -> list[Any]:
    from app.core import notify, statuspage
    from app.core.actions import AddReaction
    from app.core.policy import Severity
    from tests.factories import POLICY as LEADS
    from tests.factories import snapshot as briefed

    snap = briefed(
        "P1", comments=[(timedelta(minutes=i + 1), body) for i, body in enumerate(bodies)]
    )
    state = derive(snap, LEADS)
    assert state is not None
    done = [notify.Done(AddReaction(done_comment, "+1"), {})]
    if all_clear:
        body = "✅ all clear " + markers.render(markers.AllClear(1))
        done.append(notify.Done(PostComment(body, "all-clear"), {"id": 77, "html_url": "u"}))
    return notify.events(
        done,
        repo="acme/shop",
        number=1,
        title="Outage",
        issue_url="https://github.com/acme/shop/issues/1",
        severity=Severity.P1,
        status=state.status.value,
        comments={c.id: (c.body, c.url) for c in snap.comments},
        at=DECLARED,
        public=statuspage.public_incident(snap, state),
        impact=statuspage.impact_share(state),
        impacts=statuspage.impact_statements(state),
    )


def test_a_confirmed_public_update_is_one_public_event_with_the_public_record() -> None:
    from app.core.notify import Kind

    found = _public_events(
        [
            "/public title Slow checkout",
            "/impact 15",
            "/status mitigating db-7 is out of disk\n/public Checkout is slow.\n"
            "/component Checkout degraded",
        ],
        done_comment=12,
    )
    [status, public] = found
    assert status.kind is Kind.STATUS and not status.public
    assert public.kind is Kind.PUBLIC and public.public
    assert public.public_text == "Checkout is slow."
    assert public.public_title == "Slow checkout"
    assert public.components == {"Checkout": "degraded"}
    assert public.impact == 15.0
    assert public.status == "mitigating"
    assert public.key == "acme/shop#1:public:12"
    assert "db-7" not in public.public_text


def test_public_resolved_is_a_public_event_with_the_resolved_status() -> None:
    [public] = _public_events(["/public resolved All fixed."], done_comment=10)
    assert public.status == "resolved"
    assert public.public_text == "All fixed."


def test_the_all_clear_tells_customers_the_final_entry_unless_public_resolved_did() -> None:
    from app.core.notify import Kind

    found = _public_events(
        ["/public Investigating.", "/status resolved fixed"], done_comment=11, all_clear=True
    )
    [resolved] = [e for e in found if e.kind is Kind.RESOLVED]
    assert resolved.public
    assert resolved.public_text.startswith("This incident has been resolved")
    told = _public_events(
        ["/public resolved All fixed.", "/status resolved fixed"], done_comment=11, all_clear=True
    )
    [resolved] = [e for e in told if e.kind is Kind.RESOLVED]
    assert not resolved.public


def test_a_component_alone_is_a_public_event_without_words() -> None:
    [public] = _public_events(
        ["/public Checkout is slow.", "/component Checkout major-outage"], done_comment=11
    )
    assert public.kind is NotifyKind.PUBLIC and public.public
    assert public.key == "acme/shop#1:public:11"
    assert public.public_text == ""  # nothing new to read: Statuspage's components change
    assert public.components == {"Checkout": "major-outage"}


def test_a_stated_impact_restates_the_last_public_update_under_its_key() -> None:
    """Email skips a public update while the impact is unknown; `/impact` (or a status
    update's `Impact:` with a percentage) later tells it again, under the same key, so the
    notifiers that had it (their ledger knows the key) hear nothing twice."""
    [public] = _public_events(["/public Investigating.", "/impact 25"], done_comment=11)
    assert public.kind is NotifyKind.PUBLIC
    assert public.key == "acme/shop#1:public:10"
    assert public.public_text == "Investigating."
    assert public.impact == 25.0
    assert public.restated and public.impact_before is None
    [again] = _public_events(["/impact 5", "/public Investigating.", "/impact 25"], done_comment=12)
    assert (again.key, again.impact_before, again.impact) == ("acme/shop#1:public:11", 5.0, 25.0)
    update = "🚨 INCIDENT UPDATE #1\nStatus: Mitigating\nImpact: about 30% of users\nETA: 1h"
    [status, again] = _public_events(["/public Investigating.", update], done_comment=11)
    assert status.kind is NotifyKind.STATUS and not status.public
    assert (again.key, again.public_text, again.impact) == (
        "acme/shop#1:public:10",
        "Investigating.",
        30.0,
    )


def test_an_impact_or_status_before_any_public_update_tells_customers_nothing() -> None:
    assert _public_events(["/impact 25"], done_comment=10) == []
    [status] = _public_events(["/status mitigating db-7 is out of disk"], done_comment=10)
    assert status.kind is NotifyKind.STATUS
    [status] = _public_events(["/public Slow.", "/status monitoring ok"], done_comment=11)
    assert status.kind is NotifyKind.STATUS
