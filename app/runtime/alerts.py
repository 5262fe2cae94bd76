"""Alert notifications after the answer: one worker per repository, the newest notification
of each group wins, and each is decided against what GitHub records (docs/behaviour.md §9).

A burst of the same group (Alertmanager sends to every receiver and retries on 5xx) waits
`delay` seconds and is read once; in cluster mode the repository's lock in Redis makes
replicas take turns, so the second finds the issue the first opened.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from app.core import alerts, markers
from app.core.actions import Action
from app.core.keys import Hints, IssueKey
from app.core.labels import ALERT
from app.core.policy import AlertsPolicy
from app.core.snapshot import ts
from app.github.cache import SingleFlight
from app.github.config import ConfigLoader
from app.github.errors import (
    GitHubError,
    NotFound,
    RateLimited,
    ServerError,
    Unauthorized,
)
from app.github.executor import execute
from app.github.port import GitHubPort, paginate
from app.runtime.cluster import Busy
from app.runtime.work import KeyedQueue, SharedLock

log = logging.getLogger(__name__)

RETRY_AFTER = (10.0, 60.0, 300.0)  # seconds before each new try of a notification GitHub refused

Submit = Callable[[IssueKey, Hints], object]


@dataclass(frozen=True)
class Target:
    installation_id: int
    owner: str
    repo: str

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.repo}"

    @property
    def key(self) -> IssueKey:
        """The repository as a key (number 0: no issue) for the queue's and Redis' locks,
        case-folded: GitHub's names are case-insensitive, so `Acme/Pay` and `acme/pay` are one
        repository, one worker and one lock."""
        return IssueKey(self.installation_id, self.owner.casefold(), self.repo.casefold(), 0)


@dataclass
class AlertReport:
    """What one notification did: the decision's reason and the issue it concerns."""

    repo: str
    group: str
    why: str
    number: int | None = None
    error: str | None = None
    planned: list[Action] = field(default_factory=list)
    retry: bool = False  # GitHub could not take it now (5xx, rate limit): try again later


class Installations:
    """Which installation covers a repository: `GET /repos/{owner}/{repo}/installation` with
    the App's JWT, remembered for 10 minutes (a miss for one)."""

    def __init__(
        self, app: Callable[[], GitHubPort], *, clock: Callable[[], float] = time.monotonic
    ):
        self._app = app
        self._clock = clock
        self._known: dict[str, tuple[float, int | None]] = {}
        self._flights = SingleFlight()

    async def find(self, owner: str, repo: str) -> int | None:
        name = f"{owner}/{repo}".casefold()
        hit = self._known.get(name)
        if hit is not None and self._clock() < hit[0]:
            return hit[1]
        return await self._flights.run(name, lambda: self._look_up(owner, repo, name))

    async def _look_up(self, owner: str, repo: str, name: str) -> int | None:
        try:
            reply = await self._app().request("GET", f"/repos/{owner}/{repo}/installation")
            found = reply.data.get("id") if isinstance(reply.data, dict) else None
            installation = found if isinstance(found, int) and not isinstance(found, bool) else None
        except NotFound:
            installation = None
        self._known[name] = (self._clock() + (600 if installation else 60), installation)
        return installation


