"""The app's own clock: after every run of an issue its next wake-up is set (core's
`next_due`); a loop hands the wake-ups due to the issue queue, and sweeps now and then.

Due times are judged by `now` — GitHub's time in production (the local clock corrected by
GitHub's `Date` header) — checked every `check_every` seconds, so a process that was
suspended catches up at its next check. A wake-up is only a reason to reconcile: the plan
decides from GitHub's record, so a stale, early or doubled one posts nothing, and the run
sets the next one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime, timedelta

from app.core import runbook
from app.core.keys import Hints, IssueKey
from app.core.policy import Policy
from app.core.snapshot import Repo, Snapshot
from app.github.errors import GitHubError, NotFound
from app.github.port import GitHubPort
from app.notify.dispatch import Notifications
from app.runtime.cluster import TAKEN_OVER, Busy, Cluster
from app.runtime.daily import SharedChecked
from app.runtime.reconcile import Reconciler, RunReport
from app.runtime.shares import Shares
from app.runtime.tick import Ticker
from app.runtime.wakeups import Kind, LocalWakeups, SharedWakeups, Wake
from app.runtime.work import IssueQueue

log = logging.getLogger(__name__)

CHECK_SECONDS = 5.0  # the issue promises a check at least every 10 s
RETRY = timedelta(seconds=60)  # a run that failed or was cut short is tried again then
SWEEP_EVERY = timedelta(hours=1)  # the app's own sweep: missed webhooks, new reviews

Sweep = Callable[[], Awaitable[object]]
Once = Callable[[str, float], Awaitable[bool]]


class Timing:
    """Wake-ups set after each run, and the loop that fires them."""

    def __init__(
        self,
        *,
        wakeups: LocalWakeups,
        queue: IssueQueue,
        reconciler: Reconciler,
        clients: Callable[[int], GitHubPort],
        now: Callable[[], datetime],
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        sweep: Sweep | None = None,
        once: Once | None = None,
        archive_after: timedelta | None = None,
        tidy: Callable[[datetime], Awaitable[object]] | None = None,
        check_every: float = CHECK_SECONDS,
        sweep_every: timedelta | None = SWEEP_EVERY,
        heal_after: float = 30.0,
    ) -> None:
        self.wakeups = wakeups
        self._queue = queue
        self._reconciler = reconciler
        self._clients = clients
        self._now = now
        self._sleep = sleep
        self._sweep = sweep
        self._once = once
        self._archive_after = archive_after
        self._tidy = tidy
        self.check_every = check_every
        self._sweep_every = sweep_every
        self._last_sweep: datetime | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.Task[None] | None = None
        self.fired = 0
        self.helped = 0  # installations of other replicas' sweeps swept here
        self._ticker: Ticker | None = None
        self._helping = False
        self._sweeping: asyncio.Task[None] | None = None
        self._heal = timedelta(seconds=heal_after)
        reconciler.before = self.begin
        reconciler.after = self.settle

    async def begin(self, key: IssueKey) -> None:
        """A run begins: should this process die in it (holding the issue's lock), a
        wake-up `heal_after` on (the lock's expiry) lets another replica pick it up."""
        if key.number:
            await self.wakeups.put(Wake("incident", key), self._now() + self._heal)

    # --- after a run ---

    async def settle(self, report: RunReport) -> None:
        """Set the issue's next wake-up from what the run read (or drop it)."""
        key = report.key
        if key.number == 0:
            return
        kind: Kind = "reminder" if report.seen is not None and not report.incident else "incident"
        wake = Wake(kind, key)
        if report.error and TAKEN_OVER in report.error:
            return  # the replica that took the lock over sets it
        if report.error or report.capped or report.deferred:
            await self.wakeups.put(wake, self._now() + RETRY)
            return
        if report.seen is None:
            await self.wakeups.drop(wake)  # no incident (any more)
            return
        at = self._next(kind, *report.seen)
        if at is None:
            await self.wakeups.drop(wake)
        else:
            await self.wakeups.put(wake, at)

    def _next(self, kind: str, snapshot: Snapshot, policy: Policy) -> datetime | None:
        now = self._now()
        if kind == "reminder":
            return runbook.reminder_due(snapshot, policy, now)
        found = runbook.situation(snapshot, policy, now)
        if found is None:
            return None
        return runbook.next_due(found, archive_after=self._archive_after)

    async def known(self) -> list[IssueKey]:
        """The incidents with a wake-up set, for the sweep (search's index lags)."""
        return [w.key for w in await self.wakeups.every() if w.kind == "incident"]

    # --- firing ---

    async def check(self) -> int:
        """Hand every wake-up due by now to its worker; how many were due."""
        now = self._now()
        due = await self.wakeups.claim(now)
        for wake in due:
            if wake.kind == "incident":
                self._queue.submit(wake.key, Hints())
            else:
                self._spawn(self._remind(wake))
        self.fired += len(due)
        if self._ticker is not None and self._ticker.shares is not None and not self._helping:
            self._helping = True
            self._spawn(self._help(self._ticker))
        if due and self._tidy is not None:
            await self._tidy(now)  # e.g. Slack channels whose archive time came
        return len(due)

    def _spawn(self, work: Coroutine[object, object, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _help(self, ticker: Ticker) -> None:
        """Sweep installations of another replica's sweep while there are any."""
        try:
            while await ticker.help():
                self.helped += 1
        except Exception:
            log.exception("wake-ups: helping another replica's sweep failed")
        finally:
            self._helping = False

    async def _remind(self, wake: Wake) -> None:
        """A review or action item due: read it and let the reconciler remind."""
        key = wake.key
        gh = self._clients(key.installation_id)
        try:
            async with self._queue.exclusive(key):
                path = f"/repos/{key.full_name}"
                issue = (await gh.request("GET", f"{path}/issues/{key.number}")).data
                repo = (await gh.request("GET", path)).data
                await self._reconciler.remind_review(key, issue, repo=Repo.from_api(repo))
        except NotFound:
            await self.wakeups.drop(wake)
        except (GitHubError, Busy) as exc:
            log.warning("wake-up of %s: %s (its lease brings it back)", key, exc)
        except Exception:
            log.exception("wake-up of %s", key, extra={"issue": str(key)})

    async def drain(self) -> None:
        """Wait for the work the fired wake-ups queued (and a sweep under way)."""
        if self._sweeping is not None:
            await asyncio.gather(self._sweeping, return_exceptions=True)
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        await self._queue.drain()

    # --- the loop ---

    async def run(self) -> None:
        """Sweep once (the wake-ups are rebuilt from GitHub), then check every few seconds
        and sweep every `sweep_every` (or when Redis came back). A sweep runs beside the
        checks, never in their way: at thousands of repositories it takes minutes."""
        while True:
            try:
                if self._sweep_due() and (self._sweeping is None or self._sweeping.done()):
                    self._sweeping = asyncio.get_running_loop().create_task(self._sweep_now())
                await self._sleep(self._pause())
                await self.check()
            except Exception:
                log.exception("wake-ups: check failed; next check in %.0fs", self.check_every)

    def _pause(self) -> float:
        soonest = self.wakeups.next_at()
        if soonest is None:
            return self.check_every
        wait = (soonest - self._now()).total_seconds()
        return min(self.check_every, max(wait, 0.05))

    def _sweep_due(self) -> bool:
        if self.wakeups.resweep:
            return True
        if self._sweep_every is None:  # SWEEP_MINUTES=0: on start only
            return self._last_sweep is None
        return self._last_sweep is None or self._now() - self._last_sweep >= self._sweep_every

    async def _sweep_now(self) -> None:
        now = self._now()
        self._last_sweep = now
        resweep, self.wakeups.resweep = self.wakeups.resweep, False
        if self._sweep is None:
            return
        every = (self._sweep_every or SWEEP_EVERY).total_seconds()
        # One replica's sweep per interval: the others leave it to that one.
        bucket = f"sweep:{int(now.timestamp() // every)}"
        if self._once is not None and not resweep and not await self._once(bucket, every):
            return
        try:
            await self._sweep()
        except Busy:
            log.info("wake-ups: a sweep is running on another replica")
        except Exception:
            log.exception("wake-ups: the sweep failed")

    def start(self) -> None:
        if self._loop is None:
            self._loop = asyncio.get_running_loop().create_task(self.run())

    async def stop(self) -> None:
        for task in (self._loop, self._sweeping):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._loop = self._sweeping = None
        for task in list(self._tasks):
            task.cancel()


def wire(
    *,
    queue: IssueQueue,
    reconciler: Reconciler,
    clients: Callable[[int], GitHubPort],
    now: Callable[[], datetime],
    cluster: Cluster | None,
    ticker: Ticker | None,
    sender: Notifications | None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    sweep_every: float = SWEEP_EVERY.total_seconds() / 60,
) -> Timing:
    """The process's clock, as the app factory builds it: wake-ups in Redis with a cluster
    (and the repositories' daily checks shared there), else in this process; the sweep run
    by the loop; Slack channels archived when their wake-up comes."""
    lease = cluster.lock_ttl * 2 if cluster is not None else 60.0
    wakeups = SharedWakeups(cluster, lease=lease) if cluster is not None else LocalWakeups()
    timing = Timing(
        wakeups=wakeups,
        queue=queue,
        reconciler=reconciler,
        clients=clients,
        now=now,
        sleep=sleep,
        sweep=ticker.run if ticker is not None else None,
        sweep_every=timedelta(minutes=sweep_every) if sweep_every > 0 else None,
        once=cluster.once if cluster is not None else None,
        archive_after=sender.archive_after() if sender is not None else None,
        tidy=sender.sweep if sender is not None else None,
        heal_after=cluster.lock_ttl if cluster is not None else 30.0,
    )
    if ticker is not None:
        ticker.known = timing.known
        timing._ticker = ticker
        if cluster is not None:
            ticker.daily.checked = SharedChecked(cluster)
            ticker.shares = Shares(cluster)
    return timing
