"""The sweep (the tick): reconcile every open incident of every installation, found by
issue search (docs/behaviour.md §4, docs/operator-guide/tick.md)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from app.core import runbook
from app.core.actions import Action
from app.core.keys import IssueKey
from app.core.labels import PIR
from app.core.policy import Policy
from app.core.snapshot import Repo, Snapshot
from app.github.errors import GitHubError
from app.github.port import GitHubPort, paginate
from app.runtime import handover
from app.runtime.cluster import Busy
from app.runtime.daily import DailyChecks
from app.runtime.reconcile import Reconciler
from app.runtime.redeliver import Redeliverer
from app.runtime.search import (
    Found,
    SearchPace,
    Unusable,
    active_repositories,
    listed,
    repository_of,
    search,
)
from app.runtime.shares import Shares
from app.runtime.tally import TickReport, severity

log = logging.getLogger(__name__)

REVIEW_WINDOW = timedelta(days=30)
MONTHLY_WINDOW = timedelta(days=62)  # back to the start of the month before, at least
ROUND_RETRY = timedelta(hours=1)  # a repository whose daily check failed is tried again
CONCURRENCY = 8  # repositories and incidents worked on at once, per sweep
SHARED_WORKERS = 4  # installations the sweep's holder takes at once in cluster mode

Exclusive = Callable[[IssueKey], contextlib.AbstractAsyncContextManager[None]]
Known = Callable[[], Awaitable[Iterable[IssueKey]]]


def _key(installation_id: int, issue: dict[str, Any]) -> IssueKey | None:
    """The key of a search result (its repository from `repository_url`)."""
    where = repository_of(issue)
    if where is None or issue.get("pull_request") or "number" not in issue:
        return None
    return IssueKey(installation_id, where[0], where[1], int(issue["number"]))


@contextlib.asynccontextmanager
async def _nothing(_key: IssueKey) -> AsyncIterator[None]:
    yield


@contextlib.asynccontextmanager
async def _nothing_at_all() -> AsyncIterator[None]:
    yield


class Ticker:
    """The sweep: per installation, what GitHub's issue search finds (open incidents, ones
    closed lately, open reviews and action items, breaches), the incidents the wake-ups know
    of (the index lags), and each repository's daily checks; every repository walked only
    where search cannot serve. One failure stops nothing else."""

    def __init__(
        self,
        *,
        app: Callable[[], GitHubPort],
        clients: Callable[[int], GitHubPort],
        reconciler: Reconciler,
        exclusive: Exclusive = _nothing,
        pir_label: str = PIR,
        redeliverer: Redeliverer | None = None,
        shared: Callable[[], contextlib.AbstractAsyncContextManager[object]] | None = None,
        daily: DailyChecks | None = None,
        known: Known | None = None,
        pace: SearchPace | None = None,
        concurrency: int = CONCURRENCY,
    ) -> None:
        self._shared = shared
        self._pir_label = pir_label
        self._redeliverer = redeliverer
        self._app = app
        self._clients = clients
        self._reconciler = reconciler
        self._exclusive = exclusive
        self._running = asyncio.Lock()
        self.daily = daily or DailyChecks(reconciler)
        self.known = known  # the incidents the wake-ups know of (timing.wire sets it)
        self.shares: Shares | None = None  # cluster mode: installations shared out
        self._pace = pace or SearchPace()
        self._limit = asyncio.Semaphore(concurrency)
        self._rounds: dict[int, datetime] = {}  # installation → its next daily round
        self._handovers = handover.Handovers(reconciler)

    @property
    def busy(self) -> bool:
        return self._running.locked()

    async def run(self, *, dry_run: bool = False) -> TickReport:
        """One sweep; sweeps never overlap (a second waits for the first). In cluster mode
        the sweep's lock is shared: Busy when another replica's sweep is running."""
        async with self._running, self._shared() if self._shared else _nothing_at_all():
            report = TickReport(dry_run=dry_run)
            if self._redeliverer is not None and not dry_run:
                again = await self._redeliverer.run()
                report.redelivered = len(again.redelivered)
                report.errors += [{"scope": "redelivery", "error": e} for e in again.errors]
            try:
                installations = await paginate(self._app(), "/app/installations")
            except GitHubError as exc:
                report.errors.append({"scope": "app", "error": str(exc)})
                return report
            known = list(await self.known()) if self.known is not None else []
            report.installations = len(installations)
            await self._share_out(installations, known, report, dry_run)
            report.repositories = len(report.seen_repositories)
            if not dry_run:
                # Status-site changes that waited for their minute (app/runtime/statuspage).
                for done in await self._reconciler.publisher.flush(self._clients):
                    if done.error:
                        report.errors.append({"scope": "statuspage", "error": done.error})
            return report

    async def _share_out(
        self, installations: list[Any], known: list[IssueKey], report: TickReport, dry_run: bool
    ) -> None:
        """Every installation swept: here, or in cluster mode by whichever replica takes it
        (app/runtime/shares.py); a dry run stays here."""
        shares = self.shares
        if shares is None or dry_run or not await shares.offer(installations):
            await asyncio.gather(
                *(self._installation(d, known, report, dry_run) for d in installations)
            )
            return

        async def worker() -> None:
            while (data := await shares.take()) is not None:
                try:
                    await self._installation(data, known, report, dry_run)
                finally:
                    await shares.done()

        await asyncio.gather(*(worker() for _ in range(SHARED_WORKERS)))
        if not await shares.finished():
            report.errors.append({"scope": "sweep", "error": "an installation left unfinished"})

    async def help(self) -> bool:
        """Another replica's sweep under way: take one of its installations and sweep it
        here. False when there is none (or this replica holds the sweep)."""
        if self.shares is None or self.busy or (data := await self.shares.take()) is None:
            return False
        try:
            known = list(await self.known()) if self.known is not None else []
            await self._installation(data, known, TickReport(), False)
        finally:
            await self.shares.done()
        return True

    async def _installation(
        self, data: dict[str, Any], known: list[IssueKey], report: TickReport, dry_run: bool
    ) -> None:
        installation_id = int(data["id"])
        owner = str((data.get("account") or {}).get("login") or "")
        gh = self._clients(installation_id)
        found: Found | None = None
        if owner:
            try:
                found = await search(
                    gh,
                    installation_id,
                    owner,
                    pir_label=self._pir_label,
                    since=self._since(),
                    pace=self._pace,
                )
            except (Unusable, GitHubError) as exc:
                log.info("sweep: search cannot serve %s (%s): walking its repositories", owner, exc)
        if found is None:
            await self._walk(gh, installation_id, report, dry_run)
            return
        report.searches += found.requests
        mine = [k for k in known if k.installation_id == installation_id]
        await self._found(gh, installation_id, found, mine, report, dry_run)
        await self._round(gh, installation_id, owner, report, dry_run)

    async def _found(
        self,
        gh: GitHubPort,
        installation_id: int,
        found: Found,
        known: list[IssueKey],
        report: TickReport,
        dry_run: bool,
    ) -> None:
        """What search found, and the incidents the wake-ups know of that it did not (yet)."""
        listed = {key: issue for issue in found.incidents if (key := _key(installation_id, issue))}
        work = [self._incident(key, issue, None, report, dry_run) for key, issue in listed.items()]
        work += [self._incident(k, None, None, report, dry_run) for k in known if k not in listed]
        repos: dict[str, Repo] = {}
        for issue, plan in [(i, runbook.plan_pir_reminder) for i in found.reviews] + [
            (i, runbook.plan_action_reminder) for i in found.items
        ]:
            if key := _key(installation_id, issue):
                work.append(self._reminder(gh, key, issue, repos, plan, report, dry_run))
        first = len(report.runs)
        await asyncio.gather(*work)
        await self._handover(gh, installation_id, report, first, dry_run)

    async def _handover(
        self, gh: GitHubPort, installation_id: int, report: TickReport, first: int, dry_run: bool
    ) -> None:
        """Each repository's handover issues (app/runtime/handover), listing the incidents
        this sweep just read there (runs from `first` on): only a repository with open
        incidents can need one, and search found those."""
        by_repo: dict[str, list[tuple[Snapshot, Policy]]] = {}
        for run in report.runs[first:]:
            if run.seen is not None and run.incident and run.key.installation_id == installation_id:
                by_repo.setdefault(run.key.full_name, []).append(run.seen)
        for seen in by_repo.values():
            repo = seen[0][0].repo
            key = IssueKey(installation_id, repo.owner, repo.name, 0)
            try:
                for run in await self._handovers.run(gh, key, repo, seen, dry_run=dry_run):
                    report.count(key, run)
            except GitHubError as exc:
                report.errors.append({"repository": repo.full_name, "error": str(exc)})

    async def _round(
        self, gh: GitHubPort, installation_id: int, owner: str, report: TickReport, dry_run: bool
    ) -> None:
        """The installation's repositories whose daily check is due (listed only when one
        may be: `_rounds` remembers the earliest next one). Only repositories with incidents
        lately or open action items can need a monthly review: search says which."""
        now = self._reconciler.now()
        if self._rounds.get(installation_id, now) > now:
            return
        try:
            repos = await paginate(gh, "/installation/repositories", key="repositories")
        except GitHubError as exc:
            report.errors.append({"installation": installation_id, "error": str(exc)})
            return
        try:
            since = (now - MONTHLY_WINDOW).strftime("%Y-%m-%d")
            active = await active_repositories(gh, installation_id, owner, since, self._pace)
        except (Unusable, GitHubError):
            active = None  # every repository checks its monthly review
        await asyncio.gather(
            *(
                self._checked(
                    gh,
                    installation_id,
                    Repo.from_api(d),
                    report,
                    dry_run,
                    monthly=active is None or str(d["full_name"]).lower() in active,
                )
                for d in repos
                if d.get("has_issues", True)
            )
        )
        if not dry_run:
            checked = self.daily.checked
            due = [checked.next_of(d["full_name"]) for d in repos if d.get("has_issues", True)]
            self._rounds[installation_id] = min(
                (d if d is not None else now + ROUND_RETRY for d in due), default=now + ROUND_RETRY
            )

    async def _checked(
        self,
        gh: GitHubPort,
        installation_id: int,
        repo: Repo,
        report: TickReport,
        dry_run: bool,
        *,
        monthly: bool = True,
    ) -> None:
        """One repository's daily check; the open issues it found delabelled reconciled."""
        report.seen_repositories.add(repo.full_name)
        try:
            async with self._limit:
                lost = await self.daily.run(
                    gh,
                    installation_id,
                    repo,
                    has_open=True,
                    dry_run=dry_run,
                    count=report.count,
                    monthly=monthly,
                )
        except GitHubError as exc:
            report.errors.append({"repository": repo.full_name, "error": str(exc)})
            return
        for issue in lost:
            key = IssueKey(installation_id, repo.owner, repo.name, int(issue["number"]))
            await self._incident(key, issue, repo, report, dry_run)

    async def _walk(
        self, gh: GitHubPort, installation_id: int, report: TickReport, dry_run: bool
    ) -> None:
        """Where search cannot serve: every repository listed, one by one (concurrently)."""
        try:
            repos = await paginate(gh, "/installation/repositories", key="repositories")
        except GitHubError as exc:
            report.errors.append({"installation": installation_id, "error": str(exc)})
            return
        first = len(report.runs)
        await asyncio.gather(
            *(
                self._repository(gh, installation_id, data, report, dry_run)
                for data in repos
                if data.get("has_issues", True)
            )
        )
        await self._handover(gh, installation_id, report, first, dry_run)

    async def _repository(
        self,
        gh: GitHubPort,
        installation_id: int,
        data: dict[str, Any],
        report: TickReport,
        dry_run: bool,
    ) -> None:
        """Open incidents, incidents resolved lately (their review), and overdue reviews."""
        repo = Repo.from_api(data)
        has_open = bool(data.get("open_issues_count", 1))
        report.seen_repositories.add(repo.full_name)
        try:
            async with self._limit:
                incidents, reviews, items = await listed(
                    gh, repo, has_open, pir_label=self._pir_label, since=self._since()
                )
        except GitHubError as exc:
            report.errors.append({"repository": repo.full_name, "error": str(exc)})
            return
        repos = {repo.full_name: repo}
        reminders = [(i, runbook.plan_pir_reminder) for i in reviews]
        reminders += [(i, runbook.plan_action_reminder) for i in items]
        await asyncio.gather(
            *(
                self._incident(self._of(installation_id, repo, i), i, repo, report, dry_run)
                for i in incidents
                if not i.get("pull_request")
            ),
            *(
                self._reminder(gh, self._of(installation_id, repo, i), i, repos, p, report, dry_run)
                for i, p in reminders
            ),
        )
        await self._checked(gh, installation_id, repo, report, dry_run)

    @staticmethod
    def _of(installation_id: int, repo: Repo, issue: dict[str, Any]) -> IssueKey:
        return IssueKey(installation_id, repo.owner, repo.name, int(issue["number"]))

    async def _incident(
        self,
        key: IssueKey,
        issue: dict[str, Any] | None,
        repo: Repo | None,
        report: TickReport,
        dry_run: bool,
    ) -> None:
        """One incident reconciled under its lock, counted in the report."""
        if key in report.reconciled:
            return
        report.reconciled.add(key)
        report.seen_repositories.add(key.full_name)
        if issue is not None and issue.get("state") == "open":
            report.incidents += 1
            report.severities.append(severity(issue))
        try:
            async with self._limit, self._exclusive(key):
                run = await self._reconciler.run(key, dry_run=dry_run, repo=repo, issue=issue)
        except Busy:
            # Another replica has been working on it all this while: it is its to finish.
            report.errors.append({"issue": str(key), "error": "busy on another replica"})
            return
        report.count(key, run)

    async def _reminder(
        self,
        gh: GitHubPort,
        key: IssueKey,
        issue: dict[str, Any],
        repos: dict[str, Repo],
        plan: Callable[[Snapshot, Policy, datetime], list[Action]],
        report: TickReport,
        dry_run: bool,
    ) -> None:
        """An open review or action item: reminded when overdue."""
        report.seen_repositories.add(key.full_name)
        try:
            async with self._limit:
                repo = repos.get(key.full_name)
                if repo is None:
                    data = (await gh.request("GET", f"/repos/{key.full_name}")).data
                    repo = repos[key.full_name] = Repo.from_api(data)
                run = await self._reconciler.remind_review(
                    key, issue, repo=repo, dry_run=dry_run, plan=plan
                )
        except GitHubError as exc:
            report.errors.append({"repository": key.full_name, "error": str(exc)})
            return
        report.count(key, run)

    def _since(self) -> str:
        """Closed incidents are looked at for this long after their last change."""
        # Whole days, so the listing's URL (and ETag) stays the same all day: a 304 is free.
        moment = self._reconciler.now() - REVIEW_WINDOW
        return moment.strftime("%Y-%m-%dT00:00:00Z")
