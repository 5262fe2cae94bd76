"""The door for monitoring: POST /alerts/{alertmanager,grafana,generic}/{owner}/{repo}.

Served only when ALERTS_TOKEN is set. The token comes as `Authorization: Bearer <token>` or
as the password of HTTP basic auth (Alertmanager's `http_config` sends either), compared in
constant time before the body is read. A notification is read and checked here, the
repository's installation looked up (cached), and the answer given; the GitHub work runs
behind it (app/runtime/alerts.py), as for webhooks (docs/behaviour.md §9).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import json
import logging
import re
from collections.abc import Callable

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.core import alerts
from app.core.policy import CONFIG_PATH, AlertsPolicy
from app.github.errors import GitHubError
from app.runtime.alerts import AlertWork, Installations, Target

log = logging.getLogger(__name__)

MAX_BODY = 4 * 1024 * 1024  # 1,000 alerts with long annotations fit
BODY_SECONDS = 10.0
LOOKUP_SECONDS = 0.8  # the answer stays within a webhook's second
# GitHub's name rules, whole: `\Z`, since `$` would let a trailing newline through.
_NAME = re.compile(r"[A-Za-z0-9_.-]{1,100}\Z")
_OWNER = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,38}\Z")
CHALLENGE = 'Bearer realm="incident-app alerts", Basic realm="incident-app alerts"'


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def valid_owner(owner: str) -> bool:
    """A user or organisation name GitHub could have."""
    return bool(_OWNER.match(owner))


def valid_name(owner: str, repo: str) -> bool:
    """An owner and repository name GitHub could have: `.` and `..` are path steps, not names."""
    return valid_owner(owner) and bool(_NAME.match(repo)) and repo not in (".", "..")


def token_ok(header: str, token: str, owner: str = "") -> bool:
    """`Bearer <token>`, or `Basic <base64(user:token)>` with any user name; the token is
    ALERTS_TOKEN (any owner) or `owner`'s own (`core.alerts.owner_token`), both compared in
    constant time."""
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
        value = decoded.partition(":")[2]
    elif scheme.lower() != "bearer":
        return False
    sent = value.encode("utf-8", "replace")
    operator = hmac.compare_digest(sent, token.encode())
    own = hmac.compare_digest(sent, alerts.owner_token(token, owner).encode())
    return operator | own


async def _body(request: Request) -> bytes:
    """The body, refused past MAX_BODY (ValueError) or BODY_SECONDS (TimeoutError)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise ValueError("too large")
    chunks: list[bytes] = []
    size = 0

    async def read() -> None:
        nonlocal size
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_BODY:
                raise ValueError("too large")
            chunks.append(chunk)

    await asyncio.wait_for(read(), BODY_SECONDS)
    return b"".join(chunks)


async def _policy(work: AlertWork, target: Target) -> AlertsPolicy:
    """The repository's alert policy within LOOKUP_SECONDS. A read that takes longer goes on
    behind the 503, so the config is cached when the source retries."""
    task = asyncio.ensure_future(work.policy(target))
    task.add_done_callback(lambda t: t.cancelled() or t.exception())
    return await asyncio.wait_for(asyncio.shield(task), LOOKUP_SECONDS)


def alert_routes(
    *,
    token: str,
    work: AlertWork | None,
    installations: Installations | None,
    refused: Callable[[str, str], None] | None = None,
) -> list[Route]:
    """The route, or nothing when no token is set (the endpoints then do not exist)."""
    if not token:
        return []

    async def receive(request: Request) -> Response:
        answer = await _receive(request, token=token, work=work, installations=installations)
        if answer.status_code != 202 and refused is not None:
            source = str(request.path_params["source"])
            refused(source if source in alerts.SOURCES else "unknown", str(answer.status_code))
        return answer

    return [Route("/alerts/{source}/{owner}/{repo}", receive, methods=["POST"])]


