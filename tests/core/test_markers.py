"""The markers protocol: every kind round-trips, and every marker a release wrote still reads."""

from __future__ import annotations

import pytest

from app.core import markers
from app.core.markers import (
    Brief,
    ConfigProblem,
    Confirmed,
    Denied,
    Escalation,
    HelpReply,
    InvalidReply,
    Marker,
    PirFallback,
    PirIssue,
    PirLink,
    PirReminder,
    Reminder,
    SecurityNote,
    SeverityNote,
    Undone,
)

EVERY_KIND: list[Marker] = [
    Brief("P0", checklist="P0"),
    Brief("P1", checklist="P1", unconfirmed=True),
    Confirmed("ic-ada"),
    SeverityNote("P1"),
    SeverityNote("P1", checklist="P1"),
    SecurityNote(),
    HelpReply(1234),
    InvalidReply(1234),
    Denied("mallory"),
    Undone("mallory"),
    Escalation(("response-P0-1", "response-P0-2"), level=2),
    Escalation(("manual-77",), level=1, comment=77),
    ConfigProblem("0123456789ab"),
    Reminder("2019-05-15T15:20:18+00:00", 3),
    PirIssue(1, 2, "2019-05-20T17:00:00+00:00"),
    PirLink(1, 2, 3),
    PirLink(2, 5, None),
    PirFallback(),
    PirReminder("2019-05-21"),
    markers.BreachNote(),
    markers.PhaseNote("mitigating"),
    markers.AllClear(1),
    markers.Recurrence(2),
    markers.ActionItem(1, "r1:immediate-1", "2019-05-24T10:00:00+00:00"),
    markers.ActionList(("c1012", "r1:immediate-1")),
    markers.ActionReminder("2019-W22"),
    markers.MonthlyReview("2019-05"),
    markers.ScheduledDrill("P0", "2019-Q2"),
    markers.AlertIssue("0123456789abcdef", "alertmanager", "fedcba9876543210", ("c6a8e1b2",)),
    markers.AlertNote("0123456789abcdef", "fedcba9876543210", ("c6a8e1b2", "ab12cd34")),
    markers.AlertNote("0123456789abcdef", "none", resolved=True, auto=True),
    markers.PublicRecord("a1b2c3d4e5f6a7b8c9d0"),
    markers.PublicReminder("2019-05-15T17:20:18+00:00"),
    markers.Handover("primary", "2026-03-30T07:00Z"),
    markers.HandoverIssue("primary", "2026-03-30T07:00Z"),
    markers.OnCallReply(1234),
    markers.OnCallLog(),
    markers.CalendarProblem("vendor-oncall"),
    markers.CoverNote("primary", "ken", "2026-03-25T10:00Z", "ada"),
    markers.CoverNote("primary", "ken", "2026-03-25T10:00Z", "ada", "2026-03-26T10:00Z", 7, 99),
]


def test_a_flag_of_the_wrong_type_is_no_marker() -> None:
    body = '<!-- incident-app {"k":"alert-note","v":1,"group":"g","digest":"d","auto":"yes"} -->'
    assert markers.parse(body) == []


def test_every_kind_is_listed() -> None:
    assert {type(m) for m in EVERY_KIND} == set(markers.KINDS.values())


@pytest.mark.parametrize("marker", EVERY_KIND, ids=lambda m: type(m).__name__)
def test_every_kind_round_trips_inside_a_comment(marker: Marker) -> None:
    body = f"Some text a person reads.\n\n{markers.render(marker)}"
    assert markers.parse(body) == [marker]
    assert markers.of(type(marker), body) == [marker]


# Markers as the first release (no `v`) wrote them, copied from comments it posted. Old
# incidents carry these for ever: each must read as the same fact today.
RECORDED_V0 = [
    (
        '<!-- incident-app {"checklist":"P0","k":"brief","sev":"P0"} -->',
        Brief("P0", checklist="P0"),
    ),
    ('<!-- incident-app {"k":"severity","sev":"P1"} -->', SeverityNote("P1")),
    (
        '<!-- incident-app {"checklist":"P2","k":"severity","sev":"P2"} -->',
        SeverityNote("P2", checklist="P2"),
    ),
    ('<!-- incident-app {"k":"security"} -->', SecurityNote()),
    ('<!-- incident-app {"c":1006,"k":"help"} -->', HelpReply(1006)),
    ('<!-- incident-app {"c":1006,"k":"invalid"} -->', InvalidReply(1006)),
    ('<!-- incident-app {"k":"denied","u":"mallory"} -->', Denied("mallory")),
    (
        '<!-- incident-app {"k":"escalation","level":1,"steps":["response-P0-1"]} -->',
        Escalation(("response-P0-1",), level=1),
    ),
    (
        '<!-- incident-app {"c":1010,"k":"escalation","level":1,"step":"manual-1010"} -->',
        Escalation(("manual-1010",), level=1, comment=1010),
    ),
    (
        '<!-- incident-app {"h":"5f1c0e7a9b2d","k":"config-error"} -->',
        ConfigProblem("5f1c0e7a9b2d"),
    ),
    (
        '<!-- incident-app {"a":"2019-05-15T15:20:18+00:00","k":"reminder","n":2} -->',
        Reminder("2019-05-15T15:20:18+00:00", 2),
    ),
    (
        '<!-- incident-app {"due":"2019-05-20T17:00:00+00:00","incident":1,"k":"pir-issue",'
        '"round":1} -->',
        PirIssue(1, 1, "2019-05-20T17:00:00+00:00"),
    ),
    ('<!-- incident-app {"issue":2,"k":"pir","pr":3,"round":1} -->', PirLink(1, 2, 3)),
    ('<!-- incident-app {"issue":2,"k":"pir","round":1} -->', PirLink(1, 2, None)),
    ('<!-- incident-app {"k":"pir-fallback"} -->', PirFallback()),
    ('<!-- incident-app {"day":"2019-05-21","k":"pir-reminder"} -->', PirReminder("2019-05-21")),
]


@pytest.mark.parametrize("text,expected", RECORDED_V0, ids=[r[0][19:50] for r in RECORDED_V0])
def test_markers_recorded_from_the_first_release_still_read(text: str, expected: Marker) -> None:
    assert markers.parse(f"A comment.\n\n{text}") == [expected]


@pytest.mark.parametrize(
    "text",
    [
        "<!-- incident-app {not json} -->",
        '<!-- incident-app ["brief"] -->',
        '<!-- incident-app {"k":"no-such-kind"} -->',
        '<!-- incident-app {"k":"brief"} -->',  # a brief without its severity
        '<!-- incident-app {"k":"reminder","a":"x","n":"many"} -->',
        '<!-- incident-app {"k":"escalation","level":1,"steps":"response-P0-1"} -->',
        '<!-- incident-app {"k":"brief","sev":"P0","v":99} -->',  # a future version
    ],
)
def test_what_no_release_wrote_is_no_evidence(text: str) -> None:
    assert markers.parse(text) == []
