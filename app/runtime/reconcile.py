"""snapshot → plan → execute for one issue: the path every delivery, tick and dry run takes.

Reading is the reader's (app/reader.py), deciding the runbook's, writing the executor's;
this module only runs them in order, and says what happened.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from app.core import markers, notify, runbook, statuspage
from app.core.actions import PIR_ACTIONS, Action, OpenIssue, PostComment
from app.core.keys import Hints, IssueKey
from app.core.labels import horizon_of
from app.core.policy import Policy
from app.core.snapshot import Issue, Repo, Snapshot
from app.core.state import derive
from app.github.config import ConfigLoader
from app.github.errors import GitHubError, MaybeApplied, RateLimited
from app.github.executor import Outcome, execute, to_call
from app.github.port import GitHubPort
from app.github.reader import Reader
from app.notify import calendars
from app.runtime import review
from app.runtime.oncall import OnCallReader
from app.runtime.statuspage import Publisher, SiteLock
from app.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class RunReport:
    """What one reconciliation of one issue did."""

    key: IssueKey
    incident: bool = False
    planned: list[Action] = field(default_factory=list)
    outcome: Outcome = field(default_factory=Outcome)
    capped: int = 0
    error: str | None = None
    deferred: bool = False
    seen: tuple[Snapshot, Policy] | None = field(default=None, repr=False)  # the last read


class Reconciler:
    """Brings one issue in line with the runbook."""

    def __init__(
        self,
        *,
        clients: Callable[[int], GitHubPort],
        app_id: int | None,
        now: Callable[[], datetime],
        config: ConfigLoader | None = None,
        max_actions: int = 30,
        notifications: notify.Sink | None = None,
        oncall: OnCallReader | None = None,
        site_lock: SiteLock | None = None,
    ) -> None:
        self._clients = clients
        self.oncall = oncall or OnCallReader(None, app_id=app_id)
        self._app_id = app_id
        self._now = now
        self._max_actions = max_actions
        self._notifications = notifications
        if config is None and notifications is not None:
            config = ConfigLoader(notifiers=notifications.names())
        self.reader = Reader(app_id=app_id, now=now, config=config)
        self.publisher = Publisher(now=now, config=self.reader.config, shared=site_lock)
        # Told of every run as it begins and once it is over (app/runtime/timing.py: a
        # wake-up in case this process dies meanwhile, then the next one due).
        self.before: Callable[[IssueKey], Awaitable[None]] | None = None
        self.after: Callable[[RunReport], Awaitable[None]] | None = None

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        clients: Callable[[int], GitHubPort],
        now: Callable[[], datetime],
        notifications: notify.Sink | None = None,
        site_lock: SiteLock | None = None,
    ) -> Reconciler:
        """The one way the server, `receive` and `tick` build it."""
        return cls(
            clients=clients,
            app_id=settings.app_id,
            now=now,
            max_actions=settings.max_actions_per_run,
            notifications=notifications,
            oncall=OnCallReader(calendars.from_settings(settings, now=now), app_id=settings.app_id),
            site_lock=site_lock,
        )

    @property
    def app_id(self) -> int | None:
        return self._app_id

    @property
    def config(self) -> ConfigLoader:
        return self.reader.config

    def now(self) -> datetime:
        return self._now()

    async def run(
        self,
        key: IssueKey,
        hints: Hints | None = None,
        *,
        dry_run: bool = False,
        repo: Repo | None = None,
        issue: dict[str, Any] | None = None,
    ) -> RunReport:
        """Reconcile one issue; never raises (the report says what went wrong)."""
        report = RunReport(key)
        if self.before is not None and not dry_run:
            try:
                await self.before(key)
            except Exception:
                log.exception("before the run of %s", key, extra={"issue": str(key)})
        await self._reconcile(report, hints, dry_run=dry_run, repo=repo, issue=issue)
        if report.seen is not None and report.outcome.done and self._notifications is not None:
            # What was done on GitHub is told outside it, whatever failed after it.
            self._notify(*report.seen, report)
        if report.seen is not None and not dry_run:
            await self._publish(report.key, *report.seen)
        await self._settle(report)
        return report

    async def _settle(self, report: RunReport) -> None:
        """Tell `after` the run is over; its failure is logged, never raised."""
        if self.after is None:
            return
        try:
            await self.after(report)
        except Exception:
            log.exception("after the run of %s", report.key, extra={"issue": str(report.key)})

    async def _publish(self, key: IssueKey, snapshot: Snapshot, policy: Policy) -> None:
        """The incident's public record onto its status site, when it has one and is listed
        there (app/core/statuspage); the publisher never raises."""
        where = policy.statuspage
        if where is None:
            return
        if where.repository.split("/")[0].lower() != snapshot.repo.owner.lower():
            # The installation's token reaches its own owner's repositories only.
            log.warning("statuspage.repository must belong to %s", snapshot.repo.owner)
            return
        state = derive(snapshot, policy)
        incident = statuspage.public_incident(snapshot, state) if state is not None else None
        if incident is None:
            return
        gh = self._clients(key.installation_id)
        done = await self.publisher.publish(gh, key.installation_id, where, incident)
        if done.error:
            log.warning("status site not updated: %s", done.error, extra=_extra(key, None))

    async def _reconcile(
        self,
        report: RunReport,
        hints: Hints | None,
        *,
        dry_run: bool,
        repo: Repo | None,
        issue: dict[str, Any] | None,
    ) -> RunReport:
        extra = _extra(report.key, hints)
        gh = self._clients(report.key.installation_id)
        try:
            await self._attempts(gh, report, hints, extra, dry_run=dry_run, repo=repo, issue=issue)
        except GitHubError as exc:
            report.error = str(exc)
            report.deferred = isinstance(exc, RateLimited)
            log.warning(
                "reconcile %s: %s", "deferred" if report.deferred else "failed", exc, extra=extra
            )
        except Exception as exc:
            # A bug or a config nobody foresaw stops this issue only, never the tick or the
            # worker: the report carries it to the tick's JSON, the logs and /metrics.
            report.error = f"internal error: {type(exc).__name__}"
            log.exception("reconcile failed", extra=extra)
        return report

    async def _attempts(
        self,
        gh: GitHubPort,
        report: RunReport,
        hints: Hints | None,
        extra: dict[str, Any],
        *,
        dry_run: bool,
        repo: Repo | None,
        issue: dict[str, Any] | None,
    ) -> None:
        """Read, plan, execute; once more after a write that may have happened. Raises the
        failure that stopped the run."""
        key = report.key
        for attempt in (1, 2):
            found = await self.reader.snapshot(gh, key, hints, repo, issue)
            if found is None:
                return
            snapshot, policy = found
            if policy.rotations:
                record = await self.oncall.record(gh, key.full_name, policy, self._now())
                snapshot = replace(snapshot, oncall=record)
            actions = self._plan(report, snapshot, policy, extra)
            if dry_run or not actions:
                return
            outcome = await execute(gh, key.full_name, key.number, actions, log_extra=extra)
            report.outcome.done += outcome.done
            self.reader.remember(key, outcome)
            if not outcome.failed and attempt == 1 and any(map(_covers, actions)):
                # A cover takes effect at once: read the On-call issue again and plan on it.
                hints, issue = None, None
                continue
            if not outcome.failed:
                await self._follow_up(gh, report, snapshot, policy, actions, extra)
                return
            failure = outcome.failed[0][1]
            if isinstance(failure, MaybeApplied) and attempt == 1:
                # A write that may have happened: read GitHub's record again, re-plan,
                # and let the markers decide what is still to do.
                log.info("uncertain write (%s): re-reading and re-planning", failure, extra=extra)
                hints, issue = None, None
                continue
            report.outcome.failed += outcome.failed
            raise failure

    def _plan(
        self, report: RunReport, snapshot: Snapshot, policy: Policy, extra: dict[str, Any]
    ) -> list[Action]:
        """The runbook's actions for this read, capped at `max_actions`; the report records
        the read, the whole plan and how many were cut."""
        now = self._now()
        # Notifications tell of the run as planned: who was on call when it planned.
        report.seen = (snapshot, runbook.on_call_policy(snapshot, policy, now))
        report.incident = True
        actions = runbook.plan(snapshot, policy, now)
        report.planned = actions
        if len(actions) > self._max_actions:
            report.capped = len(actions) - self._max_actions
            log.warning("capped %d actions", report.capped, extra=extra)
            actions = actions[: self._max_actions]
        return actions

    async def _follow_up(
        self,
        gh: GitHubPort,
        report: RunReport,
        snapshot: Snapshot,
        policy: Policy,
        actions: list[Action],
        extra: dict[str, Any],
    ) -> None:
        """After a plan ran without failure: the list of the action items it opened, and the
        review's steps in a row. Raises the review's last failure."""
        await self._list_action_items(gh, report.key, snapshot, policy, report, extra)
        if not (any(isinstance(a, PIR_ACTIONS) for a in actions) or snapshot.pir):
            return
        await review.finish(
            gh, report.key, snapshot, policy, report.outcome, reader=self.reader, extra=extra
        )
        if report.outcome.failed:
            raise report.outcome.failed[-1][1]

    def _notify(self, snapshot: Snapshot, policy: Policy, report: RunReport) -> None:
        """Hand the run's writes, as events, to the operator's notifiers: the core's
        `notify.audience` decides who is told, if anyone."""
        assert self._notifications is not None
        state = derive(snapshot, policy)
        if state is None:
            return
        told = notify.audience(
            snapshot, policy, state, (action for action, _ in report.outcome.done)
        )
        if told is None:
            return
        found = notify.events(
            [
                notify.Done(action, reply.data if isinstance(reply.data, dict) else {})
                for action, reply in report.outcome.done
            ],
            repo=snapshot.repo.full_name,
            number=snapshot.issue.number,
            title=snapshot.issue.title,
            issue_url=snapshot.issue.url
            or f"https://github.com/{snapshot.repo.full_name}/issues/{snapshot.issue.number}",
            severity=state.severity,
            status=state.status.value,
            comments={c.id: (c.body, c.url) for c in snapshot.comments},
            people=told.people,
            slack_ids=policy.slack,
            confidential=told.confidential,
            at=self._now(),
            public=statuspage.public_incident(snapshot, state),
            impact=statuspage.impact_share(state),
            impacts=statuspage.impact_statements(state),
        )
        for event in found:
            if to := told.for_event(event):
                self._notifications.submit(event, to)

    async def _list_action_items(
        self,
        gh: GitHubPort,
        key: IssueKey,
        snapshot: Snapshot,
        policy: Policy,
        report: RunReport,
        extra: dict[str, Any],
    ) -> None:
        """After action-item issues were opened, the incident's list of them (it needs their
        numbers, so it is planned on what was just created)."""
        record = snapshot.followup
        opened = [
            (action, reply)
            for action, reply in report.outcome.done
            if isinstance(action, OpenIssue) and action.kind == "action-item"
        ]
        if record is None or not opened:
            return
        new = tuple(
            (m.key, int(reply.data.get("number", 0)), horizon_of(action.labels[1:]))
            for action, reply in opened
            if isinstance(reply.data, dict)
            for m in markers.of(markers.ActionItem, action.body)
        )
        snapshot = replace(snapshot, followup=replace(record, filed=record.filed + new))
        state = derive(snapshot, policy)
        if state is None:
            return
        step = runbook.action_list(snapshot, policy, state)
        if step:
            done = await execute(gh, key.full_name, key.number, step, log_extra=extra)
            report.outcome.done += done.done
            report.outcome.failed += done.failed

    async def remind_review(
        self,
        key: IssueKey,
        issue: dict[str, Any],
        *,
        repo: Repo,
        dry_run: bool = False,
        plan: Callable[[Snapshot, Policy, datetime], list[Action]] = runbook.plan_pir_reminder,
    ) -> RunReport:
        """An open issue the app opened — a review, an action item — reminded when overdue
        (`plan`: once per business day for a review, once a week for an action item)."""
        report = RunReport(key)
        gh = self._clients(key.installation_id)
        extra = _extra(key, None)
        try:
            snap = Snapshot(repo=repo, issue=Issue.from_api(issue, app_id=self._app_id))
            resolved = await self.config.load(gh, key.owner, key.repo)
            report.seen = (snap, resolved.policy)
            # Only an overdue review is worth reading the comments of.
            if not plan(snap, resolved.policy, self._now()):
                await self._settle(report)
                return report
            snap = await self.reader.review_issue_comments(gh, key, snap)
            report.planned = plan(snap, resolved.policy, self._now())
            if report.planned and not dry_run:
                report.outcome = await execute(
                    gh, key.full_name, key.number, report.planned, log_extra=extra
                )
                self.reader.remember(key, report.outcome)
        except GitHubError as exc:
            report.error = str(exc)
        except Exception as exc:
            report.error = f"internal error: {type(exc).__name__}"
            log.exception("review reminder failed", extra=extra)
        await self._settle(report)
        return report

    def describe(self, key: IssueKey, actions: list[Action]) -> list[str]:
        """The requests a plan would send, one line each (dry runs)."""
        return [to_call(key.full_name, key.number, a).describe() for a in actions]


def _covers(action: Action) -> bool:
    """Does the action record a cover in the On-call issue (`/oncall cover`)?"""
    return isinstance(action, PostComment | OpenIssue) and action.kind in ("cover", "oncall")


def _extra(key: IssueKey, hints: Hints | None) -> dict[str, Any]:
    """The context every log line of one run carries."""
    return {
        "issue": str(key),
        "installation": key.installation_id,
        "repository": key.full_name,
        "delivery_id": ",".join(hints.delivery_ids) if hints else None,
    }
