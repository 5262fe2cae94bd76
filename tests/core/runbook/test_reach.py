"""No silent escalation: whom a role reaches, and where a call for an empty role goes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.core import markers
from app.core.actions import PostComment
from app.core.policy import Policy
from app.core.runbook import plan
from app.core.runbook.reach import Reach, Seat, reach
from tests.factories import DECLARED, NEW_YORK, POLICY, ROSTER_IC, policy, roster, snapshot

EXECUTIVES = policy(roster("management.executive: erin") + NEW_YORK)
NOBODY = "roster: {}\n"  # the bundled seats, none mapped to a login
ACKED = [(timedelta(minutes=1), "/ack")]


def escalations(snap: object, now: object, policy: Policy) -> list[str]:
    return [
        a.body
        for a in plan(snap, policy, now)  # type: ignore[arg-type]
        if isinstance(a, PostComment) and a.kind == "escalation"
    ]


def test_a_p1_unresolved_for_two_hours_with_no_senior_management_reaches_the_executives() -> None:
    """Runbook: "P1: 2 hours unresolved → escalate to senior leadership"; the roster maps
    no login to `management.senior`, so the call climbs to the next role that has someone."""
    (note,) = escalations(snapshot("P1", comments=ACKED), DECLARED + timedelta(hours=2), EXECUTIVES)
    assert "@erin" in note  # someone is @-mentioned
    assert "**Senior Management**: nobody to reach (`management.senior`" in note
    assert "set `roster.management.senior` in `.github/incident.yml`" in note
    assert "so the call goes to **Executive Team**: @erin" in note
    (marker,) = markers.of(markers.Escalation, note)
    assert marker.level == 4  # the executive team's level: the next climb starts above it


def test_with_nobody_up_the_chain_the_call_falls_to_the_incident_commander() -> None:
    (note,) = escalations(snapshot("P1", comments=ACKED), DECLARED + timedelta(hours=2), POLICY)
    assert "so the call goes to **Incident Commander**: @rohan" in note
    assert "`roster.management.senior`" in note


def test_a_climb_to_an_empty_level_goes_on_up_and_records_the_level_reached() -> None:
    """Three response intervals unacknowledged: level 4 (senior management) is empty, so the
    executive team is called, and the marker records the executive team's level."""
    found = escalations(snapshot("P1"), DECLARED + timedelta(hours=3), EXECUTIVES)
    (note,) = [b for b in found if "not acknowledged" in b]
    assert "Escalating to **Senior Management** (level 4 of the chain): nobody to reach" in note
    assert "so the call goes to **Executive Team**: @erin." in note
    (marker,) = markers.of(markers.Escalation, note)
    assert marker.level == 4


def test_a_role_off_the_chain_falls_to_the_incident_commander() -> None:
    """`/escalate compliance` reaches legal and the security officer; neither seat has a
    login, so the incident commander is called, and each empty seat is named."""
    snap = snapshot("P2", comments=[(timedelta(minutes=5), "/escalate compliance audit")])
    (note,) = escalations(snap, DECLARED + timedelta(minutes=6), POLICY)
    assert (
        "**Legal/Compliance** (`legal@maxai-platform.com`): nobody to reach (`legal.counsel`"
        in note
    )
    assert "`roster.legal.counsel`" in note and "`roster.security.officer`" in note
    assert note.count("so the call goes to **Incident Commander**: @rohan") == 2


@pytest.mark.parametrize(
    ("role", "text", "expected"),
    [
        # Its holders: nothing is missing.
        ("incident_commander", ROSTER_IC, Reach("incident_commander", ("@rohan",))),
        # Its backups, naming the empty seat.
        (
            "technical_lead",
            "roster:\n  dev.avery-kim: avery\n",
            Reach(
                "technical_lead",
                ("@avery",),
                backup=True,
                empty=(Seat("architect.morgan-lee", "roster.architect.morgan-lee"),),
            ),
        ),
        # On the chain: the next role up that has someone.
        (
            "team_lead",
            "roster:\n  management.executive: erin\n",
            Reach(
                "team_lead",
                ("@erin",),
                by="executive_team",
                empty=(Seat("team_lead.casey-brooks", "roster.team_lead.casey-brooks"),),
            ),
        ),
        # Off the chain: the incident commander's backup when the commander has no login.
        (
            "legal",
            "roster:\n  team_lead.casey-brooks: casey\n",
            Reach(
                "legal",
                ("@casey",),
                by="incident_commander",
                backup=True,
                empty=(Seat("legal.counsel", "roster.legal.counsel"),),
            ),
        ),
        # Nobody anywhere: the empty seat named, nobody mentioned.
        (
            "legal",
            NOBODY,
            Reach("legal", (), empty=(Seat("legal.counsel", "roster.legal.counsel"),)),
        ),
    ],
)
def test_who_a_role_reaches(role: str, text: str, expected: Reach) -> None:
    assert reach(role, policy(text), DECLARED) == expected


def test_a_role_handed_over_with_assign_reaches_its_new_holder() -> None:
    assigned = {"legal": ["@lena"]}
    assert reach("legal", policy(NOBODY), DECLARED, assigned) == Reach("legal", ("@lena",))


def test_a_role_naming_no_seat_names_its_members_key() -> None:
    found = policy("roles:\n  legal: {title: Legal, members: []}\n")
    assert reach("legal", found, DECLARED).empty == (Seat("legal", "roles.legal.members"),)
