"""`Notifications`: events to the operator's notifiers, in the background, each once.

`submit` returns at once and never raises: the GitHub work that made an event never waits
for Slack or PagerDuty, nor fails with them. The sends of one incident to one notifier run
in order (a channel is created by the first, used by the next); a ledger lets each event
reach each notifier at most once, across replicas with `SharedLedger(cluster.once)`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from app.core.notify import Event, Kind
from app.notify.attempts import Attempts, Notifier, Result, SendError, Sleep
from app.notify.ledger import Ledger, MemoryLedger
from app.notify.mail import Email
from app.notify.operator import (
    EmailNotifier,
    OperatorFile,
    PagerDutyNotifier,
    SlackNotifier,
    StatuspageNotifier,
    WebhookNotifier,
    load,
)
from app.notify.pagerduty import PagerDuty
from app.notify.slack import SlackApp, SlackWebhook
from app.notify.statuspage import Statuspage
from app.notify.webhook import Webhook
from app.settings import Settings

log = logging.getLogger(__name__)

LEDGER_SECONDS = 3 * 86400.0  # GitHub redelivers for three days
RECENT_FAILURES = 50
OnResult = Callable[[str, str, Result], None]


class HideNotifierUrls(logging.Filter):
    """For httpx's logger, which logs every request's URL at INFO: a notifier's URL (a Slack
    or Teams-style hook carries its key in it) is logged as its origin and `/[redacted]`, and
    any other secret of the operator's file as `[redacted]`, for every handler (a test's
    capture too), whatever the command's own log filter knows."""

    def __init__(self) -> None:
        super().__init__()
        self._users: Counter[tuple[str, str]] = Counter()  # (text, shown as) → users
        # What `filter` reads: replaced whole, never changed, so a log call on another
        # thread never sees it half-updated. Longest first: a secret inside a URL leaves
        # nothing of the URL behind.
        self._pairs: tuple[tuple[str, str], ...] = ()

    def hide(self, urls: Sequence[str], secrets: Sequence[str]) -> list[tuple[str, str]]:
        """Start hiding; what to pass to `show` when done."""
        pairs: list[tuple[str, str]] = []
        for url in urls:
            parsed = httpx.URL(url)
            origin = f"{parsed.scheme}://{parsed.netloc.decode('ascii')}/[redacted]"
            pairs += [(url, origin), (str(parsed), origin)]
        pairs += [(secret, "[redacted]") for secret in secrets if secret]
        pairs = list(dict.fromkeys(pairs))
        self._users.update(pairs)
        self._publish()
        return pairs

    def show(self, pairs: Sequence[tuple[str, str]]) -> None:
        """Stop hiding what `hide` returned (others may still hide the same)."""
        self._users.subtract(pairs)
        self._users = +self._users
        self._publish()

    def _publish(self) -> None:
        self._pairs = tuple(sorted(self._users, key=lambda p: len(p[0]), reverse=True))

    def filter(self, record: logging.LogRecord) -> bool:
        pairs = self._pairs
        if not pairs:
            return True
        message = record.getMessage()
        scrubbed = message
        for text, shown in pairs:
            if text in scrubbed:
                scrubbed = scrubbed.replace(text, shown)
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        return True


HIDE_NOTIFIER_URLS = HideNotifierUrls()


