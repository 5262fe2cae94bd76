"""Talking to GitHub: App auth through githubkit, a lenient REST client, and the executor."""

from __future__ import annotations

import asyncio
import base64
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import quote

import httpx
from githubkit import AppAuthStrategy, AppInstallationAuthStrategy, GitHub
from githubkit.cache import MemCacheStrategy
from githubkit.exception import (
    GitHubException,
    RateLimitExceeded,
    RequestError,
    RequestFailed,
    RequestTimeout,
)

from app import messages
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
    """A GitHub answer the caller did not expect.

    `deferred`: rate limited for longer than worth waiting; the next tick goes on.
    `uncertain`: a write that may have happened (5xx or timeout): re-read before retrying.
    """

    def __init__(
        self,
        method: str,
        path: str,
        status: int,
        message: str = "",
        *,
        deferred: bool = False,
        uncertain: bool = False,
        retry_after: float = 0.0,
    ) -> None:
        super().__init__(f"{method} {path} → {status} {message}".strip())
        self.status = status
        self.deferred = deferred
        self.uncertain = uncertain
        self.retry_after = retry_after


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


Sleep = Callable[[float], Awaitable[None]]
# (scope, method, status, headers) of every answer, for metrics
Observer = Callable[[str, str, int, Mapping[str, str]], None]


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


class Pacer:
    """Spaces one installation's content-creating requests (GitHub's advice: about a second
    apart; its secondary limit: 80 a minute), so a tick over many incidents spreads its writes."""

    def __init__(
        self,
        interval: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.interval = interval
        self._clock = clock
        self._sleep = sleep
        self._last = -1e9
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        if self.interval <= 0:
            return
        async with self._lock:
            delay = self._last + self.interval - self._clock()
            if delay > 0:
                await self._sleep(delay)
            self._last = self._clock()


class InstallationClient:
    """REST calls as one installation, through githubkit's auth and token cache.

    githubkit's own retries are off: it retries a POST whose 502 may hide a success, sleeps a
    minute on `Retry-After: 0` and up to an hour for a primary rate limit. Ours (SPEC §7):
    - idempotent requests are retried on 5xx and timeouts, with bounded backoff and jitter;
    - a non-idempotent POST is retried only when it certainly did not happen (the token or
      the connection failed first); otherwise the caller re-reads GitHub and re-plans;
    - rate limits are waited out when the wait is short (`Retry-After`, `x-ratelimit-reset`);
      a longer wait is not slept here: the error says `deferred` and the next tick goes on.
    """

    def __init__(
        self,
        gh: GitHub[Any],
        *,
        retries: int = 3,
        max_wait: float = 30.0,
        sleep: Sleep = asyncio.sleep,
        etags: EtagStore | None = None,
        scope: str = "",
        pacer: Pacer | None = None,
        observer: Observer | None = None,
    ) -> None:
        self._gh = gh
        self._observer = observer
        self._retries = retries
        self._max_wait = max_wait
        self._sleep = sleep
        self._etags = etags
        self._scope = scope
        self._pacer = pacer
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
        idempotent: bool | None = None,
    ) -> Reply:
        """Send one request; statuses in `ok` are answers, other errors raise GitHubError."""
        safe = method in IDEMPOTENT if idempotent is None else idempotent
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
            if method != "GET" and self._pacer is not None:
                await self._pacer.wait()
            try:
                resp = await self._gh.arequest(
                    method, path.lstrip("/"), params=params, json=json, headers=all_headers
                )
                raw = resp.raw_response
                self._observe(method, raw)
                if raw.status_code == 304 and cached is not None and self._etags is not None:
                    self._etags.revalidated += 1
                    return cached[1]
                reply = _reply(raw)
                etag = raw.headers.get("etag")
                if cache_key is not None and self._etags is not None and etag:
                    self._etags.put(cache_key, etag, reply)
                return reply
            except GitHubException as exc:
                # githubkit wraps what fails inside the auth flow (the token request) and
                # httpx's own errors in a plain RequestError: unwrap them.
                inner: BaseException = exc
                token_failed = False
                if type(exc) is RequestError:
                    inner = exc.exc
                    token_failed = isinstance(inner, GitHubException)
                if isinstance(inner, RequestFailed):
                    self._observe(method, inner.response.raw_response)
                if isinstance(inner, RateLimitExceeded):
                    # GitHub did not carry out a rate-limited request: any method may be retried.
                    wait = max(inner.retry_after.total_seconds(), 1.0)
                    if wait > self._max_wait or attempt > self._retries:
                        raise GitHubError(
                            method,
                            path,
                            inner.response.status_code,
                            f"rate limited for {wait:.0f}s",
                            deferred=True,
                            retry_after=wait,
                        ) from None
                    log.warning("rate limited: waiting %.0fs before %s %s", wait, method, path)
                    await self._sleep(wait)
                    continue
                if isinstance(inner, RequestFailed):
                    raw = inner.response.raw_response
                    token_failed = token_failed or raw.request.url.path.endswith("/access_tokens")
                    if raw.status_code in ok and not token_failed:
                        return _reply(raw)
                    transient = raw.status_code >= 500 and (safe or token_failed)
                    if not transient or attempt > self._retries:
                        raise GitHubError(
                            method,
                            path,
                            raw.status_code,
                            _message(raw),
                            uncertain=raw.status_code >= 500 and not safe and not token_failed,
                        ) from None
                elif isinstance(inner, RequestTimeout | httpx.TransportError):
                    origin = inner.exc if isinstance(inner, RequestTimeout) else inner
                    unsent = isinstance(origin, httpx.ConnectError | httpx.ConnectTimeout)
                    if not (safe or unsent) or attempt > self._retries:
                        raise GitHubError(
                            method, path, 0, type(origin).__name__, uncertain=not unsent
                        ) from None
                else:  # e.g. credentials githubkit refused
                    raise GitHubError(method, path, 0, type(inner).__name__) from None
            await self._sleep(_backoff(attempt))

    def _observe(self, method: str, raw: httpx.Response) -> None:
        if self._observer is not None:
            self._observer(self._scope, method, raw.status_code, raw.headers)


