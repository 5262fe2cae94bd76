"""Business days and hours: when "next business day" and "3 business days" fall."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

import holidays as holidays_lib

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class BusinessCalendar:
    """A timezone, working days and hours, and public plus extra holidays."""

    timezone: str = "UTC"
    working_days: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri")
    day_start: time = time(9, 0)
    day_end: time = time(17, 0)
    holidays_country: str | None = None
    holidays_subdivision: str | None = None
    extra_holidays: tuple[date, ...] = field(default_factory=tuple)

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @cached_property
    def _public(self) -> holidays_lib.HolidayBase | None:
        if not self.holidays_country:
            return None
        return holidays_lib.country_holidays(
            self.holidays_country, subdiv=self.holidays_subdivision
        )

    def is_business_day(self, day: date) -> bool:
        """True when `day` is a working day that is no holiday."""
        if WEEKDAYS[day.weekday()] not in self.working_days:
            return False
        if day in self.extra_holidays:
            return False
        return not (self._public is not None and day in self._public)

    def holiday_name(self, day: date) -> str | None:
        """The public holiday's name on `day`, if any."""
        if self._public is None:
            return None
        name = self._public.get(day)
        return str(name) if name else None

    def first_business_day(self, day: date) -> date:
        """`day`, or the next business day after it."""
        for _ in range(366 * 2):
            if self.is_business_day(day):
                return day
            day += timedelta(days=1)
        return day

    def business_days_after(self, moment: datetime, count: int) -> datetime:
        """The end of working hours on the `count`-th business day after `moment`'s local date."""
        local = moment.astimezone(self.zone)
        day = local.date()
        remaining = max(count, 0)
        if remaining == 0 and local.time() >= self.day_end:
            day += timedelta(days=1)  # "within 0 business days" of an evening: tomorrow's close
        # Enough days for `count` weeks with one working day each, and two years of holidays;
        # the policy bounds `count` (260) and asks for at least one working day.
        for _ in range(remaining * 7 + 366 * 2):
            if remaining == 0 and self.is_business_day(day):
                break
            day += timedelta(days=1)
            if self.is_business_day(day):
                remaining -= 1
                if remaining == 0:
                    break
        return datetime.combine(day, self.day_end, tzinfo=self.zone)

    def business_days_between(self, start: datetime, end: datetime) -> int:
        """How many business days begin after `start` and on or before `end` (local dates)."""
        first, last = start.astimezone(self.zone).date(), end.astimezone(self.zone).date()
        return sum(1 for d in _days(first + timedelta(days=1), last) if self.is_business_day(d))


def _days(first: date, last: date) -> Iterable[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)
