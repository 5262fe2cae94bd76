"""Config files: valid and invalid ones with the messages users see (docs/behaviour.md §6)."""

from __future__ import annotations

import pytest

from app.core.policy import (
    Severity,
    Span,
)
from app.github.config import bundled_policy, check_text
from tests.factories import config_problems as problems


def test_bundled_policy_carries_the_runbooks_numbers() -> None:
    policy = bundled_policy()
    p0, p1, p2, p3 = (policy.for_severity(s) for s in Severity)
    assert (p0.respond_within, p0.update_every) == (Span(15, "minutes"), Span(30, "minutes"))
    assert (p1.respond_within, p1.update_every, p1.escalate_after) == (
        Span(1, "hours"),
        Span(2, "hours"),
        Span(2, "hours"),
    )
    assert (p2.respond_within, p2.update_every, p2.escalate_after) == (
        Span(4, "hours"),
        Span(1, "days"),
        Span(24, "hours"),
    )
    assert (p3.respond_within, p3.update_every, p3.escalate_after) == (
        Span(1, "business_days"),
        Span(1, "weeks"),
        Span(1, "weeks"),
    )
    assert p0.assign == ["incident_commander", "technical_lead", "communication_lead"]
    assert p0.notify_all
    assert policy.escalation_chain == [
        "incident_commander",
        "technical_lead",
        "team_lead",
        "senior_management",
        "executive_team",
    ]
    assert set(policy.roster) == {
        "release_manager.rohan-patel",
        "architect.morgan-lee",
        "team_lead.casey-brooks",
        "dev.avery-kim",
        "dev.default",
        "qa.default",
        # Runbook "Emergency Contacts" and the top of the escalation chain: every role has
        # a seat, so a repository only maps seats to logins.
        "management.senior",
        "management.executive",
        "security.officer",
        "legal.counsel",
        "platform.owner",
    }
    # "Automatic Escalations": P1 → senior leadership; P2 → daily review with management;
    # P3 → weekly review if no progress.
    assert p1.unresolved is not None and p1.unresolved.notify == ["senior_management"]
    assert p2.unresolved is not None and p2.unresolved.review == "daily review with management"
    assert p3.unresolved is not None and p3.unresolved.only_without_update
    assert policy.roles["legal"].contact == "legal@maxai-platform.com"
    assert policy.pir.due_business_days == 3 and policy.pir.path == "ops/docs/incidents"


def test_a_roster_alone_is_a_complete_config() -> None:
    policy = check_text("roster:\n  release_manager.rohan-patel: octocat\n", source="x")
    assert policy.holders("incident_commander") == ["@octocat"]
    assert "octocat" in policy.roster_logins


def test_numbers_are_configurable_per_severity() -> None:
    policy = check_text("severities:\n  P1:\n    respond_within: 30m\n", source="x")
    assert policy.for_severity(Severity.P1).respond_within == Span(30, "minutes")
    assert policy.for_severity(Severity.P1).update_every == Span(2, "hours")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("roster: [a, b]\n", "roster: Input should be a valid dictionary"),
        (
            "roster:\n  release_manager.rohan-patel: 'not a login!'\n",
            "roster.release_manager.rohan-patel: 'not a login!' is not a GitHub login",
        ),
        (
            "severities:\n  P1:\n    respond_within: soon\n",
            "severities.P1.respond_within: 'soon' is not a duration: use 15m, 2h, 1d, 1w, 3bd or "
            "next business day",
        ),
        ("default_severity: P9\n", "default_severity: Input should be 'P0', 'P1', 'P2' or 'P3'"),
        ("escalation_chain: [incident_commander, ceo]\n", "escalation_chain: no role named 'ceo'"),
        (
            "severities:\n  P0:\n    assign: [nobody]\n",
            "severities.P0.assign: no role named 'nobody'",
        ),
        (
            "calendar:\n  timezone: Mars/Olympus\n",
            "calendar.timezone: unknown timezone 'Mars/Olympus'",
        ),
        (
            "calendar:\n  working_days: [mon, funday]\n",
            "calendar.working_days: unknown weekday 'funday'; use mon, tue, wed, thu, fri, sat, sun",
        ),
        (
            "calendar:\n  holidays_country: XX\n",
            "calendar.holidays_country: holidays has no calendar for country 'XX'",
        ),
        ("rooster: {}\n", "rooster: unknown key"),
        ("roster: {a: b\n", "line 2, column 1: expected ',' or '}', but got '<stream end>'"),
        ("- just\n- a list\n", "file: the top level must be a mapping"),
        (
            "roles:\n  security: {title: S, members: ['@not a team']}\n",
            "roles.security.members: '@not a team' is neither @login nor @org/team",
        ),
        ("_extends: 42\n", "_extends: must be text such as .github"),
    ],
)
def test_invalid_configs_name_the_key_and_the_problem(text: str, expected: str) -> None:
    assert expected in "\n".join(problems(text))


