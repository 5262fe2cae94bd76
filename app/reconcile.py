"""snapshot → plan → execute for one issue: the path every delivery, tick and dry run takes."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from app import commands as cmd
from app import markers, pir, planner
from app.actions import (
    PIR_ACTIONS,
    Action,
    CreateBranch,
    CreateFile,
    OpenIssue,
    OpenPullRequest,
    PostComment,
    kind,
)
from app.config import ConfigLoader
from app.github import (
    GitHubError,
    GitHubPort,
    Malformed,
    MaybeApplied,
    NotFound,
    Outcome,
    RateLimited,
    Refused,
    Reply,
    Unprocessable,
    execute,
    paginate,
    to_call,
)
from app.policy import Policy, Severity
from app.snapshot import (
    Comment,
    Event,
    Issue,
    PirRecord,
    Repo,
    Snapshot,
    split_timeline,
    ts,
)
from app.state import (
    INCIDENT_LABEL,
    SEVERITY_LABELS,
    STATUS_LABELS,
    IncidentState,
    command_uses,
    contested_events,
    derive,
    is_incident,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IssueKey:
    installation_id: int
    owner: str
    repo: str
    number: int

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.repo}"

    def __str__(self) -> str:
        return f"{self.owner}/{self.repo}#{self.number}"


@dataclass(frozen=True)
class Hints:
    """What the (coalesced) deliveries for an issue tell before anything is read."""

    issue: dict[str, Any] | None = None
    repo: dict[str, Any] | None = None
    declared_at: datetime | None = None
    severity: Severity | None = None
    delivery_ids: tuple[str, ...] = ()

    def merge(self, newer: Hints) -> Hints:
        """Combine two bursts' hints: the freshest issue, the earliest declaration."""
        issue = self.issue
        if newer.issue is not None and (
            issue is None or str(newer.issue.get("updated_at")) >= str(issue.get("updated_at"))
        ):
            issue = newer.issue
        times = [t for t in (self.declared_at, newer.declared_at) if t is not None]
        return Hints(
            issue=issue,
            repo=newer.repo or self.repo,
            declared_at=min(times) if times else None,
            severity=newer.severity or self.severity,
            delivery_ids=self.delivery_ids + newer.delivery_ids,
        )


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


