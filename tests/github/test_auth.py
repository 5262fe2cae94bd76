"""GitHub's time: the local clock corrected by what GitHub's `Date` header says."""

from __future__ import annotations

import email.utils
from datetime import UTC, datetime, timedelta

from app.github.auth import Credentials, TokenCache

RECEIVED = datetime(2026, 11, 24, 15, 0, 0, 300_000, tzinfo=UTC)


def date(moment: datetime) -> str:
    return email.utils.format_datetime(moment, usegmt=True)


def test_a_date_minutes_ahead_moves_githubs_time_and_the_jwt_with_it() -> None:
    credentials = Credentials(1, TokenCache())
    credentials.observe(date(RECEIVED + timedelta(minutes=3)), RECEIVED)
    assert timedelta(minutes=3) - timedelta(seconds=1) < credentials.skew
    assert credentials.skew < timedelta(minutes=3) + timedelta(seconds=1)
    ahead = credentials.now() - datetime.now(UTC)
    assert abs(ahead - credentials.skew) < timedelta(seconds=1)


def test_the_truncated_second_of_a_date_is_no_skew() -> None:
    credentials = Credentials(1, TokenCache())
    credentials.observe(date(RECEIVED.replace(microsecond=0)), RECEIVED)
    assert credentials.skew == timedelta(0)


def test_an_unreadable_or_missing_date_changes_nothing() -> None:
    credentials = Credentials(1, TokenCache())
    for value in (None, "", "yesterday", "Tue, 24 Nov 2026 15:00:00"):
        credentials.observe(value, RECEIVED)
    assert credentials.skew == timedelta(0)
