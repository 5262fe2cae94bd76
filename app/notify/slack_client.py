"""slack-sdk's blocking clients in a thread pool of our own, their errors turned into ours.

slack-sdk's async client needs aiohttp, a second HTTP stack beside httpx; its sync client
needs nothing more, so it runs here in a small thread pool of our own, one request per call
with the SDK's own retries off: the retries are ours (`Attempts`).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import urllib.error
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from http.client import HTTPException
from typing import TypeVar

from slack_sdk.errors import SlackApiError

from app.notify.attempts import Permanent, SendError, Transient

T = TypeVar("T")

# slack-sdk logs each request at DEBUG, an incoming webhook's URL (a secret) among them.
SDK_LOG = logging.getLogger("app.notify.slack.sdk")
SDK_LOG.setLevel(logging.INFO)

# Slack's `error` codes that say "try again later".
_TRANSIENT = {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "timeout"}


def _failure(exc: BaseException, what: str) -> SendError:
    """A slack-sdk or urllib error as ours: transient or a refusal with Slack's code."""
    if isinstance(exc, SlackApiError):
        status = exc.response.status_code
        data = exc.response.data
        error = str(data.get("error", "")) if isinstance(data, dict) else ""
        if status == 429 or error == "ratelimited":
            after = exc.response.headers.get("retry-after") or exc.response.headers.get(
                "Retry-After"
            )
            retry = float(after) if isinstance(after, str) and after.isdigit() else None
            return Transient(f"Slack {what}: rate limited", retry)
        if status >= 500 or error in _TRANSIENT:
            return Transient(f"Slack {what}: {error or status}")
        return Permanent(f"Slack {what}: {error or status}", error)
    if isinstance(exc, TimeoutError | socket.timeout):
        return Transient(f"Slack {what}: no answer in time")
    # urllib's errors name the reason, never the URL (an incoming webhook's is a secret).
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else type(exc).__name__
    return Transient(f"Slack {what}: unreachable ({reason})")


class Threads:
    """Runs the SDK's blocking calls in our thread pool, its errors turned into ours."""

    def __init__(self, pool: ThreadPoolExecutor) -> None:
        self._pool = pool

    async def run(self, what: str, call: Callable[[], T]) -> T:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool, call)
        except (SlackApiError, OSError, HTTPException) as exc:
            raise _failure(exc, what) from None
