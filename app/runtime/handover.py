"""Handoffs, as the tick carries them out per repository: one handover issue per rotation's
handoff listing the open incidents (GitLab's on-call handover issues); the note on each open
P0/P1 is the incident's own plan (`core/runbook/oncall.handover`).

Idempotent: the issue carries a marker naming the rotation and the handoff, and is looked for
before one is opened, so a second tick, or a replica's, opens none. Its pace: one issue per
rotation and handoff (three a day for follow-the-sun), paced with every other write by the
client's per-installation Pacer (about one a second, under GitHub's 80 a minute), and at most
HANDOVER_ISSUES_PER_HOUR per installation an hour (an organisation's rotation shared by many
repositories would otherwise open one in each at once, against GitHub's 500 an hour): the
rest follow at later ticks while the handoff is within the handover window.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from app.core import markers, runbook
from app.core.actions import Action
from app.core.keys import IssueKey
from app.core.labels import ONCALL
from app.core.messages.oncall import iso
from app.core.oncall import Handoff, OnCallRecord, last_handoff
from app.core.policy import Policy
from app.core.snapshot import Issue, Repo, Snapshot
from app.core.state import IncidentState, derive
from app.github.executor import execute
from app.github.port import GitHubPort, paginate
from app.runtime.reconcile import Reconciler, RunReport

# Handover issues one installation opens in an hour, per process (GitHub: 500 writes an hour).
HANDOVER_ISSUES_PER_HOUR = 100
_HOUR = timedelta(hours=1)


def due_handoffs(policy: Policy, record: OnCallRecord, now: datetime) -> list[Handoff]:
    """Each rotation's latest handoff within the handover window."""
    found = (
        last_handoff(name, policy, now, runbook.HANDOVER_WINDOW, record)
        for name in policy.rotations
    )
    return [h for h in found if h is not None]


def incidents(seen: Iterable[tuple[Snapshot, Policy]]) -> list[tuple[Snapshot, IncidentState]]:
    """The incidents a tick just read, with their states."""
    found: list[tuple[Snapshot, IncidentState]] = []
    for snapshot, policy in seen:
        state = derive(snapshot, policy)
        if state is not None and not state.drill:
            found.append((snapshot, state))
    return found


async def made(
    gh: GitHubPort, full_name: str, handoffs: list[Handoff], app_id: int | None
) -> set[tuple[str, str]]:
    """The (rotation, handoff) pairs whose handover issue the app opened already."""
    since = min(h.at for h in handoffs).strftime("%Y-%m-%dT00:00:00Z")
    listed = await paginate(
        gh,
        f"/repos/{full_name}/issues",
        params={"labels": ONCALL, "state": "all", "since": since},
        limit=3,
    )
    return {
        (m.rotation, m.at)
        for item in listed
        if Issue.from_api(item, app_id=app_id).ours
        for m in markers.of(markers.HandoverIssue, str(item.get("body") or ""))
    }


def to_open(
    policy: Policy,
    handoffs: list[Handoff],
    done: set[tuple[str, str]],
    open_incidents: list[tuple[Snapshot, IncidentState]],
) -> list[tuple[Handoff, Action | None]]:
    """Each handoff without its issue, with the issue to open (None: nothing is open)."""
    return [
        (h, runbook.handover_issue(policy, h, open_incidents))
        for h in handoffs
        if (h.rotation, iso(h.at)) not in done
    ]


class Handovers:
    """The tick's handover issues, remembering per process which handoffs are done (the
    marker on GitHub is the record; this only spares the listing)."""

    def __init__(self, reconciler: Reconciler) -> None:
        self._reconciler = reconciler
        self._done: set[tuple[str, str, str]] = set()  # (repository, rotation, at)
        self._opened: dict[int, list[datetime]] = {}  # installation → when it opened one

    async def run(
        self,
        gh: GitHubPort,
        key: IssueKey,
        repo: Repo,
        seen: list[tuple[Snapshot, Policy]],
        *,
        dry_run: bool,
    ) -> list[RunReport]:
        """After a rotation's handoff, its handover issue listing the incidents the tick just
        read that were open at it, once."""
        policy = (await self._reconciler.config.load(gh, repo.owner, repo.name)).policy
        if not policy.rotations:
            return []
        now = self._reconciler.now()
        record = await self._reconciler.oncall.record(gh, repo.full_name, policy, now)
        due = [h for h in due_handoffs(policy, record, now) if self._key(repo, h) not in self._done]
        open_incidents = incidents(seen)
        if not due or not open_incidents:
            return []
        done = await made(gh, repo.full_name, due, self._reconciler.app_id)
        self._done |= {self._key(repo, h) for h in due if (h.rotation, iso(h.at)) in done}
        runs: list[RunReport] = []
        for found, action in to_open(policy, due, done, open_incidents):
            if action is not None and not dry_run and not self._budget(key.installation_id, now):
                break  # a later tick opens it, while the handoff is within the window
            run = RunReport(key, incident=False, planned=[action] if action else [])
            if action is not None and not dry_run:
                run.outcome = await execute(
                    gh, repo.full_name, 0, [action], log_extra={"repository": repo.full_name}
                )
            if not dry_run and not run.outcome.failed:
                self._done.add(self._key(repo, found))
            runs.append(run)
        return runs

    def _budget(self, installation: int, now: datetime) -> bool:
        """Whether the installation may open one more handover issue this hour (counted)."""
        recent = [t for t in self._opened.get(installation, []) if now - t < _HOUR]
        self._opened[installation] = recent
        if len(recent) >= HANDOVER_ISSUES_PER_HOUR:
            return False
        recent.append(now)
        return True

    @staticmethod
    def _key(repo: Repo, handoff: Handoff) -> tuple[str, str, str]:
        return (repo.full_name, handoff.rotation, iso(handoff.at))
