"""Durations in a config: `15m`, `2h`, `1d`, `1w`, `3bd`, `next business day`, as a `Span`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator

from app.core.business_calendar import BusinessCalendar
from app.core.policy.fields import _shown

MAX_SPAN = timedelta(days=365)
MAX_BUSINESS_DAYS = 260  # a working year

_SPAN_RE = re.compile(r"^\s*(\d+)\s*(m|min|h|d|w|bd)\s*$", re.IGNORECASE | re.ASCII)
_UNITS = {"m": "minutes", "min": "minutes", "h": "hours", "d": "days", "w": "weeks"}
# The most of each unit a span may have: a year of calendar time, a working year of business days.
_MOST = {
    "minutes": MAX_SPAN // timedelta(minutes=1),
    "hours": MAX_SPAN // timedelta(hours=1),
    "days": MAX_SPAN // timedelta(days=1),
    "weeks": MAX_SPAN // timedelta(weeks=1),
    "business_days": MAX_BUSINESS_DAYS,
}
_LONGEST = (
    f"at most {_MOST['minutes']}m, {_MOST['hours']}h, {_MOST['days']}d, {_MOST['weeks']}w "
    f"or {MAX_BUSINESS_DAYS}bd"
)


@dataclass(frozen=True)
class Span:
    """A duration: calendar time, or whole business days (`bd`, ending at close of business)."""

    amount: int
    unit: str  # minutes | hours | days | weeks | business_days

    def after(self, moment: datetime, calendar: BusinessCalendar) -> datetime:
        """When this span, started at `moment`, ends."""
        if self.unit == "business_days":
            return calendar.business_days_after(moment, self.amount)
        return moment + timedelta(**{self.unit: self.amount})

    def __str__(self) -> str:
        if self.unit == "business_days":
            return "next business day" if self.amount == 1 else f"{self.amount} business days"
        unit = self.unit if self.amount != 1 else self.unit[:-1]
        return f"{self.amount} {unit}"


def _parse_span(value: Any) -> Any:
    if isinstance(value, Span) or value is None:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        amount, unit = value, "minutes"
    elif isinstance(value, str):
        text = value.strip().lower().replace(" ", "_")
        match = _SPAN_RE.match(value)
        if text in {"next_business_day", "1_business_day"}:
            amount, unit = 1, "business_days"
        elif match:
            # Many digits are surely too long; int() of thousands of them is refused anyway.
            digits = match[1]
            amount = int(digits) if len(digits) <= 9 else 10**9
            unit = "business_days" if match[2].lower() == "bd" else _UNITS[match[2].lower()]
        else:
            raise ValueError(
                f"{_shown(value)} is not a duration: use 15m, 2h, 1d, 1w, 3bd or next business day"
            )
    else:
        raise ValueError("a duration is text such as 15m, 2h, 1d, 1w or 1bd")
    if amount < 0:
        raise ValueError("a duration cannot be negative")
    if amount > _MOST[unit]:
        raise ValueError(f"{_shown(value)} is longer than a year: {_LONGEST}")
    return Span(amount, unit)


def _positive(span: Span) -> Span:
    if span.amount <= 0:
        raise ValueError("must be more than 0, e.g. 15m")
    return span


# A duration of zero or more; `PositiveDuration` for deadlines and cadences, which repeat.
Duration = Annotated[Span, BeforeValidator(_parse_span)]
PositiveDuration = Annotated[Span, BeforeValidator(_parse_span), AfterValidator(_positive)]
