"""The runbook's status update template (app/core/commands.py reads it): its fields, and the
time its `Next Update:` promises."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

_FIELD_RE = re.compile(
    r"^\s*[*_]*(severity|status|impact|eta|next[ _-]?update|actions)[*_]*\s*:[*_]*\s*(.*)$", re.I
)


@dataclass(frozen=True)
class UpdateFields:
    """The runbook's status update template, field by field (each may be missing)."""

    impact: str = ""
    eta: str = ""
    next_update: str = ""
    actions: str = ""


def template_fields(text: str) -> dict[str, str]:
    """The template's fields by lower-case name (`next update`), in any order and case;
    lines after a field that name no field continue it."""
    fields: dict[str, str] = {}
    current: str | None = None
    for line in text.splitlines():
        match = _FIELD_RE.match(line)
        if match:
            current = re.sub(r"[ _-]", " ", match[1].lower())
            fields.setdefault(current, _clean(match[2]))
        elif current is not None and line.strip() and "INCIDENT UPDATE" not in line.upper():
            fields[current] = (fields[current] + " " + _clean(line)).strip()
        elif not line.strip():
            current = None
    return fields


def _clean(value: str) -> str:
    return value.strip().strip("*_").strip()


_CLOCK_RE = re.compile(r"^(\d{1,2}):(\d{2})\s*(utc|gmt|z)?$", re.I)
_SPAN_RE = re.compile(r"^(?:in\s+)?(\d{1,4})\s*(m|min|mins|minutes?|h|hrs?|hours?)$", re.I)
_STAMP_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})[ t](\d{1,2}:\d{2})\s*(utc|gmt|z)?$", re.I)


def promised_time(text: str, posted_at: datetime, zone: tzinfo) -> datetime | None:
    """When a template's `Next Update:` promises the next one, or None if it says no time.

    `16:10 UTC`, `16:10` (the team's calendar timezone; the next such time after posting),
    `2026-11-26 16:10 UTC`, `in 45 minutes`, `30m`, `2h`.
    """
    words = " ".join(text.replace("[", " ").replace("]", " ").split()).rstrip(".").strip()
    if match := _SPAN_RE.match(words):
        amount, unit = int(match[1]), match[2].lower()
        return posted_at + (
            timedelta(hours=amount) if unit[0] == "h" else timedelta(minutes=amount)
        )
    if match := _CLOCK_RE.match(words):
        hour, minute = int(match[1]), int(match[2])
        if hour > 23 or minute > 59:
            return None
        where = UTC if match[3] else zone
        local = posted_at.astimezone(where)
        moment = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
        return moment if moment > local else moment + timedelta(days=1)
    if match := _STAMP_RE.match(words):
        try:
            day = date.fromisoformat(match[1])
            clock = time.fromisoformat(match[2].zfill(5))
        except ValueError:
            return None
        return datetime.combine(day, clock, tzinfo=UTC if match[3] else zone)
    return None
