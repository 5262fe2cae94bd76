"""Who is on call, as the runtime reads it for a repository with rotations: the operator's
calendars (through `app.notify.calendars`, cached) and the covers the app recorded in the
repository's "On-call" issue (`app.core.oncall.OnCallRecord`)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from app.core import markers
from app.core.labels import ONCALL
from app.core.oncall import EMPTY, CalendarFeed, Cover, OnCallRecord
from app.core.policy import Policy
from app.core.snapshot import Comment, Issue
from app.github.port import GitHubPort, paginate
from app.notify.calendars import Calendars

log = logging.getLogger(__name__)

# Covers recorded longer ago than this are history (a cover runs a turn, or `until`).
COVERS_SINCE = timedelta(days=60)
MAX_LOG_ISSUES = 3
NO_CALENDARS = "the operator's NOTIFIERS_FILE names no calendars"


def _cover(note: markers.CoverNote) -> Cover | None:
    try:
        start = datetime.fromisoformat(note.start)
        until = datetime.fromisoformat(note.until) if note.until else None
    except ValueError:
        return None
    return Cover(note.rotation, note.login, start, until, note.by)


def covers_in(bodies: list[str]) -> tuple[Cover, ...]:
    """The covers recorded in the app's own bodies (the On-call issue and its comments)."""
    found = [
        cover
        for body in bodies
        for note in markers.of(markers.CoverNote, body)
        if (cover := _cover(note)) is not None
    ]
    return tuple(dict.fromkeys(found))


class OnCallReader:
    """Reads a repository's on-call record; calendars are fetched at most once per their
    cache time (shared by every repository naming them)."""

    def __init__(self, calendars: Calendars | None, *, app_id: int | None) -> None:
        self._calendars = calendars
        self._app_id = app_id

    async def record(
        self, gh: GitHubPort, full_name: str, policy: Policy, now: datetime
    ) -> OnCallRecord:
        if not policy.rotations:
            return EMPTY
        names = [r.calendar for r in policy.rotations.values() if r.calendar]
        if self._calendars is None:
            feeds = {n: CalendarFeed(n, problem=NO_CALENDARS) for n in names}
        else:
            feeds = await self._calendars.feeds(names, now)
        issue, bodies = await self._log(gh, full_name, now)
        return OnCallRecord(calendars=feeds, covers=covers_in(bodies), issue=issue)

    async def _log(
        self, gh: GitHubPort, full_name: str, now: datetime
    ) -> tuple[int | None, list[str]]:
        """The On-call issue the app keeps (the oldest, if a race opened two) and the bodies
        of it and its own comments."""
        listed = await paginate(
            gh, f"/repos/{full_name}/issues", params={"labels": ONCALL, "state": "open"}, limit=2
        )
        logs = sorted(
            (item for item in listed if self._is_log(item)), key=lambda i: int(i["number"])
        )[:MAX_LOG_ISSUES]
        bodies: list[str] = []
        # Whole days, so the listing's URL (and ETag) stays the same all day: a 304 is free.
        since = (now - COVERS_SINCE).strftime("%Y-%m-%dT00:00:00Z")
        for item in logs:
            bodies.append(str(item.get("body") or ""))
            comments = await paginate(
                gh,
                f"/repos/{full_name}/issues/{item['number']}/comments",
                params={"since": since},
                limit=5,
            )
            bodies += [
                c.body
                for data in comments
                if (c := Comment.from_api(data, app_id=self._app_id)).ours
            ]
        return (int(logs[0]["number"]) if logs else None), bodies

    def _is_log(self, item: dict[str, Any]) -> bool:
        return Issue.from_api(item, app_id=self._app_id).ours and bool(
            markers.of(markers.OnCallLog, str(item.get("body") or ""))
        )
