"""Talking to GitHub: App auth through githubkit, a lenient REST client, and the executor."""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import quote

import httpx
from githubkit import AppAuthStrategy, AppInstallationAuthStrategy, GitHub
from githubkit.cache import MemCacheStrategy
from githubkit.exception import GitHubException, RequestFailed, RequestTimeout

from app.actions import (
    Action,
    AddAssignees,
    AddLabels,
    AddReaction,
    CreateBranch,
    CreateFile,
    DeleteComment,
    OpenIssue,
    OpenPullRequest,
    PostComment,
    RemoveAssignees,
    RemoveLabel,
    SetState,
    kind,
)
from app.settings import Settings

log = logging.getLogger(__name__)

# GitHub Enterprise Server accepts this version too; newer ones are github.com-only for now.
API_VERSION = "2022-11-28"
USER_AGENT = "incident-app"
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "PATCH"})


@dataclass(frozen=True)
class Reply:
    """A GitHub answer, reduced to what the app reads."""

    status: int
    data: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)


class GitHubError(Exception):
    """A GitHub answer the caller did not expect; carries the status."""

    def __init__(self, method: str, path: str, status: int, message: str = "") -> None:
        super().__init__(f"{method} {path} → {status} {message}".strip())
        self.status = status


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
    ) -> Reply: ...


Sleep = Callable[[float], Awaitable[None]]


class EtagStore:
    """Answers to GETs by URL, with their ETags, so rereads are conditional: a 304 costs no
    rate limit. Bounded; the oldest entries go first."""

    def __init__(self, size: int = 5000) -> None:
        self._size = size
        self._data: dict[str, tuple[str, Reply]] = {}
        self.revalidated = 0

    def get(self, key: str) -> tuple[str, Reply] | None:
        return self._data.get(key)

    def put(self, key: str, etag: str, reply: Reply) -> None:
        self._data.pop(key, None)
        if len(self._data) >= self._size:
            self._data.pop(next(iter(self._data)))
        self._data[key] = (etag, reply)


class InstallationClient:
    """REST calls as one installation, through githubkit's auth and token cache.

    githubkit's own retries are off: it would retry a POST whose 502 hid a success. We retry
    only idempotent requests, a bounded number of times (SPEC §7).
    """

    def __init__(
        self,
        gh: GitHub[Any],
        *,
        retries: int = 2,
        sleep: Sleep = asyncio.sleep,
        etags: EtagStore | None = None,
        scope: str = "",
    ) -> None:
        self._gh = gh
        self._retries = retries
        self._sleep = sleep
        self._etags = etags
        self._scope = scope
        self.requests = 0

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        ok: tuple[int, ...] = (),
    ) -> Reply:
        """Send one request; statuses in `ok` are answers, other errors raise GitHubError."""
        all_headers = {"X-GitHub-Api-Version": API_VERSION, **(headers or {})}
        cache_key = cached = None
        if method == "GET" and self._etags is not None:
            cache_key = f"{self._scope} {path} {sorted((params or {}).items())} {headers}"
            cached = self._etags.get(cache_key)
            if cached is not None:
                all_headers["If-None-Match"] = cached[0]
        attempt = 0
        while True:
            attempt += 1
            self.requests += 1
            try:
                resp = await self._gh.arequest(
                    method, path.lstrip("/"), params=params, json=json, headers=all_headers
                )
                raw = resp.raw_response
                if raw.status_code == 304 and cached is not None and self._etags is not None:
                    self._etags.revalidated += 1
                    return cached[1]
                reply = _reply(raw)
                etag = raw.headers.get("etag")
                if cache_key is not None and self._etags is not None and etag:
                    self._etags.put(cache_key, etag, reply)
                return reply
            except RequestFailed as exc:
                raw = exc.response.raw_response
                if raw.status_code in ok:
                    return _reply(raw)
                retry = method in IDEMPOTENT and raw.status_code >= 500
                if not retry or attempt > self._retries:
                    raise GitHubError(method, path, raw.status_code, _message(raw)) from None
            except (RequestTimeout, httpx.TransportError) as exc:
                if method not in IDEMPOTENT or attempt > self._retries:
                    raise GitHubError(method, path, 0, type(exc).__name__) from None
            except GitHubException as exc:  # rate limits and auth failures
                raise GitHubError(method, path, 0, type(exc).__name__) from None
            await self._sleep(min(2.0**attempt / 4, 4.0))


def _reply(raw: httpx.Response) -> Reply:
    data: Any = None
    if raw.content:
        ctype = raw.headers.get("content-type", "")
        data = raw.json() if "json" in ctype else raw.text
    return Reply(raw.status_code, data, dict(raw.headers))


def _message(raw: httpx.Response) -> str:
    try:
        body = raw.json()
    except ValueError:
        return ""
    return str(body.get("message", ""))[:200] if isinstance(body, dict) else ""


