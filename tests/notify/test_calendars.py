"""The operator's on-call calendars: a hand-written RFC 5545 file (RRULE, EXDATE, VTIMEZONE)
served by a local HTTP server on loopback, read into shifts, cached, and reported when it
cannot be read."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from pydantic import SecretStr

from app.core.oncall import OnCallRecord, holder_at
from app.notify.calendars import Calendars
from app.notify.operator import CalendarSource, OperatorError, parse
from tests.factories import policy

pytestmark = pytest.mark.anyio

ICS = (Path(__file__).parent / "oncall-vendor.ics").read_bytes()
VENDOR = """\
rotations:
  vendor:
    calendar: vendor-oncall
    people: {ada@example.com: ada, ken thompson: ken, grace hopper: grace}
roster:
  release_manager.rohan-patel: {rotation: vendor}
  team_lead.casey-brooks: casey
"""


class Served:
    """A loopback HTTP server answering each path with a status and body."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, bytes]] = {}
        self.hits: list[str] = []
        served = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                served.hits.append(self.path)
                status, body = served.routes.get(self.path, (404, b"no"))
                self.send_response(status)
                self.send_header("Content-Type", "text/calendar")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def served() -> Iterator[Served]:
    found = Served()
    thread = threading.Thread(target=found.server.serve_forever, daemon=True)
    thread.start()
    yield found
    found.server.shutdown()
    found.server.server_close()


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def source(url: str, cache: timedelta = timedelta(minutes=15)) -> CalendarSource:
    return CalendarSource(url=SecretStr(url), cache=cache)


async def holder(calendars: Calendars, at: datetime) -> str | None:
    record = OnCallRecord(calendars=await calendars.feeds(["vendor-oncall"], at))
    return holder_at("release_manager.rohan-patel", policy(VENDOR), record, at)


async def test_a_calendar_s_recurring_shifts_exceptions_and_one_offs_name_the_holder(
    served: Served,
) -> None:
    served.routes["/pd/secret-token.ics"] = (200, ICS)
    now = [utc(2026, 3, 20)]
    calendars = Calendars(
        {"vendor-oncall": source(served.url + "/pd/secret-token.ics")}, now=lambda: now[0]
    )
    # Monday 09:00 Berlin: 08:00 UTC in winter (CET), 07:00 UTC after 2026-03-29 (CEST).
    assert await holder(calendars, utc(2026, 3, 16, 7, 59)) == "ken"
    assert await holder(calendars, utc(2026, 3, 16, 8, 0)) == "ada"  # RRULE, every 2 weeks
    assert await holder(calendars, utc(2026, 3, 23, 8, 0)) == "ken"
    assert await holder(calendars, utc(2026, 3, 30, 7, 0)) == "grace"  # EXDATE + one-off
    assert await holder(calendars, utc(2026, 4, 6, 6, 59)) == "grace"
    assert await holder(calendars, utc(2026, 4, 6, 7, 0)) == "ken"  # VTIMEZONE: CEST now
    assert served.hits == ["/pd/secret-token.ics"]  # fetched once within its cache time
    now[0] += timedelta(minutes=16)
    await holder(calendars, utc(2026, 3, 25))
    assert len(served.hits) == 2


async def test_an_unreachable_or_unreadable_calendar_is_a_problem_and_nobody_holds_the_seat(
    served: Served,
) -> None:
    served.routes["/broken.ics"] = (200, b"BEGIN:VCALENDAR\nthis is not one")
    calendars = Calendars(
        {
            "gone": source(served.url + "/gone.ics?token=s3cret"),
            "closed": source("http://127.0.0.1:9/x.ics"),
            "broken": source(served.url + "/broken.ics"),
        },
        now=lambda: utc(2026, 3, 20),
    )
    feeds = await calendars.feeds(["gone", "closed", "broken", "unknown"], utc(2026, 3, 20))
    problems = OnCallRecord(calendars=feeds).problems()
    assert problems[0] == "calendar `gone`: HTTP 404"
    assert problems[1] == "calendar `closed`: unreachable (ConnectError)"
    assert problems[2].startswith("calendar `broken`: not an iCalendar file")
    assert problems[3] == "calendar `unknown`: no such calendar in the operator's NOTIFIERS_FILE"
    assert not any("s3cret" in p for p in problems)


def test_a_calendar_url_comes_from_the_environment_and_is_a_secret() -> None:
    text = "calendars:\n  vendor-oncall: {url: '${PD_ICS_URL}', cache: 30m}\n"
    found = parse(text, env={"PD_ICS_URL": "https://pd.example/ics/abc123"})
    assert found.calendars["vendor-oncall"].cache == timedelta(minutes=30)
    assert "https://pd.example/ics/abc123" in found.secrets()
    with pytest.raises(OperatorError) as raised:
        parse("calendars:\n  vendor-oncall: {url: 'file:///etc/passwd'}\n", env={})
    assert raised.value.problems == ["calendars.vendor-oncall.url: must be an https:// URL"]
