"""Talking to GitHub as the App or an installation: auth, retries, pacing, ETags."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

import httpx
from githubkit import GitHub
from githubkit.exception import GitHubException, RequestError, RequestFailed, RequestTimeout

from app.github.auth import AppAuth, Credentials, InstallationAuth, SharedPool, TokenCache
from app.github.errors import (
    IDEMPOTENT,
    GitHubError,
    RateLimited,
    Refused,
    Reply,
    ServerError,
    Unauthorized,
    classify,
)
from app.github.port import API_VERSION, USER_AGENT
from app.settings import Settings

log = logging.getLogger(__name__)


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


class SlotBook(Protocol):
    """Where replicas share the next free write slot of each installation (cluster mode)."""

    async def reserve(self, scope: str, interval: float) -> float | None:
        """Take the next free slot of `scope`: seconds to wait for it; None when the book is
        unreachable (pace in this process alone)."""


Guard = Callable[[], Awaitable[None]]


class Pacer:
    """Spaces one installation's content-creating requests (GitHub's advice: about a second
    apart; its secondary limit: 80 a minute), so a tick over many incidents spreads its writes.

    With a shared `slots` book the spacing holds across replicas, since GitHub counts per
    installation, not per process. `guard`, awaited last, right before the write is sent, may
    raise to stop it (cluster mode: the issue's lock was taken over while we waited).
    """

    def __init__(
        self,
        interval: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        slots: SlotBook | None = None,
        scope: str = "",
        guard: Guard | None = None,
    ) -> None:
        self.interval = interval
        self._clock = clock
        self._sleep = sleep
        self._slots = slots
        self._scope = scope
        self._guard = guard
        self._last = -1e9
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        if self.interval > 0:
            shared = await self._slots.reserve(self._scope, self.interval) if self._slots else None
            if shared is None:
                await self._local()
            elif shared > 0:
                await self._sleep(shared)
        if self._guard is not None:
            await self._guard()

    async def _local(self) -> None:
        async with self._lock:
            delay = self._last + self.interval - self._clock()
            if delay > 0:
                await self._sleep(delay)
            self._last = self._clock()


class InstallationClient:
    """REST calls as one installation, through githubkit's auth and token cache.

    githubkit's own retries are off: it retries a POST whose 502 may hide a success, sleeps a
    minute on `Retry-After: 0` and up to an hour for a primary rate limit. Ours (behaviour §7):
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
        credentials: Credentials | None = None,
    ) -> None:
        self._gh = gh
        self._observer = observer
        self._credentials = credentials
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
        renewed = False
        while True:
            attempt += 1
            self.requests += 1
            if method != "GET" and self._pacer is not None:
                await self._pacer.wait()
            result = await self._send(method, path, params, json, all_headers, ok, safe)
            if isinstance(result, Reply):
                return self._answered(result, cache_key, cached)
            if isinstance(result, RateLimited):
                # GitHub did not carry out a rate-limited request: any method may be retried.
                wait = max(result.retry_after, 1.0)
                if wait > self._max_wait or attempt > self._retries:
                    raise result
                log.warning("rate limited: waiting %.0fs before %s %s", wait, method, path)
                await self._sleep(wait)
                continue
            if type(result) is ServerError and attempt <= self._retries:
                await self._sleep(_backoff(attempt))
                continue
            if isinstance(result, Unauthorized) and self._credentials is not None and not renewed:
                # A token revoked (the installation's permissions changed) or a JWT refused
                # for clock skew: mint a fresh one and try once more (octokit does the same).
                renewed = True
                self._credentials.renew(result, self._scope)
                log.warning("%s: new credentials, trying once more", result)
                continue
            raise _explained(result) if isinstance(result, Unauthorized) else result

    def _answered(
        self, result: Reply, cache_key: str | None, cached: tuple[str, Reply] | None
    ) -> Reply:
        """The answer: the cached reply when GitHub says it is unchanged (304), else this one,
        kept by its ETag for the next read."""
        if result.status == 304 and cached is not None and self._etags is not None:
            self._etags.revalidated += 1
            return cached[1]
        etag = result.headers.get("etag")
        if cache_key is not None and self._etags is not None and etag:
            self._etags.put(cache_key, etag, result)
        return result

    async def _send(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        json: Any,
        headers: dict[str, str],
        ok: tuple[int, ...],
        safe: bool,
    ) -> Reply | GitHubError:
        """One request through githubkit, its answer classified."""
        try:
            resp = await self._gh.arequest(
                method, path.lstrip("/"), params=params, json=json, headers=headers
            )
            raw = resp.raw_response
            token_failed = False
        except GitHubException as exc:
            # githubkit wraps what fails inside the auth flow (the token request) and
            # httpx's own errors in a plain RequestError: unwrap them.
            inner: BaseException = exc.exc if type(exc) is RequestError else exc
            token_failed = type(exc) is RequestError and isinstance(inner, GitHubException)
            if isinstance(inner, RequestFailed):
                raw = inner.response.raw_response
                token_failed = token_failed or raw.request.url.path.endswith("/access_tokens")
            elif isinstance(inner, RequestTimeout | httpx.TransportError):
                origin = inner.exc if isinstance(inner, RequestTimeout) else inner
                unsent = isinstance(origin, httpx.ConnectError | httpx.ConnectTimeout)
                return classify(
                    method,
                    path,
                    0,
                    {},
                    {"message": type(origin).__name__},
                    idempotent=safe,
                    sent=not unsent,
                )
            else:  # e.g. credentials githubkit refused
                return Refused(method, path, 0, type(inner).__name__)
        self._observe(method, raw)
        if self._credentials is not None:
            self._credentials.observe(raw.headers.get("date"))
            if raw.status_code == 401:
                self._credentials.saw_date(raw.headers.get("date"))
        return classify(
            method,
            path,
            raw.status_code,
            raw.headers,
            _body(raw),
            ok=ok,
            idempotent=safe,
            token_failed=token_failed,
            now=time.time(),
        )

    def _observe(self, method: str, raw: httpx.Response) -> None:
        if self._observer is not None:
            self._observer(self._scope, method, raw.status_code, raw.headers)