def _backoff(attempt: int) -> float:
    """Exponential backoff with full jitter: up to 0.5 s, 1 s, 2 s, … capped at 8 s."""
    return random.uniform(0.1, min(0.25 * 2**attempt, 8.0))


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


class _Shared(httpx.AsyncBaseTransport):
    """A transport many short-lived httpx clients use; closing one of them leaves it open."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        """The process owns the pool; a client closing after its request does not."""


class AppClients:
    """Builds installation clients from the settings; tokens are reused until near expiry."""

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
        observer: Observer | None = None,
    ):
        self._settings = settings
        # One connection pool (and one TLS context) for the process: githubkit opens an httpx
        # client per request outside `async with`, and a fresh transport costs ~27 ms of CPU
        # for its SSL context and a new connection to GitHub each time.
        self._transport = _Shared(transport or httpx.AsyncHTTPTransport(retries=0))
        self._sleep = sleep
        self._observer = observer
        self._clients: dict[int, InstallationClient] = {}
        pem = settings.private_key_pem()
        if settings.app_id is None or pem is None:
            raise ValueError("APP_ID and PRIVATE_KEY (or PRIVATE_KEY_PATH) are required")
        self._app_auth = AppAuthStrategy(settings.app_id, pem)
        # One token cache per process wiring (not githubkit's module-wide default), so the
        # tokens of one app never leak into another built in the same process.
        self._cache = MemCacheStrategy()
        self.etags = EtagStore()
        self._pacers: dict[int, Pacer] = {}

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
        found = self._clients.get(installation_id)
        if found is None:
            found = self._clients[installation_id] = self._installation(installation_id)
        return found

    def _installation(self, installation_id: int) -> InstallationClient:
        auth = AppInstallationAuthStrategy(
            self._app_auth.app_id, self._app_auth.private_key, installation_id
        )
        pacer = self._pacers.setdefault(
            installation_id, Pacer(self._settings.write_interval, sleep=self._sleep)
        )
        return InstallationClient(
            self._github(auth),
            etags=self.etags,
            scope=f"installation:{installation_id}",
            pacer=pacer,
            max_wait=self._settings.max_rate_limit_wait,
            sleep=self._sleep,
            observer=self._observer,
        )

    def app(self) -> InstallationClient:
        """Requests as the App itself (JWT): /app, /app/installations, hook deliveries."""
        return InstallationClient(
            self._github(self._app_auth),
            etags=self.etags,
            scope="app",
            sleep=self._sleep,
            max_wait=self._settings.max_rate_limit_wait,
            observer=self._observer,
        )


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


# --- the executor ---------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """One planned GitHub request."""

    method: str
    path: str
    body: Any = None
    ok: tuple[int, ...] = ()
    idempotent: bool = True  # False: repeating it may create a second thing

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
            return Call(
                "POST",
                f"{base}/{target or number}/comments",
                {"body": messages.fit(body)},
                idempotent=False,
            )
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
                    "title": messages.title(title),
                    "body": messages.fit(body),
                    "labels": list(labels),
                    "assignees": list(assignees),
                },
                idempotent=False,
            )
        case CreateBranch(name, sha):
            return Call(
                "POST",
                f"/repos/{repo}/git/refs",
                {"ref": f"refs/heads/{name}", "sha": sha},
                idempotent=False,
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
                {
                    "title": messages.title(title),
                    "head": head,
                    "base": base_branch,
                    "body": messages.fit(body),
                },
                idempotent=False,
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
            reply = await gh.request(
                call.method, call.path, json=call.body, ok=call.ok, idempotent=call.idempotent
            )
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
