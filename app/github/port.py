"""What the reader, config loader and executor need of GitHub, and paging through lists."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Protocol

from app.github.errors import Reply

log = logging.getLogger(__name__)


# GitHub Enterprise Server accepts this version too; newer ones are github.com-only for now.
API_VERSION = "2022-11-28"


USER_AGENT = "incident-app"


class GitHubPort(Protocol):
    """What the snapshot, config loader and executor need of GitHub."""

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        ok: tuple[int, ...] = (),
        idempotent: bool | None = None,
    ) -> Reply: ...


async def paginate(
    gh: GitHubPort,
    path: str,
    *,
    params: Mapping[str, Any] | None = None,
    key: str | None = None,
    limit: int = 30,
) -> list[Any]:
    """Every item of a list endpoint, 100 a page, following `Link: rel="next"`.

    `key` names the list inside an object answer (`/installation/repositories`).
    """
    items: list[Any] = []
    query: dict[str, Any] = {"per_page": 100, **(params or {})}
    for page in range(1, limit + 1):
        reply = await gh.request("GET", path, params={**query, "page": page})
        data = reply.data.get(key) if key and isinstance(reply.data, dict) else reply.data
        batch = data if isinstance(data, list) else []
        items.extend(batch)
        if 'rel="next"' not in reply.headers.get("link", "") or not batch:
            break
    return items