def build(
    config: SlackNotifier
    | PagerDutyNotifier
    | WebhookNotifier
    | StatuspageNotifier
    | EmailNotifier,
    *,
    operator: OperatorFile,
    http: httpx.AsyncClient,
    pool: ThreadPoolExecutor,
    slack_api_url: str,
    pagerduty_events_url: str,
    timeout: float,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Notifier:
    """The adapter for one notifier of the file."""
    if isinstance(config, PagerDutyNotifier):
        return PagerDuty(config, http=http, events_url=pagerduty_events_url)
    if isinstance(config, WebhookNotifier):
        return Webhook(config, http=http, clock=clock)
    if isinstance(config, StatuspageNotifier):
        return Statuspage(config, http=http)
    if isinstance(config, EmailNotifier):
        return Email(config, pool=pool, timeout=timeout)
    if config.bot_token is not None:
        return SlackApp(
            config,
            people=operator.people_for({}),
            api_url=slack_api_url,
            timeout=timeout,
            pool=pool,
        )
    return SlackWebhook(config, timeout=timeout, pool=pool)


class Notifications:
    """The operator's notifiers, fed events by the reconciler (`app.core.notify.Sink`)."""

    def __init__(
        self,
        operator: OperatorFile,
        *,
        slack_api_url: str = "https://slack.com/api/",
        pagerduty_events_url: str = "https://events.pagerduty.com",
        ledger: Ledger | None = None,
        on_result: OnResult | None = None,
        sleep: Sleep = asyncio.sleep,
        attempts: int = 4,
        timeout: float = 10.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.operator = operator
        self._ledger = ledger or MemoryLedger()
        self._on_result = on_result
        self._sleep = sleep
        self._attempts = attempts
        self._clock = clock
        self._secrets = sorted(operator.secrets(), key=len, reverse=True)
        # httpx logs each request's URL at INFO, a webhook's secret with it: hidden for
        # every handler (`logging.getLogger` filters run before any handler's).
        logging.getLogger("httpx").addFilter(HIDE_NOTIFIER_URLS)
        self._hiding = HIDE_NOTIFIER_URLS.hide(operator.urls(), self._secrets)
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            follow_redirects=False,
            headers={"User-Agent": "incident-app"},
        )
        # Slack's SDK calls block: a few threads of their own, so a hanging Slack holds
        # these and nothing else of the process.
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="slack")
        self._notifiers: dict[str, Notifier] = {
            name: build(
                config,
                operator=operator,
                http=self._http,
                pool=self._pool,
                slack_api_url=slack_api_url,
                pagerduty_events_url=pagerduty_events_url,
                timeout=timeout,
                clock=clock,
            )
            for name, config in operator.notifiers.items()
        }
        self._tasks: set[asyncio.Task[None]] = set()
        self._locks: dict[tuple[str, str], tuple[asyncio.Lock, int]] = {}
        self._counts: Counter[str] = Counter()
        self._failures: deque[dict[str, str]] = deque(maxlen=RECENT_FAILURES)

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        ledger: Ledger | None = None,
        on_result: OnResult | None = None,
        **options: Any,
    ) -> Notifications | None:
        """The notifiers of NOTIFIERS_FILE; None when it is unset. Raises OperatorError
        (every problem, located) when the file is unusable."""
        if settings.notifiers_file is None:
            return None
        return cls(
            load(settings.notifiers_file, env=settings.environment()),
            slack_api_url=settings.slack_api_url,
            pagerduty_events_url=settings.pagerduty_events_url,
            ledger=ledger,
            on_result=on_result,
            **options,
        )

    def names(self) -> frozenset[str]:
        """The notifier names repositories may use in `notify:`."""
        return self.operator.names()

    def secrets(self) -> list[str]:
        """The file's secret values, for the log scrubber."""
        return list(self._secrets)

    def submit(self, event: Event, to: Sequence[str]) -> None:
        """Send `event` to the notifiers named `to`, in the background; never raises."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            log.error("notify: %s not sent: no event loop running", event.key)
            return
        for name in dict.fromkeys(to):
            try:
                notifier = self._notifiers.get(name)
                if notifier is None:
                    log.warning("notify: no notifier named %r: %s not sent to it", name, event.key)
                    self._result(name, event, "skipped")
                    continue
                if not (event.public if notifier.public else event.kind is not Kind.PUBLIC):
                    # Customers never read internal events, nor internal places public ones.
                    self._misrouted(name, notifier, event)
                    continue
                if not notifier.wants(event):
                    self._result(name, event, "skipped")
                    continue
                task = loop.create_task(self._send(name, notifier, event))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            except Exception:  # never into the GitHub work
                log.exception("notify: %s to %s not scheduled", event.key, name)

    def _misrouted(self, name: str, notifier: Notifier, event: Event) -> None:
        if notifier.public:
            log.warning(
                "notify: %s is for customers: only public updates go to it (route it with "
                "`public: true`); %s not sent to it",
                name,
                event.key,
            )
        else:
            log.warning(
                "notify: %s is not for customers (%s): the public update %s not sent to it",
                name,
                notifier.kind,
                event.key,
            )
        self._result(name, event, "skipped")

    async def _send(self, name: str, notifier: Notifier, event: Event) -> None:
        try:
            async with self._in_order(name, event.incident):
                if not await self._ledger.first(f"notify:{name}:{event.key}", LEDGER_SECONDS):
                    log.debug("notify: %s already sent to %s", event.key, name)
                    self._result(name, event, "skipped")
                    return
                await notifier.send(event, self._tries(name, event))
        except SendError as exc:
            self._failed(name, event, exc.reason)
        except asyncio.CancelledError:
            self._failed(name, event, "cancelled: the process stopped")
            raise
        except Exception as exc:  # a bug of ours: logged, never raised into the caller
            log.exception("notify: %s to %s", event.key, name)
            self._failed(name, event, f"unexpected {type(exc).__name__}")
        else:
            log.info("notify: %s sent to %s", event.key, name)
            self._result(name, event, "sent")

    def _tries(self, name: str, event: Event) -> Attempts:
        def retried(reason: str) -> None:
            log.info("notify: %s to %s: %s; trying again", event.key, name, self._scrub(reason))
            self._result(name, event, "retried")

        return Attempts(attempts=self._attempts, sleep=self._sleep, on_retry=retried)

    @contextlib.asynccontextmanager
    async def _in_order(self, name: str, incident: str) -> AsyncIterator[None]:
        """One send at a time per notifier and incident, in the order submitted."""
        key = (name, incident)
        lock, users = self._locks.get(key) or (asyncio.Lock(), 0)
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text[:300]

    def _failed(self, name: str, event: Event, reason: str) -> None:
        reason = self._scrub(reason)
        log.warning("notify: %s to %s failed: %s", event.key, name, reason)
        self._failures.append(
            {
                "at": self._clock().astimezone(UTC).isoformat(timespec="seconds"),
                "notifier": name,
                "event": event.key,
                "reason": reason,
            }
        )
        self._result(name, event, "failed")

    def _result(self, name: str, event: Event, result: Result) -> None:
        self._counts[result] += 1
        if self._on_result is not None:
            try:
                self._on_result(name, event.kind.value, result)
            except Exception:
                log.exception("notify: the on_result callback failed")

    async def drain(self) -> None:
        """Wait until every send submitted so far (and any they started) is done."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def sweep(self, now: datetime) -> dict[str, list[str]]:
        """Slack: archive the incident channels resolved longer ago than `archive_after`.
        What each notifier did; a notifier's failure is logged and stops nothing else."""
        done: dict[str, list[str]] = {}
        for name, notifier in self._notifiers.items():
            try:
                found = await notifier.sweep(now, Attempts(attempts=2, sleep=self._sleep))
            except SendError as exc:
                log.warning("notify: sweeping %s failed: %s", name, self._scrub(exc.reason))
                continue
            except Exception:
                log.exception("notify: sweeping %s", name)
                continue
            if found:
                log.info("notify: %s archived %s", name, ", ".join(found))
                done[name] = found
        return done

    def archive_after(self) -> timedelta | None:
        """The soonest a notifier tidies up after the all-clear (Slack's `archive_after`):
        when an incident's wake-up is due for `sweep`."""
        spans = [
            found
            for n in self._notifiers.values()
            if isinstance(
                found := getattr(getattr(n, "config", None), "archive_after", None), timedelta
            )
        ]
        return min(spans, default=None)

    def status(self) -> dict[str, Any]:
        """For the status page: the notifiers (names and kinds), counts, recent failures."""
        return {
            "notifiers": {name: n.kind for name, n in sorted(self._notifiers.items())},
            "in_flight": len(self._tasks),
            "counts": {r: self._counts[r] for r in ("sent", "failed", "retried", "skipped")},
            "recent_failures": list(self._failures),
        }

    async def aclose(self) -> None:
        """Stop what is still being sent (each one is recorded failed) and let go."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)
        await self._http.aclose()
        HIDE_NOTIFIER_URLS.show(self._hiding)
        self._hiding = []
        # A thread stuck in a request ends with its timeout; nobody waits for it.
        self._pool.shutdown(wait=False, cancel_futures=True)
