"""Who holds a seat at a moment: rotations across DST, follow-the-sun layers, overrides,
offsets, covers, calendars, and an empty rotation falling to the seat's backup."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.core.oncall import (
    EMPTY,
    CalendarFeed,
    Cover,
    OnCallRecord,
    Shift,
    bound,
    handoffs,
    holder_at,
    last_handoff,
    next_handoff,
    on_call,
)
from app.core.policy import ConfigError
from tests.factories import policy

BERLIN_WEEKLY = """\
calendar: {timezone: Europe/Berlin}
rotations:
  primary:
    members: [ada, ken, ana]
    start: "2026-01-05 09:00"
    every: 1w
roster:
  release_manager.rohan-patel: {rotation: primary}
  architect.morgan-lee: {rotation: primary, offset: 1, slack: U0123ABCD}
  team_lead.casey-brooks: casey
"""
FOLLOW_THE_SUN = """\
calendar: {timezone: Europe/Berlin}
rotations:
  primary:
    members: [ada, ken]
    start: "2026-01-05 09:00"
    every: 1w
    layers:
      - {hours: "08:00-16:00", members: [kenji, mei], timezone: Asia/Tokyo}
      - {hours: "08:00-16:00", members: [sam], timezone: America/Los_Angeles}
roster:
  release_manager.rohan-patel: {rotation: primary}
"""


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def ic(text: str, at: datetime, record: OnCallRecord = EMPTY) -> str | None:
    return holder_at("release_manager.rohan-patel", policy(text), record, at)


def test_a_weekly_rotation_hands_over_at_local_wall_clock_time_across_dst() -> None:
    # Berlin leaves CET (UTC+1) for CEST (UTC+2) on Sunday 2026-03-29; the Monday 09:00
    # handoff of 2026-03-30 is 07:00 UTC, the one before (2026-03-23) 08:00 UTC.
    assert ic(BERLIN_WEEKLY, utc(2026, 3, 23, 7, 59)) == "ken"  # turn 10: 10 % 3 = 1
    assert ic(BERLIN_WEEKLY, utc(2026, 3, 23, 8, 0)) == "ana"
    assert ic(BERLIN_WEEKLY, utc(2026, 3, 30, 6, 59)) == "ana"
    assert ic(BERLIN_WEEKLY, utc(2026, 3, 30, 7, 0)) == "ada"  # 09:00 CEST, not 168h later
    assert next_handoff(policy(BERLIN_WEEKLY), utc(2026, 3, 24)) == utc(2026, 3, 30, 7, 0)
    assert next_handoff(policy(BERLIN_WEEKLY), utc(2026, 10, 20)) == utc(2026, 10, 26, 8, 0)


def test_offset_names_the_next_in_turn_and_the_seat_s_slack_id_follows_the_holder() -> None:
    p = policy(BERLIN_WEEKLY)
    at = utc(2026, 3, 30, 12)
    assert holder_at("architect.morgan-lee", p, OnCallRecord(), at) == "ken"
    now = bound(p, OnCallRecord(), at)
    assert now.holders("incident_commander") == ["@ada"]
    assert now.holders("technical_lead") == ["@ken"]
    assert now.slack["ken"] == "U0123ABCD"
    assert p.holders("incident_commander") == []  # unbound: nobody at no moment


def test_follow_the_sun_a_p1_at_two_in_berlin_goes_to_the_tokyo_layer() -> None:
    # 02:00 Berlin in December is 10:00 in Tokyo: inside the Tokyo layer's 08:00-16:00.
    assert ic(FOLLOW_THE_SUN, utc(2026, 12, 2, 1, 0)) == "mei"  # turn 47 of the layer
    assert ic(FOLLOW_THE_SUN, utc(2026, 12, 2, 11, 0)) == "ken"  # 12:00 Berlin: the base
    assert ic(FOLLOW_THE_SUN, utc(2026, 12, 2, 17, 0)) == "sam"  # 09:00 in Los Angeles
    day = handoffs(policy(FOLLOW_THE_SUN), utc(2026, 12, 2), utc(2026, 12, 3))
    # Three handoffs a day: Tokyo's 16:00, Los Angeles's 08:00, Tokyo's 08:00 (the next day).
    assert [(h.at, h.outgoing, h.incoming) for h in day] == [
        (utc(2026, 12, 2, 7), "mei", "ken"),
        (utc(2026, 12, 2, 16), "ken", "sam"),
        (utc(2026, 12, 2, 23), "sam", "mei"),
    ]


def test_an_override_holds_the_turn_and_hands_it_back() -> None:
    text = BERLIN_WEEKLY.replace(
        "    every: 1w\n",
        "    every: 1w\n    overrides:\n"
        '      - {login: ken, from: "2026-12-24 00:00", until: "2026-12-27 00:00"}\n',
    )
    assert ic(text, utc(2026, 12, 23, 22, 59)) == "ana"
    assert ic(text, utc(2026, 12, 23, 23, 0)) == "ken"  # midnight in Berlin
    assert ic(text, utc(2026, 12, 26, 23, 0)) == "ana"
    p = policy(text)
    # ken holds ana's turn; the next in turn stays who it was (ada), ana is off.
    assert holder_at("architect.morgan-lee", p, OnCallRecord(), utc(2026, 12, 25)) == "ada"


def test_a_cover_holds_the_turn_until_the_next_handoff() -> None:
    cover = Cover("primary", "casey", start=utc(2026, 3, 25, 10))
    record = OnCallRecord(covers=(cover,))
    assert ic(BERLIN_WEEKLY, utc(2026, 3, 25, 9), record) == "ana"
    assert ic(BERLIN_WEEKLY, utc(2026, 3, 25, 10), record) == "casey"
    assert ic(BERLIN_WEEKLY, utc(2026, 3, 30, 7), record) == "ada"
    until = Cover("primary", "casey", start=utc(2026, 3, 25, 10), until=utc(2026, 3, 25, 12))
    assert ic(BERLIN_WEEKLY, utc(2026, 3, 25, 12), OnCallRecord(covers=(until,))) == "ana"
    last = last_handoff(
        "primary", policy(BERLIN_WEEKLY), utc(2026, 3, 25, 11), timedelta(1), record
    )
    assert last is not None and (last.outgoing, last.incoming) == ("ana", "casey")


def test_overlapping_covers_the_latest_holds_then_the_earlier_again_while_it_runs() -> None:
    long = Cover("primary", "casey", start=utc(2026, 3, 25, 10), until=utc(2026, 3, 25, 18))
    short = Cover("primary", "ken", start=utc(2026, 3, 25, 12), until=utc(2026, 3, 25, 14))
    record = OnCallRecord(covers=(short, long))  # the record's order does not matter
    assert ic(BERLIN_WEEKLY, utc(2026, 3, 25, 11), record) == "casey"
    assert ic(BERLIN_WEEKLY, utc(2026, 3, 25, 13), record) == "ken"
    assert ic(BERLIN_WEEKLY, utc(2026, 3, 25, 15), record) == "casey"
    assert ic(BERLIN_WEEKLY, utc(2026, 3, 25, 18), record) == "ana"
    times = [
        h.at.hour
        for h in handoffs(policy(BERLIN_WEEKLY), utc(2026, 3, 25, 9), utc(2026, 3, 25, 19), record)
    ]
    assert times == [10, 12, 14, 18]


def test_an_empty_rotation_falls_back_to_the_seat_s_backup() -> None:
    text = BERLIN_WEEKLY.replace("[ada, ken, ana]", "[]")
    now = bound(policy(text), OnCallRecord(), utc(2026, 3, 25))
    assert now.holders("incident_commander") == []
    assert now.backups("incident_commander") == ["@casey"]
    assert next_handoff(policy(text), utc(2026, 3, 25)) is None


SHIFTS = CalendarFeed(
    "vendor",
    shifts=(
        Shift(utc(2026, 3, 23, 8), utc(2026, 3, 30, 7), "On call: Ada Lovelace", ()),
        Shift(utc(2026, 3, 30, 7), utc(2026, 4, 6, 7), "Primary", ("mailto:ken@example.com",)),
    ),
)
VENDOR = """\
rotations:
  vendor:
    calendar: vendor
    people: {ada lovelace: ada, "mailto:ken@example.com": ken}
