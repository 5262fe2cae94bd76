"""Spans of time as text, in the styles the app's notes use."""

from __future__ import annotations

from datetime import timedelta
from enum import Enum


class DurationStyle(Enum):
    """How `duration` writes a span of time (whole minutes, rounded down)."""

    WORDS = "words"  # `5 minutes`, `26 hours`, `2 days`: the largest whole unit (escalations)
    UNITS = "units"  # `1 d 2 h 5 min`, never below `0 min` (resolution and recurrence notes)
    CLOCK = "clock"  # `5m`, `2h 05m`, `1d 0h 05m` (the PIR)
    HOURS = "hours"  # `5m`, `26h 05m`; `—` for none (the monthly review)


def duration(delta: timedelta | None, style: DurationStyle = DurationStyle.UNITS) -> str:
    """A span of time as text, in one of the styles above."""
    if delta is None:
        return "—"
    minutes = int(delta.total_seconds() // 60)
    if style is DurationStyle.UNITS:
        minutes = max(minutes, 0)
    total_hours, mins = divmod(minutes, 60)
    days, hours = divmod(total_hours, 24)
    match style:
        case DurationStyle.WORDS if total_hours and hours == 0:
            return _count(days, "day")
        case DurationStyle.WORDS:
            return _count(total_hours, "hour") if total_hours else _count(minutes, "minute")
        case DurationStyle.UNITS:
            parts = [f"{days} d"] if days else []
            parts += [f"{hours} h"] if hours else []
            parts += [f"{mins} min"] if mins or not parts else []
            return " ".join(parts)
        case DurationStyle.CLOCK if days or hours:
            return f"{days}d {hours}h {mins:02d}m" if days else f"{hours}h {mins:02d}m"
        case DurationStyle.HOURS if total_hours:
            return f"{total_hours}h {mins:02d}m"
    return f"{mins}m"


def _count(n: int, unit: str) -> str:
    return f"{n} {unit}{'s' if n != 1 else ''}"
