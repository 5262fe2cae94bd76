"""The tick: reconcile every open incident of every installation (docs/behaviour.md §4)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from app.core import markers, runbook
from app.core.keys import IssueKey
from app.core.labels import (
    ACTION_ITEM,
    DRILL,
    INCIDENT,
    MONTHLY_REVIEW,
    PIR,
    is_incident,
    severity_of,
)
from app.core.snapshot import Issue, Repo
from app.github.errors import GitHubError
from app.github.executor import execute
from app.github.port import GitHubPort, paginate
from app.runtime import handover
from app.runtime.cluster import Busy
from app.runtime.reconcile import Reconciler, RunReport
from app.runtime.redeliver import Redeliverer
from app.runtime.report import build as build_report

log = logging.getLogger(__name__)

REVIEW_WINDOW = timedelta(days=30)

Exclusive = Callable[[IssueKey], contextlib.AbstractAsyncContextManager[None]]


@dataclass
class TickReport:
    """What one tick saw and did; the JSON answer of POST /cron/tick."""

    installations: int = 0
    repositories: int = 0
    incidents: int = 0
    actions: Counter[str] = field(default_factory=Counter)
    errors: list[dict[str, Any]] = field(default_factory=list)
    runs: list[RunReport] = field(default_factory=list)
    dry_run: bool = False
    redelivered: int = 0
    severities: list[str] = field(default_factory=list)  # of the open incidents seen

    def as_json(self) -> dict[str, Any]:
        planned: Counter[str] = Counter()
        for run in self.runs:
            planned.update(type(a).__name__ for a in run.planned)
        return {
            "installations": self.installations,
            "repositories": self.repositories,
            "incidents": self.incidents,
            "actions": dict(sorted(self.actions.items())),
            "planned": dict(sorted(planned.items())) if self.dry_run else None,
            "errors": self.errors,
            "deferred": [str(run.key) for run in self.runs if run.deferred],
            "dry_run": self.dry_run,
            "redelivered": self.redelivered,
        }


def _severity(issue: dict[str, Any]) -> str:
    found = severity_of(Issue.from_api(issue).labels)
    return found.value if found else "unknown"


@contextlib.asynccontextmanager
async def _nothing(_key: IssueKey) -> AsyncIterator[None]:
    yield


@contextlib.asynccontextmanager
async def _nothing_at_all() -> AsyncIterator[None]:
    yield


class Ticker:
    """Walks installations → repositories → open incidents; one failure stops nothing else."""

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
    ) -> None:
        self._shared = shared
        self._pir_label = pir_label
        self._redeliverer = redeliverer
        self._app = app
        self._clients = clients
        self._reconciler = reconciler
        self._exclusive = exclusive
        self._running = asyncio.Lock()
        self._monthly_done: set[tuple[str, str]] = set()  # (repository, month) handled
        self._drills_done: set[tuple[str, str, str]] = set()  # (repository, severity, period)
        self._handovers = handover.Handovers(reconciler)

    @property
    def busy(self) -> bool:
        return self._running.locked()

    async def run(self, *, dry_run: bool = False) -> TickReport:
        """One tick; ticks never overlap (a second waits for the first). In cluster mode the
        tick's lock is shared: Busy when another replica's tick is running."""
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
            for installation in installations:
                report.installations += 1
                await self._installation(int(installation["id"]), report, dry_run)
            if not dry_run:
                # Status-site changes that waited for their minute (app/runtime/statuspage).
                for done in await self._reconciler.publisher.flush(self._clients):
                    if done.error:
                        report.errors.append({"scope": "statuspage", "error": done.error})
            return report

    async def _installation(self, installation_id: int, report: TickReport, dry_run: bool) -> None:
        gh = self._clients(installation_id)
        try:
            repos = await paginate(gh, "/installation/repositories", key="repositories")
        except GitHubError as exc:
            report.errors.append({"installation": installation_id, "error": str(exc)})
            return
        for data in repos:
            if not data.get("has_issues", True):
                continue
            report.repositories += 1
            await self._repository(
                gh,
                installation_id,
                Repo.from_api(data),
                bool(data.get("open_issues_count", 1)),
                report,
                dry_run,
            )

    async def _repository(
        self,
        gh: GitHubPort,
        installation_id: int,
        repo: Repo,
        has_open: bool,
        report: TickReport,
        dry_run: bool,
    ) -> None:
        """Open incidents, incidents resolved lately (their review), and overdue reviews."""
        try:
            incidents, reviews, items = await self._listed(gh, repo, has_open)
        except GitHubError as exc:
            report.errors.append({"repository": repo.full_name, "error": str(exc)})
            return
        first = len(report.runs)
        await self._incidents(installation_id, repo, incidents, report, dry_run)
        seen = [run.seen for run in report.runs[first:] if run.seen is not None]
        for issue in reviews:
            key = IssueKey(installation_id, repo.owner, repo.name, int(issue["number"]))
            run = await self._reconciler.remind_review(key, issue, repo=repo, dry_run=dry_run)
            self._count(report, key, run)
        for issue in items:
            key = IssueKey(installation_id, repo.owner, repo.name, int(issue["number"]))
            run = await self._reconciler.remind_review(
                key, issue, repo=repo, dry_run=dry_run, plan=runbook.plan_action_reminder
            )
            self._count(report, key, run)
        try:
            await self._monthly(gh, installation_id, repo, report, dry_run)
            await self._drills(gh, installation_id, repo, report, dry_run)
            key = IssueKey(installation_id, repo.owner, repo.name, 0)
            for run in await self._handovers.run(gh, key, repo, seen, dry_run=dry_run):
                self._count(report, key, run)
        except GitHubError as exc:
            report.errors.append({"repository": repo.full_name, "error": str(exc)})

    async def _listed(
        self, gh: GitHubPort, repo: Repo, has_open: bool
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
        """The repository's incidents (open, resolved lately, delabelled lately), its open
        reviews and its open action items."""
        path = f"/repos/{repo.full_name}/issues"
        # A repository without open issues has no open incident and no open review.
        incidents = (
            await paginate(gh, path, params={"labels": INCIDENT, "state": "open"})
            if has_open
            else []
        )
        incidents += await paginate(
            gh,
            path,
            params={"labels": INCIDENT, "state": "closed", "since": self._since()},
        )
        reviews = (
            await paginate(gh, path, params={"labels": self._pir_label, "state": "open"})
            if has_open
            else []
        )
        items = (
            await paginate(gh, path, params={"labels": ACTION_ITEM, "state": "open"})
            if has_open
            else []
        )
        if has_open:
            incidents += await self._delabelled(gh, repo, incidents)
        return incidents, reviews, items

    async def _incidents(
        self,
        installation_id: int,
        repo: Repo,
        incidents: list[dict[str, Any]],
        report: TickReport,
        dry_run: bool,
    ) -> None:
        """Each incident reconciled under its lock, counted in the report."""
        for issue in incidents:
            if issue.get("pull_request"):
                continue
            if issue.get("state") == "open":
                report.incidents += 1
                report.severities.append(_severity(issue))
            key = IssueKey(installation_id, repo.owner, repo.name, int(issue["number"]))
            try:
                async with self._exclusive(key):
                    run = await self._reconciler.run(key, dry_run=dry_run, repo=repo, issue=issue)
            except Busy:
                # Another replica has been working on it all this while: it is its to finish.
                report.errors.append({"issue": str(key), "error": "busy on another replica"})
                continue
            self._count(report, key, run)

    @staticmethod
    async def _delabelled(
        gh: GitHubPort, repo: Repo, listed: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Open issues whose last incident label was taken off lately (a missed delivery):
        the reconciler finds the app's brief on them and puts the labels back (behaviour
        §8). The repository's newest issue events, one page, mostly a free 304."""
        events = await paginate(
            gh, f"/repos/{repo.full_name}/issues/events", params={"per_page": 100}, limit=1
        )
        seen = {int(i["number"]) for i in listed}
        found: list[dict[str, Any]] = []
        for event in events:
            issue = event.get("issue") if isinstance(event, dict) else None
            label = (event.get("label") or {}).get("name") if isinstance(event, dict) else None
            if not isinstance(issue, dict) or event.get("event") != "unlabeled":
                continue
            if not is_incident([str(label)]) or issue.get("pull_request"):
                continue
            current = Issue.from_api(issue)
            if current.state != "open" or is_incident(current.labels) or not current.comments:
                continue
            if current.number not in seen:
                seen.add(current.number)
                found.append(issue)
        return found

    async def _drills(
        self,
        gh: GitHubPort,
        installation_id: int,
        repo: Repo,
        report: TickReport,
        dry_run: bool,
    ) -> None:
        """Scheduled drills: from the first business day of each period (month or quarter),
        one drill incident per configured severity, its scenario taken in turn."""
        policy = (await self._reconciler.config.load(gh, repo.owner, repo.name)).policy
        due = [
            d
            for d in runbook.due_drills(policy, repo.full_name, self._reconciler.now())
            if (repo.full_name, d.severity, d.period) not in self._drills_done
        ]
        if not due:
            return
        existing = await paginate(
            gh, f"/repos/{repo.full_name}/issues", params={"labels": DRILL, "state": "all"}
        )
        made = {
            (m.severity, m.period)
            for item in existing
            if Issue.from_api(item, app_id=self._reconciler.app_id).ours
            for m in markers.of(markers.ScheduledDrill, str(item.get("body") or ""))
        }
        for drill in due:
            sev, period = drill.severity, drill.period
            if (sev, period) in made:
                self._drills_done.add((repo.full_name, sev, period))
                continue
            action = runbook.drill_issue(policy, drill)
            key = IssueKey(installation_id, repo.owner, repo.name, 0)
            run = RunReport(key, incident=False, planned=[action])
            if not dry_run:
                run.outcome = await execute(
                    gh, repo.full_name, 0, [action], log_extra={"repository": repo.full_name}
                )
                if not run.outcome.failed:
                    self._drills_done.add((repo.full_name, sev, period))
            self._count(report, key, run)

    async def _monthly(
        self,
        gh: GitHubPort,
        installation_id: int,
        repo: Repo,
        report: TickReport,
        dry_run: bool,
    ) -> None:
        """From the first business day of a month, one "Incident review" issue for the month
        before, per repository that had incidents or has open action items — exactly one,
        found again after a crash (its marker), never opened twice by overlapping ticks."""
        now = self._reconciler.now()
        policy = (await self._reconciler.config.load(gh, repo.owner, repo.name)).policy
        period = runbook.due_period(policy, now)
        if period is None:
            return
        month, since, until = period.month, period.since, period.until
        if (repo.full_name, month) in self._monthly_done:
            return
        existing = await paginate(
            gh,
            f"/repos/{repo.full_name}/issues",
            params={
                "labels": MONTHLY_REVIEW,
                "state": "all",
                "since": until.strftime("%Y-%m-%dT00:00:00Z"),
            },
        )
        if any(
            m.month == month
            for item in existing
            if Issue.from_api(item, app_id=self._reconciler.app_id).ours
            for m in markers.of(markers.MonthlyReview, str(item.get("body") or ""))
        ):
            self._monthly_done.add((repo.full_name, month))
            return
        review = await build_report(
            gh,
            repo=repo.full_name,
            policy=policy,
            since=since,
            until=until,
            now=now,
            app_id=self._reconciler.app_id,
        )
        action = runbook.review_issue(policy, period, review)
        if action is None:
            self._monthly_done.add((repo.full_name, month))
            return
        key = IssueKey(installation_id, repo.owner, repo.name, 0)
        run = RunReport(key, incident=False, planned=[action])
        if not dry_run:
            run.outcome = await execute(
                gh, repo.full_name, 0, [action], log_extra={"repository": repo.full_name}
            )
            if not run.outcome.failed:
                self._monthly_done.add((repo.full_name, month))
        self._count(report, key, run)

    def _since(self) -> str:
        """Closed incidents are looked at for this long after their last change."""
        # Whole days, so the listing's URL (and ETag) stays the same all day: a 304 is free.
        moment = self._reconciler.now() - REVIEW_WINDOW
        return moment.strftime("%Y-%m-%dT00:00:00Z")

    @staticmethod
    def _count(report: TickReport, key: IssueKey, run: RunReport) -> None:
        report.runs.append(run)
        report.actions.update(run.outcome.counts())
        if run.error:
            report.errors.append({"issue": str(key), "error": run.error})
