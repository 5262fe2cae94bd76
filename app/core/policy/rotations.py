"""On-call rotations in the config: members in turn, follow-the-sun layers, overrides, or a
calendar the operator names; and the roster seat that follows one (docs/user-guide/oncall.md).

Only the shapes and their checks live here; who holds a seat at a moment is
`app.core.oncall.schedule`'s.
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, Field, field_validator, model_validator

from app.core.policy.fields import _login, _shown
from app.core.policy.sections import NOTIFIER_NAME, SLACK_ID, _Model

MAX_ROTATIONS = 20
MAX_MEMBERS = 50
LOCAL_FORMAT = "%Y-%m-%d %H:%M"
_EVERY_RE = re.compile(r"^\s*(\d+)\s*(h|d|w)\s*$", re.ASCII)
_EVERY_UNITS = {"h": "hours", "d": "days", "w": "weeks"}
_HOURS_RE = re.compile(r"^(\d\d):(\d\d)-(\d\d):(\d\d)$", re.ASCII)
MAX_EVERY = timedelta(weeks=52)

Login = Annotated[str, AfterValidator(_login)]


def parse_every(value: str) -> timedelta:
    """`1d`, `1w`, `2w`, `12h`: the time between handoffs, counted on the wall clock."""
    found = _EVERY_RE.match(str(value))
    if not found or int(found.group(1)) == 0:
        raise ValueError(f"{_shown(value)}: use a number of hours, days or weeks, e.g. 1d, 1w, 2w")
    span = timedelta(**{_EVERY_UNITS[found.group(2)]: int(found.group(1))})
    if span > MAX_EVERY:
        raise ValueError(f"{_shown(value)}: at most 52w")
    return span


def parse_local(value: str) -> datetime:
    """`2026-01-05 09:00`, a wall-clock time (naive; the rotation's timezone places it)."""
    try:
        return datetime.strptime(str(value).strip(), LOCAL_FORMAT)
    except ValueError:
        raise ValueError(f"{_shown(value)}: use YYYY-MM-DD HH:MM") from None


def parse_hours(value: str) -> tuple[time, time]:
    """`08:00-16:00` (or `22:00-06:00`, across midnight): a layer's daily window."""
    found = _HOURS_RE.match(str(value).strip())
    if not found:
        raise ValueError(f"{_shown(value)}: use HH:MM-HH:MM")
    h1, m1, h2, m2 = (int(g) for g in found.groups())
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
        raise ValueError(f"{_shown(value)}: no such time of day")
    start, end = time(h1, m1), time(0, 0) if h2 == 24 else time(h2, m2)
    if start == end:
        raise ValueError(f"{_shown(value)}: the window is empty")
    return start, end


def _timezone(value: str | None) -> str | None:
    if value is None:
        return value
    try:
        ZoneInfo(value)
    except Exception:
        raise ValueError(f"unknown timezone {_shown(value)}") from None
    return value


def _local(value: str) -> str:
    parse_local(value)
    return value


Timezone = Annotated[str | None, AfterValidator(_timezone)]
Local = Annotated[str, AfterValidator(_local)]


class Layer(_Model):
    """Hours of the day that go to other members (follow-the-sun)."""

    hours: str = Field(
        description="HH:MM-HH:MM in the layer's timezone; these hours override the base "
        "rotation. `22:00-06:00` runs across midnight."
    )
    members: list[Login] = Field(
        min_length=1,
        max_length=MAX_MEMBERS,
        description="Logins taking the layer's hours, in turn with the rotation's handoffs.",
    )
    timezone: Timezone = Field(default=None, description="IANA timezone (default: the rotation's).")

    @field_validator("hours")
    @classmethod
    def _valid_hours(cls, value: str) -> str:
        parse_hours(value)
        return value


class Override(_Model):
    """Someone holding the rotation's turn for a while (a swap, a holiday)."""

    model_config = _Model.model_config | {"populate_by_name": True}

    login: Login = Field(description="Who holds the turn meanwhile.")
    start: Local = Field(alias="from", description="From (YYYY-MM-DD HH:MM, rotation's timezone).")
    until: Local = Field(description="Until (YYYY-MM-DD HH:MM, rotation's timezone), exclusive.")

    @model_validator(mode="after")
    def _ordered(self) -> Override:
        if parse_local(self.until) <= parse_local(self.start):
            raise ValueError("`until` must come after `from`")
        return self


class Rotation(_Model):
    """Who is on call, in turn: members handing over every `every` from `start`; or the
    shifts of a calendar the operator's NOTIFIERS_FILE names."""

    members: list[Login] = Field(
        default_factory=list,
        max_length=MAX_MEMBERS,
        description="Logins in turn; the first holds the turn that begins at `start`.",
    )
    start: Local | None = Field(
        default=None, description="The first handoff, YYYY-MM-DD HH:MM in `timezone`."
    )
    every: str = Field(
        default="1w",
        description="Time between handoffs on the wall clock: 12h, 1d, 1w, 2w (at most 52w).",
    )
    timezone: Timezone = Field(
        default=None, description="IANA timezone (default: the business calendar's)."
    )
    layers: list[Layer] = Field(
        default_factory=list, max_length=6, description="Follow-the-sun hours (at most 6)."
    )
    overrides: list[Override] = Field(
        default_factory=list, max_length=100, description="Turns held by someone else."
    )
    calendar: Annotated[str, Field(pattern=NOTIFIER_NAME)] | None = Field(
        default=None,
        description="A calendar by its name in the operator's NOTIFIERS_FILE (`calendars:`); "
        "its events are the shifts. Not with `members`.",
    )
    people: dict[str, Login] = Field(
        default_factory=dict,
        max_length=MAX_MEMBERS,
        description="For a calendar: an attendee's e-mail or a name in the event's summary → "
        "GitHub login.",
    )

    @field_validator("every")
    @classmethod
    def _valid_every(cls, value: str) -> str:
        parse_every(value)
        return value

    @model_validator(mode="after")
    def _one_source(self) -> Rotation:
        if self.calendar is not None:
            if self.members or self.layers or self.start:
                raise ValueError("`calendar` takes no `members`, `start` or `layers`")
            return self
        if self.people:
            raise ValueError("`people` maps a calendar's attendees: it needs `calendar`")
        if (self.members or self.layers) and self.start is None:
            raise ValueError("`start` missing: the first handoff, YYYY-MM-DD HH:MM")
        return self

    def logins(self) -> list[str]:
        """Everyone who may take a turn (lower case): the seat grants command authority."""
        found = [*self.members, *(m for la in self.layers for m in la.members)]
        found += [o.login for o in self.overrides] + list(self.people.values())
        return list(dict.fromkeys(x.lower() for x in found))


class RotationSeat(_Model):
    """A roster seat that follows a rotation: `{rotation: primary, offset: 1, slack: U…}`."""

    rotation: str = Field(description="The rotation's name under `rotations:`.")
    offset: int = Field(
        default=0, ge=0, le=MAX_MEMBERS, description="0: who is on call; 1: the next in turn; …"
    )
    slack: Annotated[str, Field(pattern=SLACK_ID)] | None = Field(
        default=None,
        description="A Slack user ID for whoever holds the seat (the rotation's members' "
        "own IDs in `slack:` win).",
    )

    @model_validator(mode="before")
    @classmethod
    def _not_both(cls, data: object) -> object:
        if isinstance(data, dict) and "login" in data:
            raise ValueError("a seat has a `login` or a `rotation`, not both")
        return data
