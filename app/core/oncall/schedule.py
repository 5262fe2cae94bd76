"""Who holds a seat at a moment: a pure function of the config, the fetched calendars and
the covers recorded on GitHub (docs/user-guide/oncall.md). No clock: every moment is given.

A rotation's turn order at a moment is `on_call`: the holder first, then the next in turn
(a seat's `offset` picks from it). What decides it, strongest first: a cover (`/oncall
cover`), a config override, a follow-the-sun layer whose hours these are, the base rotation;
for a calendar rotation, its shifts. Handoffs fall on the rotation timezone's wall clock, so
a weekly Monday 09:00 handoff stays at 09:00 across a DST change.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from app.core.oncall.record import EMPTY, Cover, OnCallRecord
from app.core.policy import Policy
from app.core.policy.rotations import Rotation, parse_every, parse_hours, parse_local

# How far ahead a handoff is looked for, in steps (a schedule with nothing in 60 days has none).
LOOKAHEAD_STEP = timedelta(days=2)
LOOKAHEAD = timedelta(days=60)
_TICK = timedelta(seconds=1)


@dataclass(frozen=True)
class Handoff:
    """The moment a rotation's turn passes from `outgoing` to `incoming` (None: nobody)."""

    rotation: str
    at: datetime
    outgoing: str | None
    incoming: str | None


def _zone(rotation: Rotation, policy: Policy) -> ZoneInfo:
    return ZoneInfo(rotation.timezone or policy.calendar.timezone)


def _placed(naive: datetime, zone: ZoneInfo) -> datetime:
    """A wall-clock time in `zone` (a time skipped by DST lands after the gap)."""
    return naive.replace(tzinfo=zone)


def _wall(at: datetime, zone: ZoneInfo) -> datetime:
    return at.astimezone(zone).replace(tzinfo=None)


def turn(rotation: Rotation, zone: ZoneInfo, at: datetime) -> int:
    """How many handoffs lie between `start` and `at` (negative before `start`)."""
    assert rotation.start is not None
    return (_wall(at, zone) - parse_local(rotation.start)) // parse_every(rotation.every)


def _in_order(members: list[str], k: int) -> list[str]:
    if not members:
        return []
    k %= len(members)
    return [*members[k:], *members[:k]]


def in_hours(hours: str, zone: ZoneInfo, at: datetime) -> bool:
    """Does `at` fall in the daily window `hours` (HH:MM-HH:MM) on `zone`'s clock?"""
    local = at.astimezone(zone).time()
    start, end = parse_hours(hours)
    return start <= local < end if start < end else local >= start or local < end


def _layer_order(rotation: Rotation, zone: ZoneInfo, at: datetime) -> list[str] | None:
    """The members of the follow-the-sun layer whose hours `at` falls in, in turn."""
    for layer in rotation.layers:
        if in_hours(layer.hours, ZoneInfo(layer.timezone) if layer.timezone else zone, at):
            return _in_order(list(layer.members), turn(rotation, zone, at))
    return None


def _first(login: str, order: list[str]) -> list[str]:
    """`login` holding the turn in place of the first; the rest of the order stays."""
    return [login, *(m for m in order[1:] if m.lower() != login.lower())]


def _base_order(rotation: Rotation, zone: ZoneInfo, at: datetime) -> list[str]:
    """Members in turn at `at`, layers and config overrides applied (no covers)."""
    if rotation.start is None:
        return []
    order = _layer_order(rotation, zone, at)
    if order is None:
        order = _in_order(list(rotation.members), turn(rotation, zone, at))
    for override in rotation.overrides:
        start = _placed(parse_local(override.start), zone)
        if start <= at < _placed(parse_local(override.until), zone):
            return _first(override.login, order)
    return order


def _calendar_order(rotation: Rotation, record: OnCallRecord, at: datetime) -> list[str]:
    """The calendar's shift at `at` first (the latest begun wins), then the next shifts'."""
    feed = record.calendars.get(rotation.calendar or "")
    if feed is None or feed.problem:
        return []
    now = sorted((s for s in feed.shifts if s.start <= at < s.end), key=lambda s: s.start)
    later = sorted((s for s in feed.shifts if s.start > at), key=lambda s: s.start)
    people = {k.lower(): v for k, v in rotation.people.items()}
    order: list[str] = []
    for shift in [*reversed(now), *later]:
        login = _person(people, shift.summary, shift.attendees)
        if login and login.lower() not in {o.lower() for o in order}:
            order.append(login)
    return order if now else []


def _person(people: dict[str, str], summary: str, attendees: tuple[str, ...]) -> str | None:
    """The login a shift names: an attendee's e-mail or name, or a name in its summary."""
    for who in attendees:
        if who.lower() in people:
            return people[who.lower()]
    text = summary.lower()
    return next((login for key, login in people.items() if key in text), None)


def cover_end(name: str, cover: Cover, policy: Policy, record: OnCallRecord) -> datetime:
    """When a cover ends: its `until`, else rotation `name`'s next handoff without covers."""
    if cover.until is not None:
        return cover.until
    found = _changes(name, policy, OnCallRecord(calendars=record.calendars), cover.start)
    return found.at if found else cover.start + LOOKAHEAD


