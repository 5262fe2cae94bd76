"""The App's credentials: its JWT dated by GitHub's clock, installation tokens cached per
process and renewed after a 401, and one connection pool shared by every client."""

from __future__ import annotations

import contextlib
import email.utils
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt as pyjwt
from githubkit import AppAuthStrategy, AppInstallationAuthStrategy
from githubkit.cache import MemCacheStrategy

from app.github.errors import (
    Unauthorized,
)

log = logging.getLogger(__name__)

# A `Date` header this far from our clock (beyond its truncated second) is skew.
SKEW_TOLERANCE = timedelta(seconds=2)


class SharedPool(httpx.AsyncBaseTransport):
    """A transport many short-lived httpx clients use; closing one of them leaves it open."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        """The process owns the pool; a client closing after its request does not."""


class TokenCache(MemCacheStrategy):
    """githubkit's in-memory token cache, which can also forget a token GitHub refused."""

    def forget(self, prefix: str) -> None:
        store = self.get_cache_storage()
        for key in [k for k in store._cache if k.startswith(prefix)]:
            store._cache.pop(key, None)


class Credentials:
    """The App's tokens: forgotten and minted anew when GitHub answers 401, and JWTs dated
    by GitHub's clock once a 401 shows ours is off (octokit's auth-app does both)."""

    def __init__(self, app_id: int, cache: TokenCache) -> None:
        self._app_id = app_id
        self.cache = cache
        self.skew = timedelta(0)  # GitHub's clock minus ours
        self._date: str | None = None

    def saw_date(self, value: str | None) -> None:
        self._date = value

    def observe(self, value: str | None, received: datetime | None = None) -> None:
        """Learn GitHub's clock from any answer's `Date` header. The header counts whole
        seconds, so only a difference of more than `SKEW_TOLERANCE` moves the offset (a
        truncated second is no skew); the JWT and `now` both follow it."""
        if not value:
            return
        try:
            github_now = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return
        if github_now.tzinfo is None:
            return
        # The header names the second the answer was dated in: mid-second on average.
        offset = github_now + timedelta(milliseconds=500) - (received or datetime.now(UTC))
        if abs(offset - self.skew) > SKEW_TOLERANCE:
            self.skew = offset

    def now(self) -> datetime:
        """GitHub's time: the local clock corrected by what GitHub's `Date` said."""
        return datetime.now(UTC) + self.skew

    def renew(self, error: Unauthorized, scope: str) -> None:
        """Forget what GitHub refused; learn its clock from the 401's `Date` header."""
        base = f"githubkit:auth:app:{self._app_id}:"
        if error.app_jwt or scope == "app":
            if self._date:
                with contextlib.suppress(TypeError, ValueError):
                    github_now = email.utils.parsedate_to_datetime(self._date)
                    self.skew = github_now - datetime.now(UTC)
            self.cache.forget(base + "jwt")
        if scope.startswith("installation:"):
            self.cache.forget(f"{base}installation:{scope.removeprefix('installation:')}:")

    def jwt(self, private_key: str) -> str:
        """A JWT as githubkit makes it, but issued by GitHub's clock."""
        issued = datetime.now(UTC) + self.skew - timedelta(minutes=1)
        return pyjwt.encode(
            {"iss": str(self._app_id), "iat": issued, "exp": issued + timedelta(minutes=10)},
            private_key,
            algorithm="RS256",
        )


def skew_aware(flow: httpx.Auth, credentials: Credentials, private_key: str) -> httpx.Auth:
    # githubkit dates its JWTs by the local clock; ours follow what GitHub's `Date` said.
    flow._create_jwt = lambda: credentials.jwt(private_key)  # type: ignore[attr-defined]
    return flow


@dataclass
class AppAuth(AppAuthStrategy):
    credentials: Credentials | None = None

    def get_auth_flow(self, github: Any) -> httpx.Auth:
        flow = super().get_auth_flow(github)
        assert self.credentials is not None
        return skew_aware(flow, self.credentials, self.private_key)


@dataclass
class InstallationAuth(AppInstallationAuthStrategy):
    credentials: Credentials | None = None

    def get_auth_flow(self, github: Any) -> httpx.Auth:
        flow = super().get_auth_flow(github)
        assert self.credentials is not None
        return skew_aware(flow, self.credentials, self.private_key)
