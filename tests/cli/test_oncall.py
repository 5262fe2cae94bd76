"""`incident-app oncall` and check-config's rotations: the schedule, the feed, the warnings."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.cli import main
from app.notify.calendars import shifts

FOLLOW_THE_SUN = """\
calendar: {timezone: Europe/Berlin}
rotations:
  primary:
    members: [ada, ken]
    start: "2026-01-05 09:00"
    every: 1w
    layers:
      - {hours: "08:00-16:00", members: [kenji], timezone: Asia/Tokyo}
roster:
  release_manager.rohan-patel: {rotation: primary}
"""
GAPPY = """\
calendar: {timezone: Europe/Berlin}
rotations:
  primary:
    members: []
    start: "2026-01-05 09:00"
    layers:
      - {hours: "08:00-16:00", members: [kenji], timezone: Asia/Tokyo}
      - {hours: "15:00-20:00", members: [mei], timezone: Asia/Tokyo}
    overrides:
      - {login: bob, from: "2026-12-24 00:00", until: "2026-12-27 00:00"}
  spare: {members: [sam], start: "2026-01-05 09:00"}
roster:
  release_manager.rohan-patel: {rotation: primary}
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "incident.yml"
    path.write_text(FOLLOW_THE_SUN)
    return path


def test_oncall_prints_the_turns_of_the_next_two_weeks(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["oncall", "--config", str(config), "--at", "2026-12-02T00:00Z"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:3] == [
        "Wed 2026-12-02 01:00 Europe/Berlin  primary  kenji",
        "Wed 2026-12-02 08:00 Europe/Berlin  primary  ken",
        "Thu 2026-12-03 00:00 Europe/Berlin  primary  kenji",
    ]
    assert "Mon 2026-12-07 09:00 Europe/Berlin  primary  ada" in lines


def test_oncall_ics_is_a_feed_a_calendar_reads_back(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["oncall", "--config", str(config), "--at", "2026-12-02T00:00Z", "--ics"]) == 0
    feed = capsys.readouterr().out
    assert feed.startswith("BEGIN:VCALENDAR")
    read = shifts(
        feed.encode(), datetime(2026, 12, 7, 7, tzinfo=UTC), datetime(2026, 12, 7, 9, tzinfo=UTC)
    )
    assert [(s.summary, s.start.hour, s.end.hour) for s in read] == [
        ("On call (primary): ken", 7, 8),  # kenji's Tokyo hours end at 07:00 UTC
        ("On call (primary): ada", 8, 23),  # from 09:00 Berlin until 08:00 in Tokyo
    ]


def test_oncall_says_what_is_wrong(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["oncall", "--config", str(config), "--at", "tea time"]) == 2
    assert "--at 'tea time': use an ISO time" in capsys.readouterr().err


def test_check_config_warns_of_gaps_overlaps_and_strangers_and_shows_two_weeks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "incident.yml"
    path.write_text(GAPPY)
    assert main(["check-config", str(path)]) == 0
    out = capsys.readouterr().out
    assert "warning: rotations.primary.overrides.0: `bob` is not a member of the rotation" in out
    assert "warning: rotations.primary: nobody is on call from " in out
    assert "warning: rotations.primary.layers: 0 and 1 overlap" in out
    assert "warning: rotations.spare: no roster seat follows it" in out
    assert "On call, the next two weeks:" in out
    assert "primary  (nobody: backups)" in out and "spare  sam" in out


def test_the_feed_s_events_keep_their_uid_as_its_window_slides(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "incident.yml"
    path.write_text(
        FOLLOW_THE_SUN.replace(
            '    layers:\n      - {hours: "08:00-16:00", members: [kenji], timezone: Asia/Tokyo}\n',
            "",
        )
    )

    def uids(at: str) -> list[str]:
        assert main(["oncall", "--config", str(path), "--at", at, "--ics"]) == 0
        return [line for line in capsys.readouterr().out.splitlines() if line.startswith("UID:")]

    wednesday, thursday = uids("2026-12-02T12:00Z"), uids("2026-12-03T12:00Z")
    # A week back from either is inside the turn that began on Monday 2026-11-23, 09:00 Berlin.
    assert wednesday[0] == thursday[0] == "UID:primary-20261123T080000Z@incident-app"