class AlertWork:
    """Turns alert notifications into incident issues and comments."""

    def __init__(
        self,
        *,
        clients: Callable[[int], GitHubPort],
        config: ConfigLoader,
        app_id: int | None,
        now: Callable[[], datetime],
        submit: Submit | None = None,
        shared: SharedLock | None = None,
        delay: float = 0.5,
        on_result: Callable[[str, str], None] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        retry_after: Sequence[float] = RETRY_AFTER,
    ) -> None:
        self._clients = clients
        self._sleep = sleep
        self._retry_after = tuple(retry_after)
        # The newest notification of each (repository, group): a retry of an older one that a
        # newer one has overtaken is dropped.
        self._newest: dict[tuple[IssueKey, str], alerts.AlertGroup] = {}
        self._retries: set[asyncio.Task[None]] = set()
        self._config = config
        self._app_id = app_id
        self._now = now
        self._submit = submit
        self._on_result = on_result
        # One worker per repository; a group's newer notification replaces an unread one.
        self._queue: KeyedQueue[dict[str, alerts.AlertGroup]] = KeyedQueue(
            self._batch,
            lambda older, newer: {**older, **newer},
            delay=delay,
            shared=shared,
            on_busy=self._busy,
        )
        # Issues this process opened lately, by (repository, group): GitHub's list is read
        # for each notification, this only covers the moment before it shows a new issue.
        self._opened: dict[tuple[str, str], tuple[float, alerts.Known]] = {}
        # The spelling a repository's notifications last came with, by its case-folded key:
        # GitHub takes any, the requests use the one the monitoring sends.
        self._targets: dict[IssueKey, Target] = {}
        self.reports: list[AlertReport] = []  # the latest few, for tests and the status page

    def submit(self, target: Target, group: alerts.AlertGroup) -> bool:
        """Queue a notification; the newest of a group replaces one not yet read."""
        if not self._queue.accepting:
            return False
        self._newest[(target.key, group.group)] = group
        self._targets[target.key] = target
        return self._queue.submit(target.key, {group.group: group})

    def _target(self, key: IssueKey) -> Target:
        return self._targets.get(key) or Target(key.installation_id, key.owner, key.repo)

    async def _batch(self, key: IssueKey, groups: dict[str, alerts.AlertGroup]) -> None:
        target = self._target(key)
        for group in groups.values():
            report = await self.handle(target, group)
            if report.retry:
                self._later(key, group, 0)
            elif self._newest.get((key, group.group)) is group:
                del self._newest[(key, group.group)]

    def _busy(self, key: IssueKey, groups: dict[str, alerts.AlertGroup]) -> None:
        for group in groups.values():
            self._later(key, group, 0)

    def _later(self, key: IssueKey, group: alerts.AlertGroup, attempt: int) -> None:
        """Try a notification GitHub could not take (5xx, rate limit, a busy replica) again
        later: it was answered 202, and its source resends only at its repeat interval."""
        if attempt >= len(self._retry_after) or not self._queue.accepting:
            log.warning("alert %s for %s given up", group.group, key.full_name)
            return
        task = asyncio.get_running_loop().create_task(self._retry(key, group, attempt))
        self._retries.add(task)
        task.add_done_callback(self._retries.discard)

    async def _retry(self, key: IssueKey, group: alerts.AlertGroup, attempt: int) -> None:
        await self._sleep(self._retry_after[attempt])
        if self._newest.get((key, group.group)) is not group:
            return  # a newer notification of the group was read meanwhile
        target = self._target(key)
        report = await self._exclusive_handle(target, group)
        if report is not None and report.number is not None and not report.retry:
            # A write that failed may have happened (a 502 hiding a success): the incident's
            # own run, idempotent, sees to its declaration either way.
            self._hand_over(target, report.number, None)
        if report is None or report.retry:
            self._later(key, group, attempt + 1)
        elif self._newest.get((key, group.group)) is group:
            del self._newest[(key, group.group)]

    async def _exclusive_handle(
        self, target: Target, group: alerts.AlertGroup
    ) -> AlertReport | None:
        try:
            async with self._queue.exclusive(target.key):
                return await self.handle(target, group)
        except Busy:
            return None

    @property
    def accepting(self) -> bool:
        return self._queue.accepting

    async def drain(self) -> None:
        """Wait until every queued notification, and every retry, is handled."""
        while True:
            await self._queue.drain()
            if not self._retries:
                return
            await asyncio.gather(*list(self._retries), return_exceptions=True)

    async def close(self, timeout: float) -> int:
        abandoned = await self._queue.close(timeout)
        for task in list(self._retries):
            task.cancel()
        return abandoned + len(self._retries)

    async def policy(self, target: Target) -> AlertsPolicy:
        """The repository's `alerts` policy, as the config loader finds it (cached briefly)."""
        gh = self._clients(target.installation_id)
        return (await self._config.load(gh, target.owner, target.repo)).policy.alerts

    # --- one notification ---

    async def handle(
        self, target: Target, group: alerts.AlertGroup, *, dry_run: bool = False
    ) -> AlertReport:
        """Decide one notification against GitHub's record and carry it out (with `dry_run`
        only decide: `planned` says what it would write); never raises."""
        report = AlertReport(target.full_name, group.group, "")
        extra = {"repo": target.full_name, "group": group.group, "source": group.source}
        gh = self._clients(target.installation_id)
        try:
            resolved = await self._config.load(gh, target.owner, target.repo)
            policy = resolved.policy.alerts
            known = await self._known(gh, target, group)
            decision = alerts.decide(group, policy, known, self._now())
            report.why = decision.why
            report.number = decision.number
            report.planned = [a for a in (decision.open, decision.comment) if a is not None]
            if dry_run:
                return report
            if decision.open is not None:
                outcome = await execute(gh, target.full_name, 0, [decision.open], log_extra=extra)
                if outcome.failed:
                    raise outcome.failed[0][1]
                data = outcome.done[0][1].data
                report.number = int(data["number"])
                self._remember(target, group, report.number)
                self._hand_over(target, report.number, data)
            elif decision.comment is not None and decision.number is not None:
                report.number = decision.number
                outcome = await execute(
                    gh, target.full_name, decision.number, [decision.comment], log_extra=extra
                )
                if outcome.failed:
                    raise outcome.failed[0][1]
                if any(n.auto for n in markers.of(markers.AlertNote, decision.comment.body)):
                    # The note resolves the incident: the runbook's resolution follows now.
                    self._hand_over(target, decision.number, None)
            log.info(
                "alert %s: %s", group.status, decision.why, extra={**extra, "issue": report.number}
            )
        except GitHubError as exc:
            report.why, report.error = "failed", str(exc)
            report.retry = isinstance(exc, ServerError | RateLimited | Unauthorized)
            log.warning(
                "alert not handled%s: %s",
                ", tried again later" if report.retry else "",
                exc,
                extra=extra,
            )
        except Exception as exc:
            report.why, report.error = "failed", f"internal error: {type(exc).__name__}"
            log.exception("alert not handled", extra=extra)
        if self._on_result is not None:
            self._on_result(group.source, report.why)
        self.reports = [*self.reports[-49:], report]
        return report

    async def _known(
        self, gh: GitHubPort, target: Target, group: alerts.AlertGroup
    ) -> list[alerts.Known]:
        """The incident issues the app opened for alerts here, newest first; the notes of
        the one this group belongs to."""
        items = await paginate(
            gh,
            f"/repos/{target.full_name}/issues",
            params={
                "labels": ALERT,
                "state": "all",
                "sort": "created",
                "direction": "desc",
            },
            limit=3,
        )
        found: dict[int, alerts.Known] = {}
        for item in items:
            if not isinstance(item, dict) or item.get("pull_request") or not self._ours(item):
                continue
            opened = markers.of(markers.AlertIssue, str(item.get("body") or ""))
            if not opened or not isinstance(item.get("number"), int):
                continue
            closed, created = item.get("closed_at"), item.get("created_at")
            found[item["number"]] = alerts.Known(
                number=item["number"],
                open=item.get("state") == "open",
                closed_at=ts(closed) if closed else None,
                opened=opened[0],
                created_at=ts(created) if created else None,
            )
        horizon = time.monotonic()
        for (repo, _), (until, known) in list(self._opened.items()):
            if until < horizon:
                del self._opened[(repo, _)]
            elif repo == target.full_name.casefold() and known.number not in found:
                found[known.number] = known
        issues = sorted(found.values(), key=lambda k: -k.number)
        # The notes of the group's incident and of the newest open one, where a group past
        # the hourly cap is told (and from where its later notifications find it).
        wanted = {k.number for k in (alerts.match(group, issues), alerts.newest_open(issues)) if k}
        notes: dict[int, tuple[markers.AlertNote, ...]] = {}
        for number in sorted(wanted):
            comments = await paginate(
                gh, f"/repos/{target.full_name}/issues/{number}/comments", limit=10
            )
            notes[number] = tuple(
                note
                for c in comments
                if isinstance(c, dict) and self._ours(c)
                for note in markers.of(markers.AlertNote, str(c.get("body") or ""))
            )
        return [replace(k, notes=notes[k.number]) if k.number in notes else k for k in issues]

    def _ours(self, item: dict[str, Any]) -> bool:
        """Made by this App: a person's issue with a copied marker is no record of ours."""
        app = item.get("performed_via_github_app")
        return isinstance(app, dict) and self._app_id is not None and app.get("id") == self._app_id

    def _remember(self, target: Target, group: alerts.AlertGroup, number: int) -> None:
        opened = markers.AlertIssue(
            group.group, group.source, group.digest, group.fingerprints[: alerts.MAX_REMEMBERED]
        )
        known = alerts.Known(number, True, None, opened, created_at=self._now())
        self._opened[(target.full_name.casefold(), group.group)] = (time.monotonic() + 600, known)

    def _hand_over(self, target: Target, number: int, issue: dict[str, Any] | None) -> None:
        """The runbook takes over at once: the issue's reconciliation is queued now rather
        than left to GitHub's webhook (which the app's own comments never trigger)."""
        if self._submit is None:
            return
        owner, repo = target.owner, target.repo
        # GitHub's spelling of the name, as its webhooks will carry it, so the issue has one
        # queue key and one lock whatever spelling the alert's URL used.
        url = str((issue or {}).get("repository_url") or "")
        if url.count("/") >= 2:
            owner, repo = url.rstrip("/").split("/")[-2:]
        key = IssueKey(target.installation_id, owner, repo, number)
        hints = Hints(issue=issue)
        if issue is not None and issue.get("created_at"):
            hints = Hints(issue=issue, declared_at=ts(issue["created_at"]))
        self._submit(key, hints)