def test_every_problem_is_reported_not_only_the_first() -> None:
    found = problems("default_severity: P9\ncalendar:\n  timezone: Nowhere/Land\n")
    assert len(found) == 2


P1 = "severities:\n  P1:\n    "


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (P1 + "update_every: 0m\n", "severities.P1.update_every: must be more than 0"),
        (P1 + "respond_within: 0bd\n", "severities.P1.respond_within: must be more than 0"),
        (
            P1 + "respond_within: -5\n",
            "severities.P1.respond_within: a duration cannot be negative",
        ),
        (P1 + "respond_within: true\n", "severities.P1.respond_within: a duration is text such"),
        (
            P1 + "escalate_after: 99999999w\n",
            "severities.P1.escalate_after: '99999999w' is longer than a year: at most 525600m, "
            "8760h, 365d, 52w or 260bd",
        ),
        (P1 + "update_every: 53w\n", "severities.P1.update_every: '53w' is longer than a year"),
        (P1 + "update_every: 366d\n", "severities.P1.update_every: '366d' is longer than a year"),
        (P1 + "update_every: 8761h\n", "severities.P1.update_every: '8761h' is longer than a year"),
        (
            P1 + "update_every: 525601\n",
            "severities.P1.update_every: '525601' is longer than a year",
        ),
        (
            P1 + "respond_within: 261bd\n",
            "severities.P1.respond_within: '261bd' is longer than a year",
        ),
        (P1 + "update_every: " + "9" * 5000 + "m\n", "severities.P1.update_every: '9999999999"),
        (
            "calendar:\n  working_hours: '99:99-00:00'\n",
            "calendar.working_hours: '99:99-00:00' is not HH:MM-HH:MM (hours 00-23, minutes 00-59)",
        ),
        (
            "calendar:\n  working_hours: '17:00-09:00'\n",
            "calendar.working_hours: '17:00-09:00': the working day must start before it ends",
        ),
        ("calendar:\n  working_hours: '9-5'\n", "calendar.working_hours: '9-5' is not HH:MM-HH:MM"),
        ("calendar:\n  working_days: []\n", "calendar.working_days: name at least one working day"),
        (
            "calendar:\n  holidays_country: US\n  holidays_subdivision: XX\n",
            "calendar.holidays_subdivision: holidays has no subdivision 'XX' for the country in",
        ),
        (
            "calendar:\n  holidays_subdivision: CA\n",
            "calendar.holidays_subdivision: needs holidays_country",
        ),
        (
            "calendar:\n  extra_holidays: [1066-10-14]\n",
            "calendar.extra_holidays: 1066-10-14 is not between 1970 and 2200",
        ),
        (
            "calendar:\n  extra_holidays: [" + ", ".join(["2026-01-01"] * 367) + "]\n",
            "calendar.extra_holidays: List should have at most 366 items",
        ),
        ("escalation_chain: []\n", "escalation_chain: List should have at least 1 item"),
        (
            "escalation_chain: [" + ", ".join(["team_lead"] * 21) + "]\n",
            "escalation_chain: List should have at most 20 items",
        ),
        ("pir:\n  due_business_days: 261\n", "pir.due_business_days: Input should be less than or"),
        ("pir:\n  due_business_days: -1\n", "pir.due_business_days: Input should be greater than"),
        ("pir:\n  max_rounds: 0\n", "pir.max_rounds: Input should be greater than or equal to 1"),
        ("pir:\n  max_rounds: 21\n", "pir.max_rounds: Input should be less than or equal to 20"),
    ],
)
def test_configs_planning_could_not_use_are_refused(text: str, expected: str) -> None:
    assert expected in "\n".join(problems(text))


@pytest.mark.parametrize(
    "text",
    [
        P1 + "escalate_after: 0m\n",
        P1 + "escalate_after: null\n",
        P1 + "update_every: 52w\n",
        P1 + "update_every: 365d\n",
        P1 + "respond_within: 260bd\n",
        P1 + "respond_within: 1\n",
        "calendar:\n  working_hours: '0:00-23:59'\n  working_days: [sun]\n",
        "calendar:\n  holidays_country: us\n  holidays_subdivision: CA\n",
        "calendar:\n  extra_holidays: [2026-12-24, 2026-12-31]\n",
        "pir:\n  due_business_days: 0\n  max_rounds: 20\n",
    ],
)
def test_edge_values_that_planning_can_use_are_accepted(text: str) -> None:
    check_text(text, source="x")
