"""GitHub's issue search, per owner: what the sweep reconciles, in a few requests.

One query per kind — open incidents, incidents closed or changed lately, open reviews, open
action items, and breaches (closed ones too, however old: their deadlines may outlive the
incident) — each `user:<owner>`, so an installation's repositories cost a handful of
requests, not a walk. Search has limits the sweep must respect:
- 30 requests a minute per installation (`SearchPace` spaces them);
- 1,000 results a query: a query with more (or `incomplete_results`) is `Unusable`, and
  the caller lists that installation's repositories one by one instead;
- an index that lags webhooks by seconds to minutes: the sweep also revisits the incidents
  the wake-ups know of.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from app.core.labels import ACTION_ITEM, BREACH, INCIDENT
from app.core.snapshot import Repo
from app.github.port import GitHubPort, paginate

MAX_RESULTS = 1000  # GitHub answers no more than this many per query
PER_MINUTE = 30  # search's own rate limit, per installation


class Unusable(Exception):
    """Search cannot serve this installation this time (too many results, incomplete)."""


@dataclass
class Found:
    """What the searches found, as issue objects (search items are issues plus a score)."""

    incidents: list[dict[str, Any]] = field(default_factory=list)
    reviews: list[dict[str, Any]] = field(default_factory=list)
    items: list[dict[str, Any]] = field(default_factory=list)
    requests: int = 0


class SearchPace:
    """At most `per_minute` searches in any minute (a sliding window), per installation."""

    def __init__(
        self,
        per_minute: int = PER_MINUTE,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._per_minute = per_minute
        self._clock = clock
        self._sleep = sleep
        self._sent: dict[int, list[float]] = {}
        self._lock = asyncio.Lock()

    async def wait(self, installation_id: int) -> None:
        async with self._lock:
            now = self._clock()
            sent = [t for t in self._sent.get(installation_id, []) if now - t < 60]
            if len(sent) >= self._per_minute:
                await self._sleep(60 - (now - sent[0]))
                sent = sent[1:]
            sent.append(self._clock())
            self._sent[installation_id] = sent


def queries(owner: str, *, pir_label: str, since: str) -> dict[str, str]:
    """The search queries of one owner, by what they find."""
    scope = f"is:issue user:{owner}"
    return {
        "open": f'{scope} is:open label:"{INCIDENT}"',
        "closed": f'{scope} is:closed label:"{INCIDENT}" updated:>={since}',
        # Breach deadlines outlive the incident (issue 22, item 4): closed breaches however
        # old; the reconciler plans nothing for one whose deadlines are all recorded.
        "breach": f'{scope} is:closed label:"{INCIDENT}" label:"{BREACH}"',
        "reviews": f'{scope} is:open label:"{pir_label}"',
        "items": f'{scope} is:open label:"{ACTION_ITEM}"',
    }


async def search(
    gh: GitHubPort,
    installation_id: int,
    owner: str,
    *,
    pir_label: str,
    since: str,
    pace: SearchPace,
) -> Found:
    """Every query of `owner`; raises Unusable (or GitHubError) when search cannot serve."""
    found = Found()
    for name, q in queries(owner, pir_label=pir_label, since=since).items():
        items = await _all(gh, installation_id, q, pace, found)
        if name in ("open", "closed", "breach"):
            seen = {i.get("url") for i in found.incidents}
            found.incidents += [i for i in items if i.get("url") not in seen]
        elif name == "reviews":
            found.reviews = items
        else:
            found.items = items
    return found


async def _all(
    gh: GitHubPort, installation_id: int, q: str, pace: SearchPace, found: Found
) -> list[dict[str, Any]]:
    """Every result of one query, 100 a page."""
    items: list[dict[str, Any]] = []
    served = 0
    for page in range(1, MAX_RESULTS // 100 + 1):
        await pace.wait(installation_id)
        found.requests += 1
        reply = await gh.request(
            "GET", "/search/issues", params={"q": q, "per_page": 100, "page": page}
        )
        data = reply.data if isinstance(reply.data, dict) else {}
        total = int(data.get("total_count") or 0)
        if data.get("incomplete_results") or total > MAX_RESULTS:
            raise Unusable(f"{q!r}: {total} results, incomplete: {data.get('incomplete_results')}")
        batch = [i for i in data.get("items") or [] if isinstance(i, dict)]
        served += len(batch)
        items += [i for i in batch if not i.get("pull_request")]
        if served >= total:
            return items
        if not batch:
            break
    # Fewer served than counted: GitHub stops at 1,000, or the results moved meanwhile.
    raise Unusable(f"{q!r}: {served} of {total} results served")


async def active_repositories(
    gh: GitHubPort, installation_id: int, owner: str, since: str, pace: SearchPace
) -> set[str]:
    """The repositories (lower-case full names) with incidents changed since `since` or open
    action items: the only ones a monthly review can be due in."""
    scope = f"is:issue user:{owner}"
    found = Found()
    names: set[str] = set()
    for q in (
        f'{scope} label:"{INCIDENT}" updated:>={since}',
        f'{scope} is:open label:"{ACTION_ITEM}"',
    ):
        for issue in await _all(gh, installation_id, q, pace, found):
            if where := repository_of(issue):
                names.add(f"{where[0]}/{where[1]}".lower())
    return names


def repository_of(issue: dict[str, Any]) -> tuple[str, str] | None:
    """(owner, name) of a search result, from its `repository_url`."""
    url = str(issue.get("repository_url") or "")
    parts = url.rstrip("/").split("/")
    if len(parts) < 2 or parts[-3:-2] != ["repos"]:
        return None
    return parts[-2], parts[-1]


async def listed(
    gh: GitHubPort, repo: Repo, has_open: bool, *, pir_label: str, since: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Where search cannot serve, one repository's lists: its incidents (open, and resolved
    lately), its open reviews and its open action items."""
    path = f"/repos/{repo.full_name}/issues"
    # A repository without open issues has no open incident and no open review.
    incidents = (
        await paginate(gh, path, params={"labels": INCIDENT, "state": "open"}) if has_open else []
    )
    incidents += await paginate(
        gh, path, params={"labels": INCIDENT, "state": "closed", "since": since}
    )
    reviews = (
        await paginate(gh, path, params={"labels": pir_label, "state": "open"}) if has_open else []
    )
    items = (
        await paginate(gh, path, params={"labels": ACTION_ITEM, "state": "open"})
        if has_open
        else []
    )
    return incidents, reviews, items
