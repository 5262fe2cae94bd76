"""What the sweep does per repository at most once a day: the scheduled drills, the monthly
review, and open issues whose incident label was taken off while a delivery was missed.

Each needs the repository's config or a listing of its own, so doing it every sweep would
make the sweep's cost grow with repositories; `core.runbook.repository_due` says when a
repository is next worth checking (a day on, or sooner when a new month begins). The check
times are this process's (`Checked`), or shared by replicas through Redis (`SharedChecked`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from redis.exceptions import RedisError

from app.core import markers, runbook
from app.core.actions import OpenIssue
from app.core.keys import IssueKey
from app.core.labels import DRILL, MONTHLY_REVIEW, is_incident
from app.core.policy import Policy
from app.core.snapshot import Issue, Repo
from app.github.executor import execute
from app.github.port import GitHubPort, paginate
from app.runtime.cluster import Cluster
from app.runtime.reconcile import Reconciler, RunReport
from app.runtime.report import build as build_report

log = logging.getLogger(__name__)

Make = Callable[[], Awaitable[OpenIssue | None]]
Count = Callable[[IssueKey, RunReport], None]


@dataclass(frozen=True)
class Target:
    """The repository a check works in, and how its results are told."""

    gh: GitHubPort
    installation_id: int
    repo: Repo
    dry_run: bool
    count: Count


class Checked:
    """When each repository is next due for its daily check, in this process."""

    def __init__(self) -> None:
        self._next: dict[str, datetime] = {}

    async def due(self, repository: str, now: datetime) -> bool:
        found = self._next.get(repository)
        return found is None or found <= now

    async def done(self, repository: str, now: datetime, until: datetime) -> None:
        self._next[repository] = until

    def next_of(self, repository: str) -> datetime | None:
        """When this process last set the repository's next check (None: not yet)."""
        return self._next.get(repository)


class SharedChecked(Checked):
    """The check times in Redis, so replicas sharing a sweep check a repository once."""

    def __init__(self, cluster: Cluster) -> None:
        super().__init__()
        self._cluster = cluster

    def _key(self, repository: str) -> str:
        return f"{self._cluster.prefix}:{{checked:{repository.lower()}}}"

    async def due(self, repository: str, now: datetime) -> bool:
        try:
            held = await self._cluster.redis.exists(self._key(repository))
        except (RedisError, OSError) as exc:
            self._cluster.down(exc)
            return await super().due(repository, now)
        return not held

    async def done(self, repository: str, now: datetime, until: datetime) -> None:
        await super().done(repository, now, until)
        ms = max(int((until - now).total_seconds() * 1000), 1)
        try:
            await self._cluster.redis.set(self._key(repository), "1", px=ms)
        except (RedisError, OSError) as exc:
            self._cluster.down(exc)


class DailyChecks:
    """A repository's drills, monthly review and missed un-labellings, once a day."""

    def __init__(self, reconciler: Reconciler, checked: Checked | None = None) -> None:
        self._reconciler = reconciler
        self.checked = checked or Checked()
        self._opened: set[tuple[str, ...]] = set()  # (repository, label, period…) handled

    async def run(
        self,
        gh: GitHubPort,
        installation_id: int,
        repo: Repo,
        *,
        has_open: bool,
        dry_run: bool,
        count: Count,
        monthly: bool = True,
    ) -> list[dict[str, Any]]:
        """The repository's check if due; the open issues that lost their incident label
        (for the caller to reconcile). `monthly`: whether it may need a monthly review (it
        had incidents or has open action items). Raises GitHubError."""
        now = self._reconciler.now()
        if not await self.checked.due(repo.full_name, now):
            return []
        policy = (await self._reconciler.config.load(gh, repo.owner, repo.name)).policy
        target = Target(gh, installation_id, repo, dry_run, count)
        if monthly:
            await self._monthly(target, policy, now)
        await self._drills(target, policy, now)
        found = await delabelled(gh, repo) if has_open else []
        if not dry_run:
            await self.checked.done(repo.full_name, now, runbook.repository_due(policy, now))
        return found

    async def _drills(self, target: Target, policy: Policy, now: datetime) -> None:
        """Scheduled drills: from the first business day of each period (month or quarter),
        one drill incident per configured severity, its scenario taken in turn."""

        def make(drill: runbook.DueDrill) -> Make:
            async def made() -> OpenIssue:
                return runbook.drill_issue(policy, drill)

            return made

        wanted: dict[tuple[str, ...], Make] = {
            (d.severity, d.period): make(d)
            for d in runbook.due_drills(policy, target.repo.full_name, now)
        }
        ident = lambda m: (m.severity, m.period)  # noqa: E731
        await self._open_once(target, DRILL, markers.ScheduledDrill, None, wanted, ident)

    async def _monthly(self, target: Target, policy: Policy, now: datetime) -> None:
        """From the first business day of a month, one "Incident review" issue for the month
        before, per repository that had incidents or has open action items — exactly one,
        found again after a crash (its marker), never opened twice by overlapping sweeps."""
        period = runbook.due_period(policy, now)
        if period is None:
            return

        async def made() -> OpenIssue | None:
            review = await build_report(
                target.gh,
                repo=target.repo.full_name,
                policy=policy,
                since=period.since,
                until=period.until,
                now=now,
                app_id=self._reconciler.app_id,
            )
            return runbook.review_issue(policy, period, review)

        since = period.until.strftime("%Y-%m-%dT00:00:00Z")
        wanted: dict[tuple[str, ...], Make] = {(period.month,): made}
        ident = lambda m: (m.month,)  # noqa: E731
        await self._open_once(target, MONTHLY_REVIEW, markers.MonthlyReview, since, wanted, ident)

    async def _open_once(
        self,
        target: Target,
        label: str,
        kind: type[Any],
        since: str | None,
        wanted: dict[tuple[str, ...], Make],
        ident: Callable[[Any], tuple[str, ...]],
    ) -> None:
        """Open each wanted issue (by its marker's `ident`) unless the app opened it before:
        the drills' and the monthly review's one tail."""
        gh, repo = target.gh, target.repo
        done = self._opened
        wanted = {k: v for k, v in wanted.items() if (repo.full_name, label, *k) not in done}
        if not wanted:
            return
        params = {"labels": label, "state": "all"} | ({"since": since} if since else {})
        existing = await paginate(gh, f"/repos/{repo.full_name}/issues", params=params)
        made = {
            ident(m)
            for item in existing
            if Issue.from_api(item, app_id=self._reconciler.app_id).ours
            for m in markers.of(kind, str(item.get("body") or ""))
        }
        for which, make in wanted.items():
            handled = (repo.full_name, label, *which)
            action = None if which in made else await make()
            if action is None:
                self._opened.add(handled)
                continue
            key = IssueKey(target.installation_id, repo.owner, repo.name, 0)
            run = RunReport(key, incident=False, planned=[action])
            if not target.dry_run:
                run.outcome = await execute(
                    gh, repo.full_name, 0, [action], log_extra={"repository": repo.full_name}
                )
                if not run.outcome.failed:
                    self._opened.add(handled)
            target.count(key, run)


async def delabelled(gh: GitHubPort, repo: Repo) -> list[dict[str, Any]]:
    """Open issues whose last incident label was taken off lately (a missed delivery): the
    reconciler finds the app's brief on them and puts the labels back (behaviour §8). The
    repository's newest issue events, one page, mostly a free 304."""
    events = await paginate(
        gh, f"/repos/{repo.full_name}/issues/events", params={"per_page": 100}, limit=1
    )
    seen: set[int] = set()
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
