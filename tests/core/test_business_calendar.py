"""Business days (app/core/business_calendar.py) as the config states them: weekends, holidays, working hours."""

from __future__ import annotations

from datetime import UTC, date, datetime

from app.github.config import check_text


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


def test_working_hours_are_read_as_written() -> None:
    policy = check_text("calendar:\n  working_hours: ' 8:30 - 16:45 '\n", source="x")
    cal = policy.business_calendar
    assert (cal.day_start.isoformat(), cal.day_end.isoformat()) == ("08:30:00", "16:45:00")


def test_the_longest_business_span_on_one_working_day_a_week_is_still_counted() -> None:
    policy = check_text("calendar:\n  working_days: [sun]\n", source="x")
    cal = policy.business_calendar
    saturday = datetime(2026, 1, 3, 12, 0, tzinfo=UTC)
    due = cal.business_days_after(saturday, 260)
    assert due == datetime(2030, 12, 22, 17, 0, tzinfo=UTC)  # the 260th Sunday
    assert cal.business_days_between(saturday, due) == 260
