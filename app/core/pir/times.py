"""How the review writes moments and spans: UTC minutes, and the clock style."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial

from app.core import messages

hm = partial(messages.duration, style=messages.DurationStyle.CLOCK)


def utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
