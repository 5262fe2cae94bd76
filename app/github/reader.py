"""Reading GitHub's record of one issue into the snapshot the planner needs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from app.core import markers, runbook
from app.core.actions import PostComment
from app.core.keys import Hints, IssueKey
from app.core.labels import INCIDENT, SEVERITIES, STATUSES, is_incident
from app.core.policy import Policy, Severity
from app.core.snapshot import Comment, Event, Issue, Recent, Repo, Snapshot, split_timeline, ts
from app.core.state import derive, needs_confirmation
from app.github import review
from app.github.authority import Authority
from app.github.cache import TtlCache
from app.github.config import ConfigLoader, Resolved
from app.github.errors import Malformed
from app.github.executor import Outcome
from app.github.port import GitHubPort, paginate

LIGHT_WINDOW = timedelta(seconds=60)


class Reader:
    """Builds snapshots: the issue, its timeline, the authority of the people in it, and
    what exists of its review. Keeps only hints (short caches); GitHub is the record."""

    def __init__(
        self,
        *,
        app_id: int | None,
        now: Callable[[], datetime],
        config: ConfigLoader | None = None,
    ) -> None:
        self.app_id = app_id
        self._now = now
        self.config = config or ConfigLoader()
        self.authority = Authority()
        # Comments this process posted lately: GitHub's reads may lag its writes, and a
        # payload of the same burst was made before them.
        self._recent = TtlCache(600.0)

    async def snapshot(
        self,
        gh: GitHubPort,
        key: IssueKey,
        hints: Hints | None,
        repo: Repo | None,
        listed: dict[str, Any] | None = None,
    ) -> tuple[Snapshot, Policy] | None:
        """Read what planning needs; `listed` is the issue as a list request just returned."""
        recent = self._recent.get(key)
        # A fresh declaration skips the timeline: only while the delivery is fresh, this
        # process wrote nothing there lately, and GitHub's own record — read now, never the
        # payload, which a redelivery after a restart repeats — shows no comment, so no brief.
        light = (
            hints is not None
            and hints.issue is not None
            and hints.declared_at is not None
            and recent is None
            and listed is None
            and _fresh(hints.issue, self._now())
        )
        issue = await self._issue(gh, key, listed)
        if issue.is_pull_request:
            return None
        labelled = is_incident(issue.labels)
        if not labelled and (issue.state != "open" or issue.comments == 0):
            return None  # no incident labels and no brief: no incident (behaviour §2, §8)
        light = light and labelled and issue.comments == 0
        if repo is None:
            repo = (
                Repo.from_api(hints.repo)
                if hints and hints.repo
                else Repo.from_api((await gh.request("GET", f"/repos/{key.full_name}")).data)
            )
        resolved = await self.config.load(gh, key.owner, key.repo)
        if light:
            assert hints is not None
            return await self._declared(gh, key, hints, repo, issue, resolved), resolved.policy
        items = await paginate(gh, f"/repos/{key.full_name}/issues/{key.number}/timeline")
        comments, events = split_timeline(items, app_id=self.app_id)
        seen = {c.id for c in comments}
        comments += tuple(c for c in recent or [] if c.id not in seen)
        if not labelled and not any(c.ours and markers.of(markers.Brief, c.body) for c in comments):
            return None
        snap = Snapshot(
            repo=repo,
            issue=issue,
            comments=comments,
            events=events,
            config_problems=resolved.problems,
        )
        return await self._completed(gh, key, hints, snap, resolved), resolved.policy

    async def _issue(self, gh: GitHubPort, key: IssueKey, listed: dict[str, Any] | None) -> Issue:
        """The issue, as listed or read now; `Malformed` when GitHub's answer is not one."""
        issue_data = (
            listed
            if listed is not None
            else (await gh.request("GET", f"/repos/{key.full_name}/issues/{key.number}")).data
        )
        try:
            return Issue.from_api(issue_data or {}, app_id=self.app_id)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise Malformed(
                "GET",
                f"/repos/{key.full_name}/issues/{key.number}",
                200,
                f"an issue GitHub's answer does not describe ({exc!r})",
            ) from None

    async def _declared(
        self,
        gh: GitHubPort,
        key: IssueKey,
        hints: Hints,
        repo: Repo,
        issue: Issue,
        resolved: Resolved,
    ) -> Snapshot:
        """A fresh declaration's snapshot without its timeline: events synthesised from the
        labels, `complete=False`."""
        assert hints.declared_at is not None
        events = _synthetic_events(
            issue, hints.declared_at, hints.severity, hints.declared_by or issue.author
        )
        snap = Snapshot(
            repo=repo,
            issue=issue,
            events=events,
            complete=False,
            config_problems=resolved.problems,
        )
        if needs_confirmation(snap, resolved.policy):
            allowed = await self.authority.authorized(gh, key, snap, resolved.policy)
            snap = replace(snap, authorized=allowed)
        return replace(snap, recent=await self._recent_incidents(gh, key, resolved.policy))

    async def _completed(
        self,
        gh: GitHubPort,
        key: IssueKey,
        hints: Hints | None,
        snap: Snapshot,
        resolved: Resolved,
    ) -> Snapshot:
        """The timeline's snapshot with what its state asks to be read as well: authority,
        the app's 👍, the review's private home, recent incidents, the review, follow-up."""
        policy = resolved.policy
        authority = self.authority
        snap = replace(snap, authorized=await authority.authorized(gh, key, snap, policy))
        snap = replace(snap, comments=await authority.confirmed(gh, key, snap, policy))
        state = derive(snap, policy)
        if state is None:
            return snap
        if review.private_home_needed(snap, policy, state):
            snap = await review.private_home(gh, key, snap, resolved)
        if not runbook.briefed(state) and snap.issue.state == "open":
            snap = replace(snap, recent=await self._recent_incidents(gh, key, policy))
        app_id = self.app_id
        if runbook.pir_round(snap, policy, state) is not None:
            record = await review.pir_record(gh, key, snap, policy, state, app_id=app_id)
            snap = replace(snap, pir=record)
        if review.followup_needed(snap, state, hints):
            found = await review.followup(gh, key, snap, policy, state, app_id=app_id)
            snap = replace(snap, followup=found)
        return snap

    async def _recent_incidents(
        self, gh: GitHubPort, key: IssueKey, policy: Policy
    ) -> tuple[Recent, ...]:
        """The repository's incidents of the last `recurrence_days` (one page: the brief
        names recurrences; read only before it is posted)."""
        since = self._now() - timedelta(days=policy.recurrence_days + 1)
        items = await paginate(
            gh,
            f"/repos/{key.full_name}/issues",
            params={
                "labels": INCIDENT,
                "state": "all",
                "since": since.strftime("%Y-%m-%dT00:00:00Z"),
            },
            limit=1,
        )
        found = []
        for item in items:
            if item.get("pull_request") or item.get("number") == key.number:
                continue
            issue = Issue.from_api(item)
            found.append(Recent(issue.number, issue.title, issue.labels, issue.created_at))
        return tuple(found)

    def remember(self, key: IssueKey, outcome: Outcome) -> None:
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

    async def review_issue_comments(
        self, gh: GitHubPort, key: IssueKey, snap: Snapshot
    ) -> Snapshot:
        """A review issue's comments (for its overdue reminders), with what this process
        posted there lately."""
        items = await paginate(gh, f"/repos/{key.full_name}/issues/{key.number}/timeline")
        comments, _ = split_timeline(items, app_id=self.app_id)
        seen = {c.id for c in comments}
        recent = tuple(c for c in self._recent.get(key) or [] if c.id not in seen)
        return replace(snap, comments=comments + recent)


def _fresh(issue: dict[str, Any], now: datetime) -> bool:
    """Was this payload made within the last minute (by GitHub's clock, against ours)?"""
    try:
        made = ts(issue.get("updated_at") or issue["created_at"])
    except (KeyError, ValueError):
        return False
    return abs(now - made) <= LIGHT_WINDOW


def _synthetic_events(
    issue: Issue, at: datetime, severity: Severity | None, actor: str
) -> tuple[Event, ...]:
    """The labels a fresh incident carries, as if `actor` labelled them at the declaration
    time."""
    labels = [x for x in issue.labels if x == INCIDENT or x in STATUSES]
    sevs = sorted((x for x in issue.labels if x in SEVERITIES), reverse=True)
    if severity is not None and severity.label in sevs:  # the delivery's label wins
        sevs.remove(severity.label)
        sevs.append(severity.label)
    return tuple(
        Event(id=0, kind="labeled", at=at, actor=actor, ours=False, label=label)
        for label in [*labels, *sevs]
    )
