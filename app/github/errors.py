"""What GitHub's answers mean: a reply, or one error of a small typed tree (sans I/O)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)


IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "PATCH"})


@dataclass(frozen=True)
class Reply:
    """A GitHub answer, reduced to what the app reads."""

    status: int
    data: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)


class GitHubError(Exception):
    """A GitHub answer the caller did not expect. The tree (callers catch a type, never
    compare a status number):

        GitHubError
        ├── RateLimited      403/429 with GitHub's rate-limit signs; nothing was done, any
        │                    method may be repeated after `retry_after` seconds
        ├── Unauthorized     401: the installation token (revoked, expired early) or, with
        │                    `app_jwt`, the App's own JWT (wrong key, clock skew)
        ├── NotFound         404: gone, or not visible to this installation
        ├── Refused          403 (no permission, protected), 409, other 4xx: GitHub said no
        │   └── Unprocessable   422: invalid, or it exists already
        ├── ServerError      5xx, or no answer, where nothing can have been done twice:
        │   │                a read, or a write that never reached GitHub; retried
        │   └── MaybeApplied    5xx or a timeout on a write that may have happened: never
        │                       repeated blindly; the caller re-reads GitHub and re-plans
        └── Malformed        a 2xx whose body is not what the endpoint documents

    `status` is GitHub's status (0: no answer).
    """

    def __init__(self, method: str, path: str, status: int, message: str = "") -> None:
        super().__init__(f"{method} {path} → {status} {message}".strip())
        self.method, self.path, self.status, self.message = method, path, status, message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.method!r}, {self.path!r}, {self.status})"


class RateLimited(GitHubError):
    def __init__(self, method: str, path: str, status: int, retry_after: float) -> None:
        super().__init__(method, path, status, f"rate limited for {retry_after:.0f}s")
        self.retry_after = retry_after


class Unauthorized(GitHubError):
    def __init__(
        self, method: str, path: str, status: int, message: str = "", *, app_jwt: bool = False
    ) -> None:
        super().__init__(method, path, status, message)
        self.app_jwt = app_jwt


class NotFound(GitHubError):
    pass


class Refused(GitHubError):
    pass


class Unprocessable(Refused):
    pass


class ServerError(GitHubError):
    pass


class MaybeApplied(ServerError):
    pass


class Malformed(GitHubError):
    pass


def classify(
    method: str,
    path: str,
    status: int,
    headers: Mapping[str, str],
    body: Any = None,
    *,
    ok: tuple[int, ...] = (),
    idempotent: bool | None = None,
    token_failed: bool = False,
    sent: bool = True,
    now: float | None = None,
) -> Reply | GitHubError:
    """What one answer means — sans I/O (gidgethub's lesson), so it is table-tested.

    `status` 0 is no answer at all: a timeout (`sent`) or a connection that failed before
    the request left (`sent=False`). `token_failed`: the installation token request failed
    first, so the request itself never reached GitHub. `now` (epoch seconds) turns an
    `x-ratelimit-reset` into a wait.
    """
    safe = method in IDEMPOTENT if idempotent is None else idempotent
    message = _message_of(body)
    if status == 0:
        if safe or token_failed or not sent:
            return ServerError(method, path, 0, message or "no answer")
        return MaybeApplied(method, path, 0, message or "no answer (timeout)")
    if status in ok and not token_failed:
        return Reply(status, body, dict(headers))
    if 200 <= status < 400:
        return Reply(status, body, dict(headers))
    lower = {k.lower(): v for k, v in headers.items()}
    if status in (403, 429):
        if "retry-after" in lower:  # a secondary rate limit
            return RateLimited(method, path, status, _seconds(lower["retry-after"], 60.0))
        if lower.get("x-ratelimit-remaining") == "0":  # the primary limit is spent
            reset = _seconds(lower.get("x-ratelimit-reset", ""), 0.0)
            wait = reset - now if now is not None and reset else 60.0
            return RateLimited(method, path, status, max(wait, 0.0))
        if status == 429 or "secondary rate limit" in message.lower():
            return RateLimited(method, path, status, 60.0)
    if status == 401:
        # The token request is made with the App's JWT: its 401 is the JWT's.
        app_jwt = token_failed or path.startswith("/app") or path.endswith("/access_tokens")
        return Unauthorized(method, path, status, message, app_jwt=app_jwt)
    if status >= 500:
        if safe or token_failed:
            return ServerError(method, path, status, message)
        return MaybeApplied(method, path, status, message)
    if token_failed:  # the token request was refused: the request itself was never made
        return Refused(method, path, status, f"installation token: {message}".strip())
    if status == 404:
        return NotFound(method, path, status, message)
    if status == 422:
        return Unprocessable(method, path, status, message)
    return Refused(method, path, status, message)


def _seconds(value: str, default: float) -> float:
    try:
        return max(float(value), 0.0)
    except ValueError:
        return default


def _message_of(body: Any) -> str:
    if isinstance(body, dict):
        return str(body.get("message", ""))[:200]
    return ""
