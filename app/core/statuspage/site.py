"""The whole public site as files, from its history (pure): the same history always gives
the same files, so a second run finds nothing to commit."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime

from app.core.statuspage import feed, pages, summary
from app.core.statuspage.current import history_start, recent
from app.core.statuspage.model import History, SiteConfig

HISTORY_FILE = "history.json"
NOJEKYLL = ".nojekyll"
CNAME = "CNAME"


def render(
    config: SiteConfig, history: History, *, now: datetime, cname: str | None = None
) -> dict[str, str]:
    """Every file of the site by path. `now` decides only which incidents the 90 days show
    (by day), never a timestamp written: rendering twice the same day gives the same files."""
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    shown = recent(history, day)
    files = {
        "index.html": pages.index(config, shown, since=history_start(day)),
        "feed.atom": feed.atom(config, history.ordered()),
        "status.json": _json(summary.summary(config, history.ordered())),
        HISTORY_FILE: _json(history.as_json()),
        NOJEKYLL: "",
    }
    for incident in history.ordered():
        files[f"incidents/{incident.id}.html"] = pages.incident(config, incident)
    if cname is not None:
        files[CNAME] = cname
    return files


def read_history(text: str | None) -> History:
    """The history the branch holds (none when absent or unreadable)."""
    if not text:
        return History()
    try:
        return History.from_json(json.loads(text))
    except ValueError:
        return History()


def _json(data: Mapping[str, object]) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
