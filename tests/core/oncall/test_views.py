"""The schedule's views: check-config's warnings over the coming year, offline."""

from __future__ import annotations

from datetime import UTC, datetime

from app.core.oncall.views import warnings
from tests.factories import policy

# The user guide's follow-the-sun team: Tokyo's and Los Angeles' 08:00-16:00 tile the day in
# summer, but from 1 November (Los Angeles back on standard time, Tokyo never moving) until
# 8 March their hours overlap by one hour, 23:00-24:00 UTC.
SUNNY = """\
calendar: {timezone: Europe/Berlin}
rotations:
  primary:
    members: [ada, ken]
    start: "2026-01-05 09:00"
    layers:
      - {hours: "08:00-16:00", members: [kenji, mei], timezone: Asia/Tokyo}
      - {hours: "08:00-16:00", members: [sam], timezone: America/Los_Angeles}
roster:
  release_manager.rohan-patel: {rotation: primary}
"""
JULY = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)


def test_layers_that_overlap_only_in_winter_are_warned_of_in_summer() -> None:
    assert warnings(policy(SUNNY), JULY) == [
        "rotations.primary.layers: 0 and 1 overlap (e.g. at Mon 2026-11-02 00:00 "
        "Europe/Berlin); the first listed wins"
    ]


def test_layers_that_tile_the_day_all_year_are_not_warned_of() -> None:
    tiled = SUNNY.replace('"08:00-16:00", members: [sam]', '"08:00-15:00", members: [sam]')
    assert warnings(policy(tiled), JULY) == []


def test_a_member_listed_twice_is_warned_of() -> None:
    twice = SUNNY.replace("members: [ada, ken]", "members: [ada, ken, Ada]").replace(
        '"08:00-16:00", members: [sam]', '"08:00-15:00", members: [sam]'
    )
    assert warnings(policy(twice), JULY) == [
        "rotations.primary.members: `Ada` is listed more than once (one turn each time)"
    ]


def test_layers_that_tile_the_day_in_winter_only_leave_a_gap_in_summer() -> None:
    # Tokyo's 08:00-20:00 and Berlin's 12:00-24:00 meet at 11:00 and 23:00 UTC in winter;
    # from Berlin's summer time on, Berlin's hours end at 22:00 UTC, an hour before Tokyo's.
    tiled = """\
calendar: {timezone: Europe/Berlin}
rotations:
  primary:
    start: "2026-01-05 09:00"
    layers:
      - {hours: "08:00-20:00", members: [kenji], timezone: Asia/Tokyo}
      - {hours: "12:00-24:00", members: [ada]}
roster:
  release_manager.rohan-patel: {rotation: primary}
"""
    assert warnings(policy(tiled), datetime(2026, 1, 15, tzinfo=UTC)) == [
        "rotations.primary: nobody is on call from Mon 2026-03-30 00:00 Europe/Berlin "
        "to Mon 2026-03-30 01:00 Europe/Berlin",
        "rotations.primary.layers: 0 and 1 overlap (e.g. at Sun 2026-03-29 12:00 "
        "Europe/Berlin); the first listed wins",
    ]