def _backoff(attempt: int) -> float:
    """Exponential backoff with full jitter: up to 0.5 s, 1 s, 2 s, … capped at 8 s."""
    return random.uniform(0.1, min(0.25 * 2**attempt, 8.0))


def _body(raw: httpx.Response) -> Any:
    if not raw.content:
        return None
    if "json" in raw.headers.get("content-type", ""):
        try:
            return raw.json()
        except ValueError:
            return raw.text
    return raw.text


class AppClients:
    """Builds installation clients from the settings; tokens are reused until near expiry."""

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
        observer: Observer | None = None,
        slots: SlotBook | None = None,
        guard: Guard | None = None,
    ):
        self._settings = settings
        self._slots = slots
        self._guard = guard
        # One connection pool (and one TLS context) for the process: githubkit opens an httpx
        # client per request outside `async with`, and a fresh transport costs ~27 ms of CPU
        # for its SSL context and a new connection to GitHub each time.
        self._transport = SharedPool(transport or httpx.AsyncHTTPTransport(retries=0))
        self._sleep = sleep
        self._observer = observer
        self._clients: dict[int, InstallationClient] = {}
        pem = settings.private_key_pem()
        if settings.app_id is None or pem is None:
            raise ValueError("APP_ID and PRIVATE_KEY (or PRIVATE_KEY_PATH) are required")
        # One token cache per process wiring (not githubkit's module-wide default), so the
        # tokens of one app never leak into another built in the same process.
        self._cache = TokenCache()
        self.credentials = Credentials(settings.app_id, self._cache)
        self._app_auth = AppAuth(settings.app_id, pem, credentials=self.credentials)
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
        auth = InstallationAuth(
            self._app_auth.app_id,
            self._app_auth.private_key,
            installation_id,
            credentials=self.credentials,
        )
        pacer = self._pacers.setdefault(
            installation_id,
            Pacer(
                self._settings.write_interval,
                sleep=self._sleep,
                slots=self._slots,
                scope=str(installation_id),
                guard=self._guard,
            ),
        )
        return InstallationClient(
            self._github(auth),
            etags=self.etags,
            scope=f"installation:{installation_id}",
            pacer=pacer,
            max_wait=self._settings.max_rate_limit_wait,
            sleep=self._sleep,
            observer=self._observer,
            credentials=self.credentials,
        )

    def now(self) -> datetime:
        """GitHub's time as this process knows it (`Credentials.now`)."""
        return self.credentials.now()

    def app(self) -> InstallationClient:
        """Requests as the App itself (JWT): /app, /app/installations, hook deliveries."""
        return InstallationClient(
            self._github(self._app_auth),
            etags=self.etags,
            scope="app",
            sleep=self._sleep,
            max_wait=self._settings.max_rate_limit_wait,
            observer=self._observer,
            credentials=self.credentials,
        )


def _explained(result: Unauthorized) -> Unauthorized:
    """A 401 that fresh credentials did not cure, saying what the operator should check."""
    return Unauthorized(
        result.method,
        result.path,
        result.status,
        result.message
        + (
            " (the App's JWT: check APP_ID, the private key and the clock)"
            if result.app_jwt
            else " (installation token refused twice: the installation may be "
            "suspended or removed; run `incident-app doctor`)"
        ),
        app_jwt=result.app_jwt,
    )
