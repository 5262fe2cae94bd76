"""The operator's on-call calendars (NOTIFIERS_FILE `calendars:`), fetched over HTTP and read
with `icalendar`, recurring events expanded by `recurring-ical-events` (RRULE, RDATE, EXDATE,
VTIMEZONE), into the shifts `app.core.oncall` decides with.

A calendar is fetched at most once per its `cache` time; one that cannot be fetched or read
is a `CalendarFeed` with a `problem` (its URL, a secret, never in it), so its seats fall to
their backups meanwhile. Nothing here raises into the GitHub work.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

import httpx
import icalendar
import recurring_ical_events  # type: ignore[import-untyped]

from app.core.oncall import CalendarFeed, Shift
from app.notify.operator import CalendarSource, OperatorError, load
from app.settings import Settings

log = logging.getLogger(__name__)

MAX_BYTES = 2_000_000  # a year of PagerDuty shifts is some 100 kB
TIMEOUT = 10.0
# The shifts kept around the moment asked about: a handoff looks back a day, `/oncall` and the
# feed ahead some weeks.
BEHIND = timedelta(days=3)
AHEAD = timedelta(days=35)
MAX_SHIFTS = 2000
RETRY = timedelta(minutes=1)  # a calendar that failed is asked again this soon


def _moment(value: Any) -> datetime:
    """An iCalendar DTSTART/DTEND as an aware datetime (a date is midnight UTC, a floating
    time is read as UTC)."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    raise ValueError("no start or end")


def _people(event: Any) -> tuple[str, ...]:
    """The attendees' addresses and names (`mailto:ken@example.com`, `Ken Thompson`)."""
    found = event.get("ATTENDEE")
    attendees = found if isinstance(found, list) else [found] if found is not None else []
    people: list[str] = []
    for attendee in attendees:
        people.append(str(attendee))
        address = str(attendee).removeprefix("mailto:").removeprefix("MAILTO:")
        people.append(address)
        name = getattr(attendee, "params", {}).get("CN")
        if name:
            people.append(str(name))
    return tuple(dict.fromkeys(people))


def shifts(text: bytes, start: datetime, end: datetime) -> tuple[Shift, ...]:
    """The events of an iCalendar file overlapping [start, end), recurrences expanded."""
    calendar = icalendar.Calendar.from_ical(text)
    found: list[Shift] = []
    for event in recurring_ical_events.of(calendar).between(start, end)[:MAX_SHIFTS]:
        begin = _moment(event.get("DTSTART").dt)
        if event.get("DTEND") is not None:
            finish = _moment(event.get("DTEND").dt)
        else:
            finish = begin + event.get("DURATION", timedelta(0)).dt
        found.append(Shift(begin, finish, str(event.get("SUMMARY", "")), _people(event)))
    return tuple(sorted(found, key=lambda s: s.start))


@dataclass
class _Cached:
    body: bytes | None  # None: the fetch failed with `problem`
    problem: str | None
    fetched: datetime


class Calendars:
    """Fetches the operator's calendars by name, each at most once per its cache time."""

    def __init__(
        self,
        sources: Mapping[str, CalendarSource],
        *,
        now: Callable[[], datetime],
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self._sources = dict(sources)
        self._now = now
        self._http = http
        self._cache: dict[str, _Cached] = {}

    def names(self) -> frozenset[str]:
        return frozenset(self._sources)

    async def feeds(self, names: Iterable[str], around: datetime) -> dict[str, CalendarFeed]:
        """The calendars named, as last fetched, with shifts around `around`."""
        return {name: await self.feed(name, around) for name in dict.fromkeys(names)}

    async def feed(self, name: str, around: datetime) -> CalendarFeed:
        source = self._sources.get(name)
        if source is None:
            return CalendarFeed(name, problem="no such calendar in the operator's NOTIFIERS_FILE")
        cached = self._cache.get(name)
        now = self._now()
        keep = source.cache if cached is None or cached.body else min(source.cache, RETRY)
        if cached is None or now - cached.fetched >= keep:
            cached = await self._fetch(name, source, now)
            self._cache[name] = cached
        if cached.body is None:
            return CalendarFeed(name, problem=cached.problem)
        try:
            found = shifts(cached.body, around - BEHIND, around + AHEAD)
        except Exception as exc:  # icalendar raises ValueError, KeyError, … on bad input
            return self._failed(name, f"not an iCalendar file ({type(exc).__name__})")
        return CalendarFeed(name, shifts=found)

    async def _fetch(self, name: str, source: CalendarSource, now: datetime) -> _Cached:
        try:
            return _Cached(await self._get(source.url.get_secret_value()), None, now)
        except httpx.HTTPStatusError as exc:
            problem = f"HTTP {exc.response.status_code}"
        except (httpx.HTTPError, OSError) as exc:
            problem = f"unreachable ({type(exc).__name__})"
        except ValueError as exc:
            problem = str(exc)
        self._failed(name, problem)
        return _Cached(None, problem, now)

    async def _get(self, url: str) -> bytes:
        client = self._http or httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False)
        try:
            async with client.stream("GET", url, timeout=TIMEOUT) as reply:
                reply.raise_for_status()
                body = b""
                async for chunk in reply.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_BYTES:
                        raise ValueError(f"larger than {MAX_BYTES // 1_000_000} MB")
                return body
        finally:
            if self._http is None:
                await client.aclose()

    @staticmethod
    def _failed(name: str, problem: str) -> CalendarFeed:
        log.warning("calendar %s: %s", name, problem)
        return CalendarFeed(name, problem=problem)


def from_settings(settings: Settings, *, now: Callable[[], datetime]) -> Calendars | None:
    """The calendars of NOTIFIERS_FILE, None without the file or without `calendars:` (an
    unusable file is the notifiers' to report)."""
    if settings.notifiers_file is None:
        return None
    try:
        found = load(settings.notifiers_file, env=settings.environment())
    except OperatorError:
        return None
    return Calendars(found.calendars, now=now) if found.calendars else None


Verdict = Literal["ok", "warn", "FAIL"]


async def probe(
    sources: Mapping[str, CalendarSource], now: datetime
) -> list[tuple[str, Verdict, str]]:
    """`doctor`'s check of each calendar: (name, verdict, why); its URL never shown."""
    found: list[tuple[str, Verdict, str]] = []
    for name, feed in (await Calendars(sources, now=lambda: now).feeds(sources, now)).items():
        if feed.problem:
            found.append((name, "FAIL", f"{feed.problem}: its seats fall to their backups"))
        elif feed.shifts:
            found.append((name, "ok", f"{len(feed.shifts)} shift(s) in the next five weeks"))
        else:
            found.append((name, "warn", "read, but it has no shifts in the next five weeks"))
    return found
