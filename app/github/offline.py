"""A GitHub with no network, for dry runs without credentials."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from app.core.labels import ACTION_ITEM
from app.github.errors import Reply

log = logging.getLogger(__name__)


class OfflineGitHub:
    """No network, for dry runs without credentials: the delivery's issue and repository are
    all there is to read, other reads find nothing, and writes are only recorded."""

    def __init__(self, payload: Mapping[str, Any] | None = None) -> None:
        self.calls: list[tuple[str, str, Any]] = []
        self._payload = payload or {}

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
    ) -> Reply:
        self.calls.append((method, path, json))
        issue, repo = self._payload.get("issue"), self._payload.get("repository")
        if method == "GET" and isinstance(repo, Mapping) and isinstance(issue, Mapping):
            base = f"/repos/{repo.get('full_name')}"
            if path == base:
                return Reply(200, dict(repo))
            if path == f"{base}/issues/{issue.get('number')}":
                return Reply(200, dict(issue))
            comment = self._payload.get("comment")
            if path.endswith("/timeline") and isinstance(comment, Mapping):
                return Reply(200, [{"event": "commented", **comment}])
            if "/collaborators/" in path and isinstance(comment, Mapping):
                # Offline there is no permission to read: trust GitHub's association.
                member = comment.get("author_association") in ("OWNER", "MEMBER", "COLLABORATOR")
                return Reply(200, {"permission": "write" if member else "read"})
        if method == "GET":
            if 404 in ok:
                return Reply(404, {"message": "Not Found (offline dry run)"})
            return Reply(200, [])
        return Reply(201, {})


class RecordedGitHub:
    """GitHub's record of one repository as files, for `incident-app report --offline DIR`:
    `issues.json` (the incidents, as `GET /repos/{o}/{r}/issues` lists them),
    `timelines/<number>.json` (each one's `GET …/timeline`), and `action-items.json` (the
    `action-item` issues). Reads only; anything else is not found."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder

    def _load(self, name: str) -> Any:
        path = self._folder / name
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None

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
    ) -> Reply:
        params = params or {}
        if method != "GET" or int(params.get("page", 1)) > 1:
            return Reply(200, [])
        if path.endswith("/issues"):
            name = "action-items.json" if params.get("labels") == ACTION_ITEM else "issues.json"
            return Reply(200, self._load(name) or [])
        if path.endswith("/timeline"):
            number = path.rstrip("/").split("/")[-2]
            return Reply(200, self._load(f"timelines/{number}.json") or [])
        return Reply(404, {"message": "Not Found (recorded)"})
