"""How a notifier's request fails (`Transient`, `Permanent`) and is tried again (`Attempts`).

SendError            a notification was not delivered; `reason` never holds a secret
├── Transient        no answer, a timeout, 429 or 5xx: worth another attempt
│                    (after `retry_after` seconds when the service said so)
└── Permanent        the service said no (400, a bad token, an unknown channel): never
                     repeated
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol, TypeVar

from app.core.notify import Event

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]
Result = Literal["sent", "failed", "retried", "skipped"]

LONGEST_WAIT = 60.0  # a Retry-After longer than this is a failure, not a wait


class SendError(Exception):
    """A notification that was not delivered."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Transient(SendError):
    """Worth another attempt."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class Permanent(SendError):
    """The service refused; `error` is its own code for it when it gave one."""

    def __init__(self, reason: str, error: str = "") -> None:
        super().__init__(reason)
        self.error = error


def backoff(attempt: int) -> float:
    """Exponential backoff with full jitter: up to 1 s, 2 s, 4 s, … capped at 8 s."""
    return random.uniform(0.1, min(0.5 * 2**attempt, 8.0))


@dataclass
class Attempts:
    """Runs one request up to `attempts` times while it fails transiently."""

    attempts: int = 4
    sleep: Sleep = asyncio.sleep
    on_retry: Callable[[str], None] = field(default=lambda _reason: None)

    async def run(self, call: Callable[[], Awaitable[T]]) -> T:
        attempt = 0
        while True:
            attempt += 1
            try:
                return await call()
            except Transient as exc:
                wait = exc.retry_after if exc.retry_after is not None else backoff(attempt)
                if attempt >= self.attempts or wait > LONGEST_WAIT:
                    raise
                self.on_retry(exc.reason)
                await self.sleep(wait)


class Notifier(Protocol):
    """One of the operator's notifiers: the executor's shape, an event in, sent or raised."""

    kind: str
    # A customers' notifier (statuspage, email): public events only, and no internal one ever.
    public: bool

    def wants(self, event: Event) -> bool:
        """Whether this kind of notifier says anything about `event`."""
        ...

    async def send(self, event: Event, attempts: Attempts) -> None:
        """Deliver `event`; raise SendError when it was not delivered."""
        ...

    async def sweep(self, now: datetime, attempts: Attempts) -> list[str]:
        """Tidy up what the incidents left behind (Slack: archive channels); what was done."""
        ...
