"""Reading GitHub's record of one issue into the snapshot the planner needs."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from app.core import commands as cmd
from app.core import markers, pir, runbook
from app.core.actions import PostComment
from app.core.keys import Hints, IssueKey
from app.core.labels import ACTION_ITEM, INCIDENT, SEVERITIES, STATUSES, horizon_of, is_incident
from app.core.policy import ConfigIssue, Policy, Severity
from app.core.snapshot import (
    Comment,
    Event,
    Followup,
    Issue,
    PirRecord,
    Recent,
    Repo,
    Snapshot,
    split_timeline,
    ts,
)
from app.core.state import (
    IncidentState,
    command_uses,
    contested_events,
    derive,
    label_actors,
    needs_confirmation,
)
from app.github.config import ConfigLoader, Resolved, read_file
from app.github.errors import Malformed
from app.github.executor import Outcome
from app.github.port import GitHubPort, paginate


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
        self._app_id = app_id
        self._now = now
        self.config = config or ConfigLoader()
        self._permissions = TtlCache(300.0)
        # Comments this process posted lately: GitHub's reads may lag its writes, and a
        # payload of the same burst was made before them.
        self._recent = TtlCache(600.0)
        # Command comments known to carry the app's own 👍 (a reaction is not taken back).
        self._reacted = TtlCache(86_400.0)

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
        comments, events = split_timeline(items, app_id=self._app_id)
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
            return Issue.from_api(issue_data or {}, app_id=self._app_id)
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
            snap = replace(snap, authorized=await self._authorized(gh, key, snap, resolved.policy))
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
        snap = replace(snap, authorized=await self._authorized(gh, key, snap, policy))
        snap = replace(snap, comments=await self._confirmed(gh, key, snap, policy))
        state = derive(snap, policy)
        if state is None:
            return snap
        if self._private_home_needed(snap, policy, state):
            snap = await self._private_home(gh, key, snap, resolved)
        if not runbook.briefed(state) and snap.issue.state == "open":
            snap = replace(snap, recent=await self._recent_incidents(gh, key, policy))
        if runbook.pir_round(snap, policy, state) is not None:
            snap = replace(snap, pir=await self.pir_record(gh, key, snap, policy, state))
        if self._follow_up(snap, state, hints):
            snap = replace(snap, followup=await self.followup(gh, key, snap, policy, state))
        return snap

    async def _private_home(
        self, gh: GitHubPort, key: IssueKey, snap: Snapshot, resolved: Resolved
    ) -> Snapshot:
        """The snapshot with the configured private repository for a sensitive review, or a
        config problem when it is not one of the owner's private repositories."""
        name = resolved.policy.pir.private_repository
        # Only a definite answer decides: a 404 (not visible to this installation) or the
        # repository itself; anything else raises, and the next run asks again.
        found = await gh.request("GET", f"/repos/{name}", ok=(404,))
        if found.status == 200 and isinstance(found.data, dict):
            snap = replace(snap, private_home=Repo.from_api(found.data))
        if runbook.private_home(snap, resolved.policy) is not None:
            return snap
        problem = ConfigIssue(
            resolved.source,
            # An organisation's file may name a repository this one's readers must
            # not learn of: then only counted on the issue (ConfigIssue.foreign).
            "pir.private_repository",
            f"'{name}' is not a private repository of {key.owner} where the app is "
            "installed; the review of this sensitive incident is held privately",
            foreign=not resolved.source.lower().startswith(key.full_name.lower() + ":"),
        )
        return replace(snap, config_problems=(*snap.config_problems, problem))

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

    @staticmethod
    def _private_home_needed(snap: Snapshot, policy: Policy, state: IncidentState) -> bool:
        """Is `pir.private_repository` about to receive a review (so worth checking)?"""
        return (
            policy.pir.private_repository is not None
            and state.sensitive
            and not snap.repo.private
            and pir.current_round(state) is not None
        )

    @staticmethod
    def _follow_up(snap: Snapshot, state: IncidentState, hints: Hints | None) -> bool:
        """Is there action-item work that needs GitHub's record of what was filed?"""
        if hints is not None and hints.followup:
            return True  # a review's pull request was just merged
        listed = {k for n in state.notes_of(markers.ActionList) for k in n.marker.keys}
        linked = runbook.linked_round(state)
        unlisted = linked is not None and not any(k.startswith(f"r{linked[0]}:") for k in listed)
        if unlisted and snap.issue.state == "closed":
            return True  # the review may have been merged while the app was away
        return any(
            use.authorized
            and isinstance(use.command, cmd.AddActionItem)
            and f"c{use.comment.id}" not in listed
            for use in state.uses
        )

    async def followup(
        self, gh: GitHubPort, key: IssueKey, snap: Snapshot, policy: Policy, state: IncidentState
    ) -> Followup:
        """The action items already filed for this incident, and its merged review document."""
        repo = key.full_name
        items = await paginate(
            gh, f"/repos/{repo}/issues", params={"labels": ACTION_ITEM, "state": "all"}
        )
        filed = []
        for item in items:
            issue = Issue.from_api(item, app_id=self._app_id)
            if not issue.ours:
                continue  # only the app's own issues are its records
            horizon = horizon_of(issue.labels)
            for m in markers.of(markers.ActionItem, issue.body):
                if m.incident == key.number:
                    filed.append((m.key, issue.number, horizon))
        record = Followup(filed=tuple(filed))
        linked = runbook.linked_round(state)
        links = [n.marker for n in state.notes_of(markers.PirLink) if n.marker.issue]
        where, _ = runbook.review_place(snap, policy, state)
        if links and where is None:
            review = max(links, key=lambda m: m.round).issue
            assert review is not None
            items_there = await paginate(gh, f"/repos/{repo}/issues/{review}/timeline")
            comments, _ = split_timeline(items_there, app_id=self._app_id)
            listing = [
                (c.id, m.keys)
                for c in comments
                if c.ours
                for m in markers.of(markers.ActionList, c.body)
            ]
            record = replace(
                record, review_issue=review, review_listing=listing[-1] if listing else None
            )
        if linked is None or where is not None:
            return record  # no document here (held privately or elsewhere)
        number, pull, resolved_at = linked
        found = await gh.request("GET", f"/repos/{repo}/pulls/{pull}", ok=(404,))
        data = found.data if isinstance(found.data, dict) else {}
        if found.status != 200 or not data.get("merged_at"):
            return record
        rnd = pir.Round(number, resolved_at, key.number)
        path = pir.document_path(policy, rnd, snap.issue.title)
        text = await read_file(gh, key.owner, key.repo, path)
        return replace(record, merged_at=ts(data["merged_at"]), document=text or "")

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
        if needs_confirmation(snap, policy) and not _confirmed_on_record(snap):
            people |= label_actors(snap)  # may their labels confirm the declaration?
        authors = {p.lower() for p in people if p.lower() not in policy.roster_logins}
        allowed = set()
        if snap.issue.association == "OWNER" and snap.issue.author.lower() in authors:
            # The repository's owner opened it: GitHub gives its owner admin, no need to ask.
            authors.discard(snap.issue.author.lower())
            allowed.add(snap.issue.author.lower())
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

    async def pir_record(
        self,
        gh: GitHubPort,
        key: IssueKey,
        snapshot: Snapshot,
        policy: Policy,
        state: IncidentState,
    ) -> PirRecord | None:
        """Find what a previous run already made of this round's review (it may have crashed)."""
        rnd = runbook.pir_round(snapshot, policy, state)
        if rnd is None:
            return None
        where, held = runbook.review_place(snapshot, policy, state)
        repo = where or key.full_name
        pir_issue = await self._pir_issue(gh, key, repo, policy, rnd)
        if held:  # held privately: nothing but the issue is written
            return PirRecord(issue=pir_issue)
        default = snapshot.repo.default_branch
        if where is not None:
            info = await gh.request("GET", f"/repos/{where}")
            default = str((info.data or {}).get("default_branch") or "main")
        branch = await gh.request("GET", f"/repos/{repo}/git/ref/heads/{rnd.branch}", ok=(404,))
        record = PirRecord(
            issue=pir_issue,
            branch_exists=branch.status == 200,
            default_branch=default if where else None,
        )
        if branch.status == 200:
            return await self._pir_branch(gh, repo, record, policy, rnd, snapshot.issue.title)
        base = await gh.request("GET", f"/repos/{repo}/git/ref/heads/{default}", ok=(404, 409))
        sha = (base.data or {}).get("object", {}).get("sha") if base.status == 200 else None
        if sha is None:
            return replace(record, blocked="the default branch has no commits")
        return replace(record, base_sha=str(sha))

    async def _pir_issue(
        self, gh: GitHubPort, key: IssueKey, repo: str, policy: Policy, rnd: pir.Round
    ) -> int | None:
        """The number of this round's review issue in `repo`, if the app opened one."""
        issues = await paginate(
            gh,
            f"/repos/{repo}/issues",
            params={"labels": policy.pir.label, "state": "all"},
            limit=3,
        )
        # Only an issue the app opened is its review: anyone who can label may open an issue
        # labelled `pir` with a copied marker in its body.
        return next(
            (
                int(item["number"])
                for item in issues
                if Issue.from_api(item, app_id=self._app_id).ours
                for m in markers.of(markers.PirIssue, str(item.get("body") or ""))
                if m.incident == key.number and m.round == rnd.number and m.repo == rnd.home
            ),
            None,
        )

    async def _pir_branch(
        self,
        gh: GitHubPort,
        repo: str,
        record: PirRecord,
        policy: Policy,
        rnd: pir.Round,
        title: str,
    ) -> PirRecord:
        """The record of a review whose branch exists: its document, its pull request."""
        path = pir.document_path(policy, rnd, title)
        found = await gh.request(
            "GET",
            f"/repos/{repo}/contents/{quote(path)}",
            params={"ref": rnd.branch},
            ok=(404,),
        )
        pulls = await gh.request(
            "GET",
            f"/repos/{repo}/pulls",
            params={"head": f"{repo.split('/')[0]}:{rnd.branch}", "state": "all"},
        )
        numbers = [int(p["number"]) for p in pulls.data or [] if isinstance(p, dict)]
        return replace(
            record, file_exists=found.status == 200, pull=numbers[0] if numbers else None
        )

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
        comments, _ = split_timeline(items, app_id=self._app_id)
        seen = {c.id for c in comments}
        recent = tuple(c for c in self._recent.get(key) or [] if c.id not in seen)
        return replace(snap, comments=comments + recent)


LIGHT_WINDOW = timedelta(seconds=60)


def _confirmed_on_record(snap: Snapshot) -> bool:
    """The app's record says the declaration was confirmed (or needed no confirmation)."""
    for comment in snap.comments:
        if comment.ours:
            for marker in markers.parse(comment.body):
                if isinstance(marker, markers.Confirmed):
                    return True
                if isinstance(marker, markers.Brief) and not marker.unconfirmed:
                    return True
    return False


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
