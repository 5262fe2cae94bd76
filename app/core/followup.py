"""Follow-through: the action items of a merged review document become issues (pure).

Runbook "Action Item Categories": immediate (within 1 week), short-term (within 1 month),
long-term (within 1 quarter). Every task-list item under the document's three horizon
headings that is not a placeholder becomes one issue, due that long after the merge, assigned
to the `@login` it names. An item is known by its horizon and its place among that horizon's
items, so an item edited later or a merge delivered twice never makes a second issue; a
removed item's issue is left alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

HORIZONS = {
    "immediate": ("Immediate", timedelta(weeks=1), "within 1 week"),
    "short-term": ("Short-term", timedelta(days=30), "within 1 month"),
    "long-term": ("Long-term", timedelta(days=91), "within 1 quarter"),
}
ALIASES = {"immediate": "immediate", "short": "short-term", "short-term": "short-term"}
ALIASES |= {"long": "long-term", "long-term": "long-term"}
PLACEHOLDERS = {"", "todo", "tbd", "...", "…", "n/a", "none"}

_HEADING = re.compile(r"^#{2,4}\s+(immediate|short-term|long-term)\b", re.I)
_OTHER_HEADING = re.compile(r"^#{1,4}\s")
_ITEM = re.compile(r"^\s*[-*]\s+\[( |x|X)\]\s+(.*)$")
_OWNER = re.compile(r"(?<![\w`])@([A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))\b(?!/)")


@dataclass(frozen=True)
class Item:
    """One action item of a review document."""

    horizon: str  # immediate | short-term | long-term
    place: int  # 1, 2, … among the horizon's items
    text: str
    owner: str | None = None

    @property
    def key(self) -> str:
        return f"{self.horizon}-{self.place}"

    def due(self, merged_at: datetime) -> datetime:
        return merged_at + HORIZONS[self.horizon][1]


def items(document: str) -> list[Item]:
    """The open task-list items under the three horizon headings, placeholders left out."""
    found: list[Item] = []
    horizon: str | None = None
    places: dict[str, int] = {}
    for line in document.splitlines():
        heading = _HEADING.match(line)
        if heading:
            horizon = heading[1].lower()
            continue
        if _OTHER_HEADING.match(line):
            horizon = None
            continue
        match = _ITEM.match(line)
        if horizon is None or match is None or match[1] != " ":
            continue
        text = " ".join(match[2].split())
        if text.strip(" .").lower() in PLACEHOLDERS:
            continue
        places[horizon] = places.get(horizon, 0) + 1
        owner = _OWNER.search(text)
        found.append(Item(horizon, places[horizon], text[:200], owner[1] if owner else None))
    return found