def on_call(name: str, policy: Policy, record: OnCallRecord, at: datetime) -> list[str]:
    """Rotation `name`'s people at `at` in turn: who is on call first, then the next."""
    rotation = policy.rotations.get(name)
    if rotation is None:
        return []
    if rotation.calendar is not None:
        order = _calendar_order(rotation, record, at)
    else:
        order = _base_order(rotation, _zone(rotation, policy), at)
    for cover in sorted(record.covers, key=lambda c: c.start, reverse=True):
        if cover.rotation == name and cover.start <= at < cover_end(name, cover, policy, record):
            return _first(cover.login, order)
    return order


def holder_at(seat: str, policy: Policy, record: OnCallRecord, at: datetime) -> str | None:
    """The login holding roster seat `seat` at `at`: its login, or for a seat that follows a
    rotation who is on call (or the next in turn, by `offset`); None when nobody is."""
    held = policy.seats.get(seat)
    if held is None:
        return policy.roster.get(seat)
    order = on_call(held.rotation, policy, record, at)
    return order[held.offset] if held.offset < len(order) else None


def bound(policy: Policy, record: OnCallRecord, at: datetime) -> Policy:
    """The policy with every rotating seat mapped to whoever holds it at `at`, so its
    `holders`, `backups` and `resolve` answer for that moment."""
    if not policy.seats:
        return policy
    roster = dict(policy.roster)
    slack = dict(policy.slack)
    for seat, held in policy.seats.items():
        login = holder_at(seat, policy, record, at)
        roster[seat] = login
        if login and held.slack and login not in slack:
            slack[login] = held.slack
    return policy.model_copy(update={"roster": roster, "slack": slack})


def _candidates(
    rotation: Rotation, policy: Policy, record: OnCallRecord, after: datetime, until: datetime
) -> Iterator[datetime]:
    """Every moment in (after, until] at which the rotation's turn may change."""
    zone = _zone(rotation, policy)
    if rotation.start is not None:
        every, start = parse_every(rotation.every), parse_local(rotation.start)
        k = turn(rotation, zone, after)
        while (t := _placed(start + (k + 1) * every, zone)) <= until:
            yield t
            k += 1
        for layer in rotation.layers:
            yield from _layer_edges(layer.hours, ZoneInfo(layer.timezone or zone.key), after, until)
    for override in rotation.overrides:
        yield from (_placed(parse_local(x), zone) for x in (override.start, override.until))
    feed = record.calendars.get(rotation.calendar or "")
    for shift in feed.shifts if feed else ():
        yield from (shift.start, shift.end)
    for cover in record.covers:
        yield from (t for t in (cover.start, cover.until) if t is not None)


def _layer_edges(hours: str, zone: ZoneInfo, after: datetime, until: datetime) -> list[datetime]:
    start, end = parse_hours(hours)
    day, last = _wall(after, zone).date() - timedelta(days=1), _wall(until, zone).date()
    edges: list[datetime] = []
    while day <= last:
        edges.append(_placed(datetime.combine(day, start), zone))
        edge_day = day + timedelta(days=1) if end <= start else day
        edges.append(_placed(datetime.combine(edge_day, end), zone))
        day += timedelta(days=1)
    return edges


def _holder(name: str, policy: Policy, record: OnCallRecord, at: datetime) -> str | None:
    order = on_call(name, policy, record, at)
    return order[0] if order else None


def _changes(
    name: str, policy: Policy, record: OnCallRecord, after: datetime, until: datetime | None = None
) -> Handoff | None:
    """The first handoff of rotation `name` after `after` (at most LOOKAHEAD ahead)."""
    rotation = policy.rotations[name]
    before = _holder(name, policy, record, after)
    horizon = until or after + LOOKAHEAD
    low = after
    while low < horizon:
        high = min(low + LOOKAHEAD_STEP, horizon)
        for t in sorted({t for t in _candidates(rotation, policy, record, low, high) if t > low}):
            if t > high:
                continue
            now = _holder(name, policy, record, t)
            if (now or "").lower() != (before or "").lower():
                return Handoff(name, t, before, now)
        low = high
    return None


def handoffs(
    policy: Policy, start: datetime, end: datetime, record: OnCallRecord = EMPTY
) -> list[Handoff]:
    """Every rotation's handoffs in (start, end], in time order."""
    found: list[Handoff] = []
    for name in policy.rotations:
        after = start
        while (h := _changes(name, policy, record, after, end)) is not None:
            found.append(h)
            after = h.at
    return sorted(found, key=lambda h: (h.at, h.rotation))


def next_handoff(policy: Policy, at: datetime, record: OnCallRecord = EMPTY) -> datetime | None:
    """When the next turn passes in any rotation after `at`: the wake-up to schedule."""
    times = [h.at for name in policy.rotations if (h := _changes(name, policy, record, at))]
    return min(times) if times else None


def last_handoff(
    name: str, policy: Policy, at: datetime, within: timedelta, record: OnCallRecord = EMPTY
) -> Handoff | None:
    """Rotation `name`'s latest handoff in (at - within, at], if any."""
    found = None
    after = at - within
    while (h := _changes(name, policy, record, after, at)) is not None:
        found, after = h, h.at
    return found
