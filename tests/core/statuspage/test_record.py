"""An incident's public record (issue 24): only public commands reach it; drills never,
sensitive incidents only by an explicit `/public`; resolution adds the final entry."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from app.core import markers
from app.core.commands import ComponentState
from app.core.snapshot import Comment, Event, Snapshot
from app.core.state import IncidentState, derive
from app.core.statuspage import impact_share, listed, opaque_id, public_incident
from app.core.statuspage.model import PublicIncident, PublicStatus, PublicUpdate
from tests.factories import DECLARED, POLICY, labeled, snapshot

M = timedelta(minutes=1)


def _public(
    comments: list[tuple[timedelta, str]],
    *,
    events: list[Event] = (),  # type: ignore[assignment]
    own: list[markers.Marker] = (),  # type: ignore[assignment]
) -> tuple[Snapshot, IncidentState, PublicIncident | None]:
    snap = snapshot("P1", comments=comments, events=events, own=own)
    state = derive(snap, POLICY)
    assert state is not None
    return snap, state, public_incident(snap, state)


def test_only_public_commands_reach_the_record() -> None:
    _, _, found = _public(
        [
            (5 * M, "/status mitigating the db-7 primary ran out of disk"),
            (6 * M, "/public Some customers cannot check out. We are working on a fix."),
            (7 * M, "/component Checkout partial-outage"),
            (8 * M, "internal: rohan restarted db-7"),
        ]
    )
    assert found is not None
    assert found.title == "Service disruption"  # P1's generic title, never the issue's
    assert found.updates == (
        PublicUpdate(
            DECLARED + 6 * M,
            PublicStatus.IDENTIFIED,  # mitigating, as customers read it
            "Some customers cannot check out. We are working on a fix.",
        ),
    )
    assert found.components == (("Checkout", ComponentState.PARTIAL_OUTAGE),)
    assert found.open
    text = repr(found)
    for internal in ("db-7", "rohan", "acme", "shop", "Outage"):
        assert internal not in text


def test_no_public_command_no_listing() -> None:
    snap, state, found = _public([(5 * M, "/status mitigating restarting")])
    assert found is None
    assert not listed(state)
    assert opaque_id(snap, state) is None


def test_a_component_alone_lists_the_incident() -> None:
    _, _, found = _public([(5 * M, "/component API degraded")])
    assert found is not None
    assert found.updates == ()


def test_a_title_and_the_last_state_of_each_component() -> None:
    _, _, found = _public(
        [
            (1 * M, "/public title Slow logins"),
            (2 * M, "/component api degraded"),
            (3 * M, "/component API major-outage"),
            (4 * M, "/public We are investigating."),
        ]
    )
    assert found is not None
    assert found.title == "Slow logins"
    assert found.components == (("api", ComponentState.MAJOR_OUTAGE),)


def test_drills_never_appear() -> None:
    _, state, found = _public(
        [(1 * M, "/public Drill text")], events=labeled("drill", at=DECLARED - M)
    )
    assert state.drill
    assert found is None


def test_sensitive_incidents_appear_only_by_an_explicit_public() -> None:
    security = labeled("security", at=DECLARED - M)
    _, _, quiet = _public([(1 * M, "/component API degraded")], events=security)
    assert quiet is None
    _, _, told = _public([(1 * M, "/public We are investigating.")], events=security)
    assert told is not None


def test_resolution_adds_the_final_entry_with_the_duration() -> None:
    _, _, found = _public(
        [(10 * M, "/public We are investigating."), (130 * M, "/status resolved fixed db-7")]
    )
    assert found is not None
    assert found.resolved_at == DECLARED + 130 * M
    last = found.updates[-1]
    assert last.status is PublicStatus.RESOLVED
    assert "It lasted 2 h 10 min." in last.text
    assert "db-7" not in last.text


def test_public_resolved_is_the_final_entry() -> None:
    _, _, found = _public(
        [
            (10 * M, "/public We are investigating."),
            (120 * M, "/public resolved Checkout works again for everyone."),
            (130 * M, "/status resolved fixed db-7"),
        ]
    )
    assert found is not None
    assert [u.status for u in found.updates] == [PublicStatus.INVESTIGATING, PublicStatus.RESOLVED]
    assert found.updates[-1].text == "Checkout works again for everyone."
    assert found.resolved_at == DECLARED + 120 * M


def test_a_stranger_publishes_nothing() -> None:
    snap = snapshot("P1")
    stranger = Comment(50, "mallory", False, "NONE", DECLARED + M, "/public Pwned", False)
    snap = replace(snap, comments=(*snap.comments, stranger))
    state = derive(snap, POLICY)
    assert state is not None
    assert public_incident(snap, state) is None


def test_the_id_is_opaque_stable_and_kept_by_the_record_note() -> None:
    snap, _, found = _public([(1 * M, "/public Investigating.")])
    assert found is not None
    assert len(found.id) == 20
    assert "shop" not in found.id and found.id != "1"
    again = derive(snap, POLICY)
    assert again is not None and opaque_id(snap, again) == found.id
    _, _, kept = _public(
        [(1 * M, "/public Investigating.")], own=[markers.PublicRecord("kept-id-0123456789ab")]
    )
    assert kept is not None and kept.id == "kept-id-0123456789ab"


def test_impact_share_from_impact_or_an_update_field() -> None:
    _, state, _ = _public([(1 * M, "/impact 15")])
    assert impact_share(state) == 15.0
    template = "INCIDENT UPDATE\nStatus: mitigating\nImpact: about 40% of users\n"
    _, state, _ = _public([(1 * M, "/impact 15"), (2 * M, template)])
    assert impact_share(state) == 40.0
    _, state, _ = _public([(1 * M, "/status mitigating 50% of pods restarted")])
    assert impact_share(state) is None