async def _receive(
    request: Request,
    *,
    token: str,
    work: AlertWork | None,
    installations: Installations | None,
) -> Response:
    """The answer to one notification; queues the work it asks for."""
    source = str(request.path_params["source"])
    owner, repo = str(request.path_params["owner"]), str(request.path_params["repo"])
    refusal = _refusal(request, token, source, owner, repo)
    if refusal is not None:
        return refusal
    group = await _group(request, source)
    if isinstance(group, Response):
        return group
    if work is None or installations is None:
        return _error(503, "no GitHub App credentials: alerts cannot open issues")
    target = await _target(installations, owner, repo)
    if isinstance(target, Response):
        return target
    refusal = await _disabled(work, target)
    if refusal is not None:
        return refusal
    if not work.submit(target, group):
        return _error(503, "shutting down; retry", {"Retry-After": "5"})
    return JSONResponse(
        {
            "accepted": True,
            "group": group.group,
            "status": group.status,
            "firing": len(group.firing),
        },
        status_code=202,
    )


def _refusal(request: Request, token: str, source: str, owner: str, repo: str) -> Response | None:
    """The answer refusing a request before its body is read: credentials, source, name."""
    if not token_ok(request.headers.get("authorization", ""), token, owner):
        return _error(
            401,
            "missing or wrong credentials: send Authorization: Bearer $ALERTS_TOKEN, or "
            "the owner's token (`incident-app alert-token OWNER`), or basic auth with "
            "either as the password",
            {"WWW-Authenticate": CHALLENGE},
        )
    if source not in alerts.SOURCES:
        return _error(404, f"no alert source {source[:40]!r}: use alertmanager, grafana or generic")
    if not valid_name(owner, repo):
        return _error(400, "owner/repo is not a GitHub repository name")
    return None


async def _group(request: Request, source: str) -> alerts.AlertGroup | Response:
    """The notification read from the body, or the answer saying why it cannot be."""
    try:
        raw = await _body(request)
    except ValueError:
        return _error(413, f"body larger than {MAX_BODY // (1024 * 1024)} MB")
    except (TimeoutError, ClientDisconnect):
        return _error(408, f"body not received within {BODY_SECONDS:.0f} s")
    try:
        data = json.loads(raw)
    except ValueError as exc:
        return _error(400, f"body is not JSON: {exc}")
    except RecursionError:
        return _error(400, "body is nested too deeply")
    try:
        return alerts.parse(source, data)
    except alerts.BadPayload as exc:
        return _error(400, f"not a {alerts.SOURCE_NAMES[source]} notification: {exc}")


async def _target(installations: Installations, owner: str, repo: str) -> Target | Response:
    """The repository with the installation covering it, or the answer saying why not."""
    try:
        installation = await asyncio.wait_for(installations.find(owner, repo), LOOKUP_SECONDS)
    except (TimeoutError, GitHubError) as exc:
        log.warning("installation lookup for %s/%s failed: %s", owner, repo, exc)
        return _error(503, "GitHub did not answer in time; retry", {"Retry-After": "10"})
    if installation is None:
        return _error(
            404,
            f"the app is not installed on {owner}/{repo} (or cannot see it): install it "
            "there, then send alerts again",
        )
    return Target(installation, owner, repo)


async def _disabled(work: AlertWork, target: Target) -> Response | None:
    """The answer when the repository's config cannot be read in time or turns alerts off."""
    owner, repo = target.owner, target.repo
    try:
        policy = await _policy(work, target)
    except (TimeoutError, GitHubError) as exc:
        log.warning("config lookup for %s/%s failed: %s", owner, repo, exc)
        return _error(503, "GitHub did not answer in time; retry", {"Retry-After": "10"})
    if not policy.enabled:
        return _error(
            403,
            f"alerts are off for {owner}/{repo}: add `alerts: {{enabled: true}}` to "
            f"{CONFIG_PATH} in {owner}/{repo} (or in {owner}/.github for every repository "
            "of the owner), then send again",
        )
    return None