class TtlCache:
    """A small in-process cache: a hint, never the record (GitHub is the record)."""

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl, self._clock = ttl, clock
        self._data: dict[Any, tuple[float, Any]] = {}

    def get(self, key: Any) -> Any:
        hit = self._data.get(key)
        if hit is None or self._clock() - hit[0] >= self.ttl:
            self._data.pop(key, None)
            return None
        return hit[1]

    def put(self, key: Any, value: Any) -> None:
        if len(self._data) > 10_000:
            self._data.clear()
        self._data[key] = (self._clock(), value)


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
    ) -> None:
        self._clients = clients
        self._app_id = app_id
        self._now = now
        self.config = config or ConfigLoader()
        self._max_actions = max_actions
        self._permissions = TtlCache(300.0)
        # Comments this process posted lately: GitHub's reads may lag its writes, and a
        # payload of the same burst was made before them.
        self._recent = TtlCache(600.0)
        # Command comments known to carry the app's own 👍 (a reaction is not taken back).
        self._reacted = TtlCache(86_400.0)

    async def run(
        self,
        key: IssueKey,
        hints: Hints | None = None,
        *,
        dry_run: bool = False,
        repo: Repo | None = None,
        issue: dict[str, Any] | None = None,
    ) -> RunReport:
        """Reconcile one issue; never raises for GitHub trouble (the report says it)."""
        report = RunReport(key)
        extra = {
            "issue": str(key),
            "installation": key.installation_id,
            "repository": key.full_name,
            "delivery_id": ",".join(hints.delivery_ids) if hints else None,
        }
        gh = self._clients(key.installation_id)
        try:
            for attempt in (1, 2):
                found = await self._snapshot(gh, key, hints, repo, issue)
                if found is None:
                    return report
                snapshot, policy = found
                report.incident = True
                actions = planner.plan(snapshot, policy, self._now())
                report.planned = actions
                if len(actions) > self._max_actions:
                    report.capped = len(actions) - self._max_actions
                    log.warning("capped %d actions", report.capped, extra=extra)
                    actions = actions[: self._max_actions]
                if dry_run or not actions:
                    return report
                outcome = await execute(gh, key.full_name, key.number, actions, log_extra=extra)
                report.outcome.done += outcome.done
                self._remember(key, outcome)
                if not outcome.failed:
                    if any(isinstance(a, PIR_ACTIONS) for a in actions) or snapshot.pir:
                        await self._finish_pir(gh, key, snapshot, policy, report, extra)
                    return report
                failure = outcome.failed[0][1]
                if isinstance(failure, MaybeApplied) and attempt == 1:
                    # A write that may have happened: read GitHub's record again, re-plan,
                    # and let the markers decide what is still to do.
                    log.info(
                        "uncertain write (%s): re-reading and re-planning", failure, extra=extra
                    )
                    hints, issue = None, None
                    continue
                report.outcome.failed += outcome.failed
                raise failure
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

    async def _finish_pir(
        self,
        gh: GitHubPort,
        key: IssueKey,
        snapshot: Snapshot,
        policy: Policy,
        report: RunReport,
        extra: dict[str, Any],
    ) -> None:
        """Run the review's remaining steps in a row, each planned on what the last created."""
        state = derive(snapshot, policy)
        if snapshot.pir is not None:
            record = snapshot.pir
            for action, reply in report.outcome.done:
                record = _advance(record, action, reply)
            snapshot = replace(snapshot, pir=record)
        for _ in range(8):
            if state is None or snapshot.pir is None:
                return
            step = planner.pir_step(snapshot, policy, state)
            if not step:
                return
            outcome = await execute(gh, key.full_name, key.number, step, log_extra=extra)
            report.outcome.done += outcome.done
            self._remember(key, outcome)
            record = snapshot.pir
            for action, reply in outcome.done:
                record = _advance(record, action, reply)
                if isinstance(action, PostComment) and action.number is None:
                    return  # the link comment: the round is done
            for action, exc in outcome.failed:
                if isinstance(exc, Unprocessable):  # it may exist already (a racing run): look
                    fresh = await self._pir_record(gh, key, snapshot, policy, state)
                    if fresh is None:
                        return
                    unchanged = fresh == record
                    record = (
                        replace(fresh, blocked=f"GitHub refused it ({exc})") if unchanged else fresh
                    )
                elif isinstance(exc, Refused | NotFound) and isinstance(action, PIR_ACTIONS):
                    record = replace(record, blocked=_why_blocked(exc))
                else:
                    report.outcome.failed.append((action, exc))
                    report.error = str(exc)
                    return
            snapshot = replace(snapshot, pir=record)

    async def _pir_record(
        self,
        gh: GitHubPort,
        key: IssueKey,
        snapshot: Snapshot,
        policy: Policy,
        state: IncidentState,
    ) -> PirRecord | None:
        """Find what a previous run already made of this round's review (it may have crashed)."""
        rnd = planner.pir_round(snapshot, state, policy)
        if rnd is None:
            return None
        repo = key.full_name
        issues = await paginate(
            gh,
            f"/repos/{repo}/issues",
            params={"labels": policy.pir.label, "state": "all"},
            limit=3,
        )
        # Only an issue the app opened is its review: anyone who can label may open an issue
        # labelled `pir` with a copied marker in its body.
        pir_issue = next(
            (
                int(item["number"])
                for item in issues
                if Issue.from_api(item, app_id=self._app_id).ours
                for m in markers.of(markers.PirIssue, str(item.get("body") or ""))
                if m.incident == key.number and m.round == rnd.number
            ),
            None,
        )
        branch = await gh.request("GET", f"/repos/{repo}/git/ref/heads/{rnd.branch}", ok=(404,))
        record = PirRecord(issue=pir_issue, branch_exists=branch.status == 200)
        if branch.status == 200:
            path = pir.document_path(policy, rnd, snapshot.issue.title)
            found = await gh.request(
                "GET",
                f"/repos/{repo}/contents/{quote(path)}",
                params={"ref": rnd.branch},
                ok=(404,),
            )
            pulls = await gh.request(
                "GET",
                f"/repos/{repo}/pulls",
                params={"head": f"{key.owner}:{rnd.branch}", "state": "all"},
            )
            numbers = [int(p["number"]) for p in pulls.data or [] if isinstance(p, dict)]
            return replace(
                record, file_exists=found.status == 200, pull=numbers[0] if numbers else None
            )
        base = await gh.request(
            "GET", f"/repos/{repo}/git/ref/heads/{snapshot.repo.default_branch}", ok=(404, 409)
        )
        sha = (base.data or {}).get("object", {}).get("sha") if base.status == 200 else None
        if sha is None:
            return replace(record, blocked="the default branch has no commits")
        return replace(record, base_sha=str(sha))

    def now(self) -> datetime:
        return self._now()

    async def remind_review(
        self, key: IssueKey, issue: dict[str, Any], *, repo: Repo, dry_run: bool = False
    ) -> RunReport:
        """An open PIR issue: remind its assignee once per business day when it is overdue."""
        report = RunReport(key)
        gh = self._clients(key.installation_id)
        extra = {
            "issue": str(key),
            "installation": key.installation_id,
            "repository": key.full_name,
        }
        try:
            snap = Snapshot(repo=repo, issue=Issue.from_api(issue, app_id=self._app_id))
            resolved = await self.config.load(gh, key.owner, key.repo)
            # Only an overdue review is worth reading the comments of.
            if not planner.plan_pir_reminder(snap, resolved.policy, self._now()):
                return report
            items = await paginate(gh, f"/repos/{key.full_name}/issues/{key.number}/timeline")
            comments, _ = split_timeline(items, app_id=self._app_id)
            seen = {c.id for c in comments}
            recent = tuple(c for c in self._recent.get(key) or [] if c.id not in seen)
            snap = replace(snap, comments=comments + recent)
            report.planned = planner.plan_pir_reminder(snap, resolved.policy, self._now())
            if report.planned and not dry_run:
                report.outcome = await execute(
                    gh, key.full_name, key.number, report.planned, log_extra=extra
                )
                self._remember(key, report.outcome)
        except GitHubError as exc:
            report.error = str(exc)
        except Exception as exc:
            report.error = f"internal error: {type(exc).__name__}"
            log.exception("review reminder failed", extra=extra)
        return report

    def describe(self, key: IssueKey, actions: list[Action]) -> list[str]:
        """The requests a plan would send, one line each (dry runs)."""
        return [to_call(key.full_name, key.number, a).describe() for a in actions]

    def _remember(self, key: IssueKey, outcome: Outcome) -> None:
        posted = [
            Comment(
                id=int(reply.data.get("id", 0)) if isinstance(reply.data, dict) else 0,
                author="",
                author_is_bot=True,
                association="NONE",
                created_at=ts(reply.data["created_at"])
                if isinstance(reply.data, dict) and reply.data.get("created_at")
                else self._now(),
                body=action.body,
                ours=True,
            )
            for action, reply in outcome.done
            # a comment on another issue (the PIR issue) is no part of this issue's record
            if isinstance(action, PostComment) and action.number is None
        ]
        if outcome.done:
            known = self._recent.get(key) or []
            self._recent.put(key, known + posted)

    async def _snapshot(
        self,
        gh: GitHubPort,
        key: IssueKey,
        hints: Hints | None,
        repo: Repo | None,
        listed: dict[str, Any] | None = None,
    ) -> tuple[Snapshot, Policy] | None:
        """Read what planning needs; `listed` is the issue as a list request just returned."""
        issue_data = hints.issue if hints else None
        recent = self._recent.get(key)
        # A fresh declaration is decided from the delivery alone (no reads but the config):
        # only while the payload is fresh, has no comments, and this process wrote nothing
        # there lately. A redelivered or late payload may be stale: read GitHub's record.
        light = (
            hints is not None
            and issue_data is not None
            and hints.declared_at is not None
            and int(issue_data.get("comments") or 0) == 0
            and recent is None
            and _fresh(issue_data, self._now())
        )
        if listed is not None:
            issue_data, light = listed, False
        elif not light:
            issue_data = (
                await gh.request("GET", f"/repos/{key.full_name}/issues/{key.number}")
            ).data
        try:
            issue = Issue.from_api(issue_data or {})
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise Malformed(
                "GET",
                f"/repos/{key.full_name}/issues/{key.number}",
                200,
                f"an issue GitHub's answer does not describe ({exc!r})",
            ) from None
        if issue.is_pull_request or not is_incident(issue.labels):
            return None
        if repo is None:
            repo = (
                Repo.from_api(hints.repo)
                if hints and hints.repo
                else Repo.from_api((await gh.request("GET", f"/repos/{key.full_name}")).data)
            )
        resolved = await self.config.load(gh, key.owner, key.repo)
        if light:
            assert hints is not None and hints.declared_at is not None
            events = _synthetic_events(issue, hints.declared_at, hints.severity)
            snap = Snapshot(
                repo=repo,
                issue=issue,
                events=events,
                complete=False,
                config_problems=resolved.problems,
            )
            return snap, resolved.policy
        items = await paginate(gh, f"/repos/{key.full_name}/issues/{key.number}/timeline")
        comments, events = split_timeline(items, app_id=self._app_id)
        seen = {c.id for c in comments}
        comments += tuple(c for c in recent or [] if c.id not in seen)
        snap = Snapshot(
            repo=repo,
            issue=issue,
            comments=comments,
            events=events,
            config_problems=resolved.problems,
        )
        allowed = await self._authorized(gh, key, snap, resolved.policy)
        snap = replace(snap, authorized=allowed)
        snap = replace(snap, comments=await self._confirmed(gh, key, snap, resolved.policy))
        state = derive(snap, resolved.policy)
        if state is not None and planner.pir_round(snap, state, resolved.policy) is not None:
            snap = replace(snap, pir=await self._pir_record(gh, key, snap, resolved.policy, state))
        return snap, resolved.policy

    async def _confirmed(
        self, gh: GitHubPort, key: IssueKey, snap: Snapshot, policy: Policy
    ) -> tuple[Comment, ...]:
        """The comments, each command comment marked `confirmed` when the app's own 👍 is on it.

        Only a comment with some 👍 is worth a look at who gave it; once the app's is seen it
        stays (cached), so a handled comment costs one read per process.
        """
        bot = next((c.author.lower() for c in snap.comments if c.ours and c.author), None)
        commands = {
            use.comment.id
            for use in command_uses(snap, policy)
            if use.authorized and not isinstance(use.command, cmd.Invalid | cmd.Help)
        }
        out: list[Comment] = []
        for comment in snap.comments:
            if comment.id in commands and comment.thumbs_up > 0 and bot is not None:
                seen = self._reacted.get(comment.id)
                if seen is None:
                    reply = await gh.request(
                        "GET",
                        f"/repos/{key.full_name}/issues/comments/{comment.id}/reactions",
                        params={"content": "+1", "per_page": 100},
                        ok=(404,),
                    )
                    users = reply.data if isinstance(reply.data, list) else []
                    seen = any(
                        isinstance(r, dict)
                        and str((r.get("user") or {}).get("login", "")).lower() == bot
                        for r in users
                    )
                    if seen:
                        self._reacted.put(comment.id, True)
                comment = replace(comment, confirmed=bool(seen))
            out.append(comment)
        return tuple(out)

    async def _authorized(
        self, gh: GitHubPort, key: IssueKey, snap: Snapshot, policy: Policy
    ) -> frozenset[str]:
        """Logins among command authors, and people who changed severity or status, with write
        access (cached briefly per repository)."""
        people = {use.comment.author for use in command_uses(snap, policy)}
        people |= {e.actor for e in contested_events(snap) if e.actor}
        authors = {p.lower() for p in people if p.lower() not in policy.roster_logins}
        allowed = set()
        for login in sorted(authors):
            cache_key = (key.full_name.lower(), login)
            verdict = self._permissions.get(cache_key)
            if verdict is None:
                reply = await gh.request(
                    "GET",
                    f"/repos/{key.full_name}/collaborators/{login}/permission",
                    ok=(404, 403),
                )
                perm = reply.data.get("permission") if isinstance(reply.data, dict) else None
                verdict = reply.status == 200 and perm in ("admin", "write")
                self._permissions.put(cache_key, verdict)
            if verdict:
                allowed.add(login)
        return frozenset(allowed)


