"""Config files: valid and invalid ones with the messages users see (docs/behaviour.md §6)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from app.core.policy import (
    ConfigError,
    ConfigIssue,
    Severity,
    Span,
    public_problems,
)
from app.github.config import bundled_policy, check_text


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


# --- configs that must be refused because planning could not use them ---------------------

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


def test_working_hours_are_read_as_written() -> None:
    policy = check_text("calendar:\n  working_hours: ' 8:30 - 16:45 '\n", source="x")
    cal = policy.business_calendar
    assert (cal.day_start.isoformat(), cal.day_end.isoformat()) == ("08:30:00", "16:45:00")


def test_the_review_allows_three_rounds_unless_configured() -> None:
    assert bundled_policy().pir.max_rounds == 3
    assert check_text("pir:\n  max_rounds: 5\n", source="x").pir.max_rounds == 5


# --- the review's folder and label ----------------------------------------------------------

CHARACTERS = "only letters, digits, '.', '_' and '-' between the slashes"
PATH_RULE = "pir.path: must be a relative folder in this repository such as ops/docs/incidents"


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("../../victim/contents/docs", "no . or .. segment"),
        ("ops/../../victim", "no . or .. segment"),
        ("ops/./docs", "no . or .. segment"),
        ("/etc/docs", "no leading /"),
        ("https://evil.example/docs", "not a URL"),
        ("ops\\docs", "no backslash"),
        ("ops//docs", "no empty segment (//)"),
        ("", "no empty segment (//)"),
        ("ops/docs?ref=evil", CHARACTERS),
        ("ops/%2e%2e/docs", CHARACTERS),
        ("ops/d o c s", CHARACTERS),
        ("a/" * 101 + "b", "at most 200 characters"),
    ],
)
def test_the_review_folder_stays_inside_the_repository(path: str, why: str) -> None:
    (found,) = problems(f"pir:\n  path: {json.dumps(path)}\n")
    assert found == f"{PATH_RULE}: {why}"
    assert path not in found or path == ""


@pytest.mark.parametrize(
    ("text", "folder"),
    [
        ("ops/docs/incidents", "ops/docs/incidents"),
        ("docs/", "docs"),
        (".github/pir", ".github/pir"),
    ],
)
def test_ordinary_review_folders_are_accepted(text: str, folder: str) -> None:
    assert check_text(f"pir:\n  path: {text}\n", source="x").pir.path == folder


@pytest.mark.parametrize("label", ["pir,incident", "x" * 51, "", "   ", "pir\nlabel"])
def test_the_review_label_must_be_a_github_label(label: str) -> None:
    (found,) = problems(f"pir:\n  label: {json.dumps(label)}\n")
    assert found == "pir.label: must be a GitHub label: 1 to 50 characters, no commas"


def test_ordinary_review_labels_are_accepted() -> None:
    assert check_text("pir:\n  label: 'post-incident review 🔍'\n", source="x").pir.label == (
        "post-incident review 🔍"
    )


# --- nesting ----------------------------------------------------------------------------------

TOO_DEEP = "file: nested too deeply (more than 64 levels)"


@pytest.mark.parametrize(
    "text",
    [
        "a: " + "[" * 130_000 + "]" * 130_000,
        "[" * 250_000,
        "a: " + "{b: " * 40_000 + "}" * 40_000,
        "- " * 120_000 + "x",
        "".join(" " * i + f"k{i}:\n" for i in range(600)),
        "a: " + "[" * 65 + "]" * 65,
    ],
    ids=["flow-lists", "unclosed", "flow-maps", "block-lists", "indentation", "65-levels"],
)
def test_deeply_nested_yaml_is_refused(text: str) -> None:
    assert problems(text) == [TOO_DEEP]


def test_flow_nesting_is_refused_before_the_yaml_parser_starts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import app.core.policy.yaml_guard as guard

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("the YAML parser was started")

    monkeypatch.setattr(guard.yaml, "SafeLoader", never)
    monkeypatch.setattr(guard, "_Loader", never, raising=False)
    assert problems("a: " + "[" * 130_000 + "]" * 130_000) == [TOO_DEEP]
    assert problems("a: '" + "[" * 100 + "'\nb: [[[x]]]\nc: " + "[" * 100 + "]" * 100) == [TOO_DEEP]


def test_brackets_in_text_and_comments_are_no_nesting() -> None:
    text = (
        "# [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n"
        "severities:\n  P1:\n    name: '"
        + "[" * 70
        + "'\n    checklist: [\"{{{{ "
        + "[" * 70
        + "\", don't panic]  # ]]]]\n"
    )
    policy = check_text(text, source="x")
    assert policy.for_severity(Severity.P1).name == "[" * 70
    assert policy.for_severity(Severity.P1).checklist == ["{{{{ " + "[" * 70, "don't panic"]
    nested_64 = "x: " + "[" * 64 + "]" * 64
    assert problems(nested_64) == ["x: unknown key"]


# --- _extends and problems found in other repositories' files ---------------------------------


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        (".github:../secrets.yml", "the path must be relative inside the repository: no . or .."),
        (".github:/etc/passwd", "the path must be relative inside the repository: no leading /"),
        ("https://evil.example/x.yml", "must be [owner/]repository[:path], not a URL"),
        (".github:a\\b.yml", "the path must be relative inside the repository: no backslash"),
        ("..", "must be [owner/]repository[:path]"),
        ("acme/a b", "must be [owner/]repository[:path]"),
        ("[a]", "must be text such as .github or .github:path/in/it.yml"),
    ],
)
def test_extends_is_checked_without_echoing_it(value: str, rule: str) -> None:
    (found,) = problems(f"_extends: {json.dumps(value) if value != '[a]' else value}\n")
    assert found.startswith("_extends: ") and rule in found
    assert value not in found


def test_problems_from_another_repository_are_counted_never_shown() -> None:
    secret = ConfigIssue(
        "acme/.github:.github/incident.yml",
        "calendar.timezone",
        "unknown timezone 'hunter2'",
        foreign=True,
    )
    own = ConfigIssue("acme/web:.github/incident.yml", "pir.path", "must be relative")
    assert "hunter2" not in str(secret) and "calendar" not in str(secret)
    assert "hunter2" not in secret.public_text()
    assert own.public_text() == "pir.path: must be relative"
    assert str(own) == "acme/web:.github/incident.yml: pir.path: must be relative"
    shown = public_problems([own, secret, secret, replace(secret, location="x", message="y")])
    assert [str(p) for p in shown] == [
        "acme/web:.github/incident.yml: pir.path: must be relative",
        "acme/.github:.github/incident.yml: file: 2 problem(s); details are not shown here: "
        "run incident-app check-config on that file",
    ]
    assert public_problems(shown) == shown
    assert not any(p.foreign for p in shown)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("calendar:\n  extra_holidays: [2026-02-30]\n", "a value cannot be read: day is out of"),
        ("a: 1" + "0" * 5000 + "\n", "a value cannot be read: Exceeds the limit"),
        ("a: \x1f\n", "special characters are not allowed"),
        ('a: "\\uD800"\n', "text that is not valid Unicode"),
    ],
)
def test_values_yaml_cannot_build_are_explained(text: str, expected: str) -> None:
    (found,) = problems(text)
    assert expected in found


def test_values_are_counted_while_the_yaml_is_composed(monkeypatch: pytest.MonkeyPatch) -> None:
    import app.core.policy.yaml_guard as guard

    monkeypatch.setattr(guard, "MAX_CONFIG_NODES", 100)
    assert problems("a: [" + "[], " * 200 + "]\n") == ["file: more than 100 values"]


def test_the_longest_business_span_on_one_working_day_a_week_is_still_counted() -> None:
    policy = check_text("calendar:\n  working_days: [sun]\n", source="x")
    cal = policy.business_calendar
    saturday = datetime(2026, 1, 3, 12, 0, tzinfo=UTC)
    due = cal.business_days_after(saturday, 260)
    assert due == datetime(2030, 12, 22, 17, 0, tzinfo=UTC)  # the 260th Sunday
    assert cal.business_days_between(saturday, due) == 260
