"""Asking GitHub to redeliver the webhook deliveries that failed (docs/behaviour.md §7)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

from app.core.snapshot import ts
from app.github.errors import GitHubError
from app.github.port import GitHubPort

log = logging.getLogger(__name__)

EVENTS = frozenset({"issues", "issue_comment"})


@dataclass
class RedeliveryReport:
    checked: int = 0
    redelivered: list[str] = field(default_factory=list)  # guids
    errors: list[str] = field(default_factory=list)


class Redeliverer:
    """Lists the App's recent deliveries and redelivers each failed one once.

    A delivery (a `guid`) counts as failed when none of its attempts got a 2xx answer and we
    have not asked for a redelivery of it before (an attempt marked `redelivery`), so a
    delivery that keeps failing is not redelivered over and over. Bounded per run.
    """

    def __init__(
        self,
        *,
        app: Callable[[], GitHubPort],
        now: Callable[[], datetime],
        limit: int = 20,
        lookback: timedelta = timedelta(hours=1),
        max_pages: int = 10,
    ) -> None:
        self._app = app
        self._now = now
        self._limit = limit
        self._lookback = lookback
        self._max_pages = max_pages
        self._last_check: datetime | None = None

    async def run(self) -> RedeliveryReport:
        report = RedeliveryReport()
        started = self._now()
        since = self._last_check or started - self._lookback
        gh = self._app()
        try:
            deliveries = await self._list(gh, since)
        except GitHubError as exc:
            report.errors.append(str(exc))
            return report
        report.checked = len(deliveries)
        attempts: dict[str, list[dict[str, Any]]] = {}
        for item in deliveries:
            attempts.setdefault(str(item.get("guid")), []).append(item)
        failed = []
        for guid, tries in attempts.items():
            if any(200 <= int(t.get("status_code") or 0) < 300 for t in tries):
                continue
            if any(t.get("redelivery") for t in tries):
                continue  # asked once already
            if tries[0].get("event") not in EVENTS:
                continue
            failed.append((guid, max(tries, key=lambda t: str(t.get("delivered_at")))))
        for guid, attempt in failed[: self._limit]:
            try:
                await gh.request(
                    "POST", f"/app/hook/deliveries/{attempt['id']}/attempts", idempotent=False
                )
                report.redelivered.append(guid)
            except GitHubError as exc:
                report.errors.append(f"{guid}: {exc}")
        if len(failed) > self._limit:
            log.warning("%d failed deliveries left for the next run", len(failed) - self._limit)
        # Overlap the windows a little: a redelivered guid is skipped by its `redelivery` mark.
        self._last_check = started - timedelta(minutes=5)
        if report.redelivered:
            log.info("asked GitHub to redeliver %d failed deliveries", len(report.redelivered))
        return report

    async def _list(self, gh: GitHubPort, since: datetime) -> list[dict[str, Any]]:
        """Deliveries since `since`, newest first, following the cursor pagination."""
        found: list[dict[str, Any]] = []
        params: dict[str, Any] = {"per_page": 100}
        for _ in range(self._max_pages):
            reply = await gh.request("GET", "/app/hook/deliveries", params=params)
            page = [d for d in reply.data or [] if isinstance(d, dict)]
            recent = [d for d in page if d.get("delivered_at") and ts(d["delivered_at"]) >= since]
            found += recent
            cursor = _next_cursor(reply.headers.get("link", ""))
            if cursor is None or len(recent) < len(page):
                break
            params = {"per_page": 100, "cursor": cursor}
        return found


def _next_cursor(link: str) -> str | None:
    for part in link.split(","):
        if 'rel="next"' in part:
            url = part[part.find("<") + 1 : part.find(">")]
            cursor = parse_qs(urlparse(url).query).get("cursor")
            return cursor[0] if cursor else None
    return None
