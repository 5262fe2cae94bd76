"""Who is on call: rotations, layers, overrides, calendars and covers, decided purely."""

from app.core.oncall.record import EMPTY, CalendarFeed, Cover, OnCallRecord, Shift
from app.core.oncall.schedule import (
    Handoff,
    bound,
    cover_end,
    handoffs,
    holder_at,
    last_handoff,
    next_handoff,
    on_call,
)

__all__ = [
    "EMPTY",
    "CalendarFeed",
    "Cover",
    "Handoff",
    "OnCallRecord",
    "Shift",
    "bound",
    "cover_end",
    "handoffs",
    "holder_at",
    "last_handoff",
    "next_handoff",
    "on_call",
]