roster:
  release_manager.rohan-patel: {rotation: vendor}
  team_lead.casey-brooks: casey
"""


def test_a_calendar_s_shifts_name_who_is_on_call_and_an_unreadable_one_nobody() -> None:
    record = OnCallRecord(calendars={"vendor": SHIFTS})
    assert ic(VENDOR, utc(2026, 3, 25), record) == "ada"
    assert on_call("vendor", policy(VENDOR), record, utc(2026, 3, 25)) == ["ada", "ken"]
    assert ic(VENDOR, utc(2026, 3, 30, 7), record) == "ken"
    assert ic(VENDOR, utc(2026, 4, 7), record) is None
    broken = OnCallRecord(calendars={"vendor": CalendarFeed("vendor", problem="HTTP 503")})
    assert ic(VENDOR, utc(2026, 3, 25), broken) is None
    assert broken.problems() == ["calendar `vendor`: HTTP 503"]
    assert bound(policy(VENDOR), broken, utc(2026, 3, 25)).backups("incident_commander") == [
        "@casey"
    ]


@pytest.mark.parametrize(
    ("seat", "message"),
    [
        ("{rotation: primary, login: ada}", "a seat has a `login` or a `rotation`, not both"),
        ("{rotation: secondary}", "no rotation named 'secondary'"),
    ],
)
def test_a_seat_names_a_login_or_a_known_rotation(seat: str, message: str) -> None:
    text = BERLIN_WEEKLY.replace("{rotation: primary}\n", seat + "\n", 1)
    with pytest.raises(ConfigError) as raised:
        policy(text)
    assert message in str(raised.value)
    assert "release_manager.rohan-patel" in str(raised.value)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("    every: 0d\n", "use a number of hours, days or weeks"),
        ("    every: 1w\n    timezone: Mars/Olympus\n", "unknown timezone 'Mars/Olympus'"),
        ("    every: 1w\n    calendar: vendor\n", "`calendar` takes no `members`"),
    ],
)
def test_a_bad_rotation_is_refused_naming_the_key(line: str, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        policy(BERLIN_WEEKLY.replace("    every: 1w\n", line))
    assert message in str(raised.value)
    assert "rotations" in str(raised.value)