LIGHT_WINDOW = timedelta(seconds=60)


def _fresh(issue: dict[str, Any], now: datetime) -> bool:
    """Was this payload made within the last minute (by GitHub's clock, against ours)?"""
    try:
        made = ts(issue.get("updated_at") or issue["created_at"])
    except (KeyError, ValueError):
        return False
    return abs(now - made) <= LIGHT_WINDOW


def _synthetic_events(issue: Issue, at: datetime, severity: Severity | None) -> tuple[Event, ...]:
    """The labels a fresh incident carries, as if labelled at the declaration time."""
    labels = [x for x in issue.labels if x == INCIDENT_LABEL or x in STATUS_LABELS]
    sevs = sorted((x for x in issue.labels if x in SEVERITY_LABELS), reverse=True)
    if severity is not None and severity.label in sevs:  # the delivery's label wins
        sevs.remove(severity.label)
        sevs.append(severity.label)
    return tuple(
        Event(id=0, kind="labeled", at=at, actor=issue.author, ours=False, label=label)
        for label in [*labels, *sevs]
    )


def _advance(record: PirRecord, action: Action, reply: Reply) -> PirRecord:
    """The review's record after one of its steps succeeded."""
    data = reply.data if isinstance(reply.data, dict) else {}
    if isinstance(action, OpenIssue):
        return replace(record, issue=int(data.get("number", 0)) or None)
    if isinstance(action, CreateBranch):
        return replace(record, branch_exists=True)
    if isinstance(action, CreateFile):
        return replace(record, file_exists=True)
    if isinstance(action, OpenPullRequest):
        return replace(record, pull=int(data.get("number", 0)) or None)
    return record


def _why_blocked(exc: GitHubError) -> str:
    if isinstance(exc, Refused):
        return "the app may not write to this repository's contents or the branch is protected"
    return f"GitHub answered {exc.status}"


def count_kinds(actions: list[Action]) -> dict[str, int]:
    found: dict[str, int] = {}
    for action in actions:
        found[kind(action)] = found.get(kind(action), 0) + 1
    return found
