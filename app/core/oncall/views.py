"""Views of the schedule: its shifts over a period, as text or as an iCalendar feed people
subscribe to, and the offline checks `check-config` prints (gaps, overlapping layers,
overrides for people outside the rotation)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import combinations, pairwise
from zoneinfo import ZoneInfo

from app.core.messages.oncall import local
from app.core.oncall.record import EMPTY, OnCallRecord
from app.core.oncall.schedule import LOOKAHEAD, handoffs, last_handoff, on_call
from app.core.policy import Policy
from app.core.policy.rotations import Layer, parse_hours

AGENDA_DAYS = 14
MAX_GAPS = 3
OVERLAP_DAYS = 366  # how far ahead check-config looks for layers that overlap


@dataclass(frozen=True)
class Turn:
    """Someone on call for a rotation from `start` until `end` (None: nobody)."""

    rotation: str
    login: str | None
    start: datetime
    end: datetime


def turns(
    policy: Policy,
    start: datetime,
    end: datetime,
    record: OnCallRecord = EMPTY,
    *,
    whole: bool = False,
) -> list[Turn]:
    """Each rotation's turns overlapping [start, end), in time order; `whole`: the first
    from its real beginning (a feed's events keep their UID as the window slides)."""
    found: list[Turn] = []
    cuts = handoffs(policy, start, end, record)
    for name in policy.rotations:
        began = last_handoff(name, policy, start, LOOKAHEAD, record) if whole else None
        moments = [began.at if began else start, *(h.at for h in cuts if h.rotation == name), end]
        for begin, finish in pairwise(moments):
            if begin < finish:
                people = on_call(name, policy, record, begin)
                found.append(Turn(name, people[0] if people else None, begin, finish))
    return sorted(found, key=lambda t: (t.start, t.rotation))


def agenda(policy: Policy, start: datetime, record: OnCallRecord = EMPTY) -> list[str]:
    """The next two weeks, one line per turn: `Mon 2026-03-30 09:00 Europe/Berlin  primary  ada`."""
    zone = policy.calendar.timezone
    end = start + timedelta(days=AGENDA_DAYS)
    return [
        f"{local(t.start, zone)}  {t.rotation}  {t.login or '(nobody: backups)'}"
        for t in turns(policy, start, end, record)
    ]


def _stamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _text(value: str) -> str:
    """An iCalendar TEXT value (RFC 5545 §3.3.11)."""
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def ics(name: str, shown: list[Turn], stamp: datetime) -> str:
    """An iCalendar feed of the turns (CRLF lines, one VEVENT each; nobody's turns left out)."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//incident-app//on-call//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{_text(name)}",
        "REFRESH-INTERVAL;VALUE=DURATION:PT1H",
        "X-PUBLISHED-TTL:PT1H",
    ]
    for t in shown:
        if t.login is None:
            continue
        lines += [
            "BEGIN:VEVENT",
            f"UID:{t.rotation}-{_stamp(t.start)}@incident-app",
            f"DTSTAMP:{_stamp(stamp)}",
            f"DTSTART:{_stamp(t.start)}",
            f"DTEND:{_stamp(t.end)}",
            f"SUMMARY:{_text(f'On call ({t.rotation}): {t.login}')}",
            f"DESCRIPTION:{_text(f'@{t.login} holds the {t.rotation} rotation.')}",
            "TRANSP:TRANSPARENT",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"


def warnings(policy: Policy, start: datetime) -> list[str]:
    """What check-config warns of in the rotations over the next two weeks: no seat follows
    one, an override for someone outside it, gaps nobody holds, layers whose hours overlap."""
    found: list[str] = []
    followed = {held.rotation for held in policy.seats.values()}
    for name, rotation in policy.rotations.items():
        where = f"rotations.{name}"
        if name not in followed:
            found.append(f"{where}: no roster seat follows it (`seat: {{rotation: {name}}}`)")
        if rotation.calendar is not None:
            continue  # its shifts are the calendar's: `doctor` fetches it
        members = {m.lower() for m in rotation.members} | {
            m.lower() for layer in rotation.layers for m in layer.members
        }
        found += _twice(f"{where}.members", rotation.members)
        for n, layer in enumerate(rotation.layers):
            found += _twice(f"{where}.layers.{n}.members", layer.members)
        found += [
            f"{where}.overrides.{n}: `{o.login}` is not a member of the rotation"
            for n, o in enumerate(rotation.overrides)
            if o.login.lower() not in members
        ]
        found += _gaps(name, policy, start)
        found += _overlaps(name, policy, start)
    return found


def _twice(where: str, members: list[str]) -> list[str]:
    """Members listed more than once (they take two turns of each round: a typo, mostly)."""
    seen: set[str] = set()
    twice: list[str] = []
    for m in members:
        if m.lower() in seen:
            twice.append(m)
        seen.add(m.lower())
    return [f"{where}: `{m}` is listed more than once (one turn each time)" for m in twice]


def _gaps(name: str, policy: Policy, start: datetime) -> list[str]:
    zone = policy.calendar.timezone
    nobody = [
        t
        for t in turns(policy, start, start + timedelta(days=AGENDA_DAYS))
        if t.rotation == name and t.login is None
    ]
    gaps = [(t.start, t.end) for t in nobody[:MAX_GAPS]] or _seasonal_gap(name, policy, start)
    return [
        f"rotations.{name}: nobody is on call from {local(a, zone)} to {local(b, zone)}"
        for a, b in gaps
    ]


def _seasonal_gap(name: str, policy: Policy, start: datetime) -> list[tuple[datetime, datetime]]:
    """For a rotation whose layers alone hold it (no base members): the first stretch within
    OVERLAP_DAYS that none of their hours covers (time zones move on different dates)."""
    rotation = policy.rotations[name]
    if rotation.members or not rotation.layers:
        return []
    zone = ZoneInfo(rotation.timezone or policy.calendar.timezone)
    windows = sorted(w for layer in rotation.layers for w in _windows(layer, zone, start))
    covered = start
    for begin, end in windows:
        if begin > covered:
            return [(covered, begin)]
        covered = max(covered, end)
    return []


def _overlaps(name: str, policy: Policy, start: datetime) -> list[str]:
    """Layers of the rotation whose hours overlap within OVERLAP_DAYS: time zones move their
    offsets on different dates, so layers that tile the day in July may overlap in January."""
    rotation = policy.rotations[name]
    zone = ZoneInfo(rotation.timezone or policy.calendar.timezone)
    windows = [_windows(layer, zone, start) for layer in rotation.layers]
    found: list[str] = []
    for i, j in combinations(range(len(windows)), 2):
        at = _first_overlap(windows[i], windows[j])
        if at is not None:
            found.append(
                f"rotations.{name}.layers: {i} and {j} overlap (e.g. at "
                f"{local(max(at, start), policy.calendar.timezone)}); the first listed wins"
            )
    return found


def _windows(layer: Layer, zone: ZoneInfo, start: datetime) -> list[tuple[datetime, datetime]]:
    """The layer's daily hours as UTC intervals, from the day before `start` for a year."""
    begin, end = parse_hours(layer.hours)
    where = ZoneInfo(layer.timezone) if layer.timezone else zone
    first = start.astimezone(where).date() - timedelta(days=1)
    found: list[tuple[datetime, datetime]] = []
    for n in range(OVERLAP_DAYS + 1):
        day = first + timedelta(days=n)
        ends = day + timedelta(days=1) if end <= begin else day
        found.append(
            (
                datetime.combine(day, begin, tzinfo=where).astimezone(UTC),
                datetime.combine(ends, end, tzinfo=where).astimezone(UTC),
            )
        )
    return [(a, b) for a, b in found if b > start]


def _first_overlap(
    first: list[tuple[datetime, datetime]], second: list[tuple[datetime, datetime]]
) -> datetime | None:
    """The first moment two sorted interval lists overlap, if they do."""
    i = j = 0
    while i < len(first) and j < len(second):
        (a0, a1), (b0, b1) = first[i], second[j]
        if max(a0, b0) < min(a1, b1):
            return max(a0, b0)
        if a1 <= b1:
            i += 1
        else:
            j += 1
    return None
