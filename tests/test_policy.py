"""Config files: valid and invalid ones with the messages users see (SPEC §6)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from app.policy import ConfigError, Severity, Span, bundled_policy, check_text


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        check_text(text, source="incident.yml")
    return [f"{p.location}: {p.message}" for p in caught.value.problems]


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
    }
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
            "roster: roster seat 'release_manager.rohan-patel': 'not a login!' is not a GitHub login",
        ),
        (
            "severities:\n  P1:\n    respond_within: soon\n",
            "severities.P1.respond_within: 'soon' is not a duration: use 15m, 2h, 1d, 1w, 3bd or "
            "next business day",
        ),
        ("default_severity: P9\n", "default_severity: Input should be 'P0', 'P1', 'P2' or 'P3'"),
        (
            "escalation_chain: [incident_commander, ceo]\n",
            "file: escalation_chain: no role named 'ceo'",
        ),
        (
            "severities:\n  P0:\n    assign: [nobody]\n",
            "file: severities.P0.assign: no role named 'nobody'",
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


def test_yaml_bombs_and_huge_files_are_refused() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for i, prev in zip("bcdefgh", "abcdefg", strict=True):
        bomb += f"{i}: &{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
    assert problems(bomb) == ["file: too many values once aliases are expanded"]
    assert problems("x: " + "y" * 300_000) == ["file: larger than 262144 bytes"]


def test_business_days_skip_weekends_and_holidays() -> None:
    policy = check_text(
        "calendar:\n  timezone: Europe/Berlin\n  holidays_country: DE\n", source="x"
    )
    cal = policy.business_calendar
    friday_evening = datetime(2026, 12, 18, 19, 0, tzinfo=UTC)
    # next business day of a Friday evening is Monday, closing time Berlin (16:00 UTC)
    assert cal.business_days_after(friday_evening, 1) == datetime(2026, 12, 21, 16, 0, tzinfo=UTC)
    # Christmas Eve is a Thursday; 25th and 26th are public holidays in Germany
    christmas_eve = datetime(2026, 12, 24, 10, 0, tzinfo=UTC)
    assert cal.business_days_after(christmas_eve, 1) == datetime(2026, 12, 28, 16, 0, tzinfo=UTC)
    assert cal.holiday_name(date(2026, 12, 25)) is not None