class AppClients:
    """Builds installation clients from the settings; tokens are reused until near expiry."""

    def __init__(self, settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None):
        self._settings = settings
        self._transport = transport
        pem = settings.private_key_pem()
        if settings.app_id is None or pem is None:
            raise ValueError("APP_ID and PRIVATE_KEY (or PRIVATE_KEY_PATH) are required")
        self._app_auth = AppAuthStrategy(settings.app_id, pem)
        # One token cache per process wiring (not githubkit's module-wide default), so the
        # tokens of one app never leak into another built in the same process.
        self._cache = MemCacheStrategy()
        self.etags = EtagStore()

    def _github(self, auth: Any) -> GitHub[Any]:
        return GitHub(
            auth,
            base_url=self._settings.github_api_url + "/",
            user_agent=USER_AGENT,
            timeout=httpx.Timeout(self._settings.http_timeout, connect=5.0),
            auto_retry=False,
            http_cache=False,
            cache_strategy=self._cache,
            async_transport=self._transport,
        )

    def installation(self, installation_id: int) -> InstallationClient:
        auth = AppInstallationAuthStrategy(
            self._app_auth.app_id, self._app_auth.private_key, installation_id
        )
        return InstallationClient(
            self._github(auth), etags=self.etags, scope=f"installation:{installation_id}"
        )

    def app(self) -> InstallationClient:
        """Requests as the App itself (JWT): /app, /app/installations, hook deliveries."""
        return InstallationClient(self._github(self._app_auth), etags=self.etags, scope="app")


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


# --- the executor ---------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """One planned GitHub request."""

    method: str
    path: str
    body: Any = None
    ok: tuple[int, ...] = ()

    def describe(self) -> str:
        import json

        body = "" if self.body is None else " " + json.dumps(self.body, ensure_ascii=False)
        return f"{self.method} {self.path}{body}"


def to_call(repo: str, number: int, action: Action) -> Call:
    """The REST request that carries out an action."""
    base = f"/repos/{repo}/issues"
    match action:
        case AddLabels(labels):
            return Call("POST", f"{base}/{number}/labels", {"labels": list(labels)})
        case RemoveLabel(label):
            return Call("DELETE", f"{base}/{number}/labels/{quote(label, safe='')}", ok=(404,))
        case AddAssignees(logins):
            return Call("POST", f"{base}/{number}/assignees", {"assignees": list(logins)})
        case RemoveAssignees(logins):
            return Call("DELETE", f"{base}/{number}/assignees", {"assignees": list(logins)})
        case PostComment(body, _, target):
            return Call("POST", f"{base}/{target or number}/comments", {"body": body})
        case DeleteComment(comment_id, _):
            return Call("DELETE", f"{base}/comments/{comment_id}", ok=(404,))
        case AddReaction(comment_id, content):
            return Call("POST", f"{base}/comments/{comment_id}/reactions", {"content": content})
        case SetState(state, reason):
            return Call("PATCH", f"{base}/{number}", {"state": state, "state_reason": reason})
        case OpenIssue(title, body, labels, assignees, _):
            return Call(
                "POST",
                base,
                {
                    "title": title,
                    "body": body,
                    "labels": list(labels),
                    "assignees": list(assignees),
                },
            )
        case CreateBranch(name, sha):
            return Call(
                "POST", f"/repos/{repo}/git/refs", {"ref": f"refs/heads/{name}", "sha": sha}
            )
        case CreateFile(path, branch, content, message):
            encoded = base64.b64encode(content.encode()).decode()
            return Call(
                "PUT",
                f"/repos/{repo}/contents/{quote(path)}",
                {"message": message, "content": encoded, "branch": branch},
            )
        case OpenPullRequest(title, head, base_branch, body):
            return Call(
                "POST",
                f"/repos/{repo}/pulls",
                {"title": title, "head": head, "base": base_branch, "body": body},
            )
    raise TypeError(f"no request for {action!r}")


@dataclass
class Outcome:
    """What one execution did."""

    done: list[tuple[Action, Reply]] = field(default_factory=list)
    failed: list[tuple[Action, GitHubError]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for action, _ in self.done:
            found[kind(action)] = found.get(kind(action), 0) + 1
        return found


async def execute(
    gh: GitHubPort, repo: str, number: int, actions: list[Action], *, log_extra: Mapping[str, Any]
) -> Outcome:
    """Carry out actions in order; stop at the first failure (the next run re-plans)."""
    outcome = Outcome()
    for action in actions:
        call = to_call(repo, number, action)
        try:
            reply = await gh.request(call.method, call.path, json=call.body, ok=call.ok)
        except GitHubError as exc:
            log.warning("action failed: %s: %s", kind(action), exc, extra=dict(log_extra))
            outcome.failed.append((action, exc))
            break
        log.info("action %s", kind(action), extra={**log_extra, "status": reply.status})
        outcome.done.append((action, reply))
    return outcome


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
