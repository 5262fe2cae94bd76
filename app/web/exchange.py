"""The manifest flow's round trip: the `state` bound to one browser, and the code GitHub
hands back exchanged for the App's credentials as .env values."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from app.github.port import API_VERSION, USER_AGENT
from app.settings import Settings
from app.web.envfile import quote_value

log = logging.getLogger(__name__)

MAX_STATES = 256  # what the old store of issued states held; no store is left to flood
STATE_TTL = 3600  # seconds: GitHub's manifest code itself lives an hour

# What the conversion answer holds → the setting it becomes in .env.
CREDENTIALS = {
    "id": "APP_ID",
    "pem": "PRIVATE_KEY",
    "webhook_secret": "WEBHOOK_SECRET",
    "client_id": "GITHUB_CLIENT_ID",
    "client_secret": "GITHUB_CLIENT_SECRET",
}


class States:
    """The `state` of the manifest round trip, bound to the browser that asked for it.

    Nothing is stored per page load: the browser gets a cookie `<issued>.<nonce>` and GitHub
    carries `state` = HMAC(this process's key, cookie) there and back. A state is good once,
    for an hour, with its own cookie; the nonces used are remembered until they would have
    expired anyway, so no one can push them out.
    """

    def __init__(self, *, ttl: int = STATE_TTL) -> None:
        self._ttl = ttl
        self._key = secrets.token_bytes(32)
        self._used: dict[str, int] = {}  # nonce → when its cookie expires, in use order

    def _sign(self, cookie: str) -> str:
        mac = hmac.new(self._key, cookie.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()

    def issue(self, now: int) -> tuple[str, str]:
        """A fresh (state, cookie) pair."""
        cookie = f"{now}.{secrets.token_urlsafe(24)}"
        return self._sign(cookie), cookie

    def take(self, state: str | None, cookie: str | None, now: int) -> str | None:
        """None, once, for a state this process issued with this cookie; else why not."""
        if not state or not cookie:
            return "the link or this browser's setup cookie is missing"
        if not hmac.compare_digest(self._sign(cookie), state):
            return (
                "it was not issued to this browser, or this browser opened a newer setup "
                "page since, or the server restarted"
            )
        issued, _, nonce = cookie.partition(".")
        expires = int(issued) + self._ttl if issued.isdigit() else 0
        if expires <= now:
            return "it expired (a setup link works for an hour)"
        while self._used:
            oldest = next(iter(self._used))
            if self._used[oldest] > now:
                break
            del self._used[oldest]
        if nonce in self._used:
            return "it was already used"
        self._used[nonce] = expires
        return None

    def drop_all(self) -> None:
        """No state issued so far is good any more."""
        self._key = secrets.token_bytes(32)
        self._used.clear()


def env_values(app: Mapping[str, Any]) -> dict[str, str]:
    """The .env lines of a conversion answer; raises KeyError when one is missing."""
    values = {}
    for field, key in CREDENTIALS.items():
        raw = app[field]
        if raw is None or raw == "":
            raise KeyError(field)
        values[key] = str(raw) if key == "APP_ID" else quote_value(str(raw))
    return values


class ExchangeFailed(Exception):
    """The code bought no credentials: `status` and the message for the page."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


async def exchange(
    code: str, settings: Settings, *, transport: httpx.AsyncBaseTransport | None
) -> tuple[Any, dict[str, str]]:
    """GitHub's answer to the code (the App, with its credentials) and the .env values
    it makes; `ExchangeFailed` saying why there are none."""
    api = settings.github_api_url
    try:
        async with httpx.AsyncClient(
            timeout=httpx.Timeout(settings.http_timeout, connect=5.0),
            transport=transport,
        ) as client:
            reply = await client.post(
                f"{api}/app-manifests/{quote(code, safe='')}/conversions",
                headers={
                    "Accept": "application/vnd.github+json",
                    "X-GitHub-Api-Version": API_VERSION,
                    "User-Agent": USER_AGENT,
                },
            )
    except httpx.HTTPError as exc:
        log.warning("setup: no answer from %s: %s", api, type(exc).__name__)
        raise ExchangeFailed(
            502, f"No answer from GitHub at {api} ({type(exc).__name__})."
        ) from None
    if reply.status_code not in (200, 201):
        log.warning("setup: GitHub answered %s to the code exchange", reply.status_code)
        raise ExchangeFailed(
            502,
            f"GitHub refused the code ({reply.status_code}): a code works once, within an hour.",
        )
    try:
        data = reply.json()
        values = env_values(data)
    except (ValueError, KeyError, TypeError):
        raise ExchangeFailed(502, "GitHub's answer lacks the App's credentials.") from None
    return data, values
