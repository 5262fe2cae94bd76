"""The post-incident review (docs/behaviour.md §5): its round, where it is written, its steps
in order (issue, branch, document, pull request, link), and reminders when it is overdue."""

from __future__ import annotations

from datetime import datetime

from app.core import markers, messages, pir
from app.core.actions import (
    Action,
    CreateBranch,
    CreateFile,
    OpenIssue,
    OpenPullRequest,
    PostComment,
)
from app.core.policy import Policy
from app.core.runbook.drills import drill
from app.core.runbook.roles import logins
from app.core.runbook.situation import Situation, briefed
from app.core.snapshot import PirRecord, Snapshot
from app.core.state import IncidentState


def pir_round(snapshot: Snapshot, policy: Policy, state: IncidentState) -> pir.Round | None:
    """The resolution that still needs its review, or None (not resolved, already linked, or
    past `pir.max_rounds`: a close-reopen loop cannot open reviews without end)."""
    found = pir.current_round(state)
    if found is None or found.number > policy.pir.max_rounds:
        return None
    where, _ = review_place(snapshot, policy, state)
    home = snapshot.repo.full_name if where else None
    rnd = pir.Round(found.number, found.resolved_at, snapshot.issue.number, home)
    linked = any(n.marker.round == rnd.number for n in state.notes_of(markers.PirLink))
    return None if linked else rnd


def review_place(
    snapshot: Snapshot, policy: Policy, state: IncidentState
) -> tuple[str | None, bool]:
    """(the repository that holds the review if not the incident's, held privately).

    A security incident or a breach on a public repository never gets its review written
    there: it goes to `pir.private_repository`, or is held privately with nothing written.
    """
    if not state.sensitive or snapshot.repo.private:
        return None, False
    home = private_home(snapshot, policy)
    return home, home is None


def private_home(snapshot: Snapshot, policy: Policy) -> str | None:
    """`pir.private_repository` when GitHub shows it to this installation as a private
    repository of the incident's owner; otherwise None (behaviour §5)."""
    name = policy.pir.private_repository
    home = snapshot.private_home
    if name is None or home is None or not home.private:
        return None
    if home.owner.lower() != snapshot.repo.owner.lower():
        return None
    return home.full_name


def pir_step(snapshot: Snapshot, policy: Policy, state: IncidentState) -> list[Action]:
    """The next step of the review (see `next_step`), as a drill when it is one."""
    return drill(next_step(snapshot, policy, state), state, policy)


def review(s: Situation) -> list[Action]:
    """The plan's step of the review: the next one (see `next_step`)."""
    return next_step(s.snapshot, s.policy, s.state)


def next_step(snapshot: Snapshot, policy: Policy, state: IncidentState) -> list[Action]:
    """The next step of the review: issue, branch, document, pull request, link — in order.

    One step at a time, because each needs what the one before created (the PR closes the
    PIR issue by number). The reconciler runs the steps in a row, re-planning after each.
    """
    rnd = pir_round(snapshot, policy, state)
    record = snapshot.pir
    if rnd is None or record is None or not briefed(state):
        return []
    where, held = review_place(snapshot, policy, state)
    commander = logins(state.roles.get("incident_commander", []))[:1]
    if held:
        if record.issue is None:
            body = pir.private_issue_body(rnd, pir.due(policy, rnd))
            name = f"Post-incident review of #{snapshot.issue.number} (held privately)"
            return [OpenIssue(name, body, (policy.pir.label,), tuple(commander), "pir")]
        return [PostComment(pir.private_link_comment(pir_issue=record.issue, rnd=rnd), "pir")]
    if record.issue is None:
        suffix = f" (round {rnd.number})" if rnd.number > 1 else ""
        return [
            OpenIssue(
                messages.title(f"PIR: {snapshot.issue.title}", suffix),
                pir.issue_body(snapshot, state, policy, rnd),
                (policy.pir.label,),
                tuple(commander),
                "pir",
                repo=where,
            )
        ]
    return _document_step(snapshot, policy, state, rnd, record, record.issue, where)


def _document_step(
    snapshot: Snapshot,
    policy: Policy,
    state: IncidentState,
    rnd: pir.Round,
    record: PirRecord,
    issue: int,
    where: str | None,
) -> list[Action]:
    """Once the review issue exists: branch, document, pull request, link (or, when GitHub
    refused, the document pasted in the review issue and the link)."""
    title = snapshot.issue.title
    document = pir.document(snapshot, state, policy, rnd, pir_issue=issue)
    if record.blocked is not None:
        return [
            PostComment(
                pir.fallback_comment(reason=record.blocked, body=document),
                "pir-fallback",
                number=issue,
                repo=where,
            ),
            PostComment(
                pir.link_comment(
                    pir_issue=issue,
                    pull=None,
                    reason=record.blocked,
                    rnd=rnd,
                    where=where or "",
                ),
                "pir",
            ),
        ]
    if not record.branch_exists:
        if record.base_sha is None:
            return []
        return [CreateBranch(rnd.branch, record.base_sha, repo=where)]
    path = pir.document_path(policy, rnd, title)
    if not record.file_exists:
        message = f"Add post-incident review of {rnd.incident_ref}"
        return [CreateFile(path, rnd.branch, document, message, repo=where)]
    if record.pull is None:
        body = f"Post-incident review of {rnd.incident_ref}: `{path}`.\n\nCloses #{issue}"
        base = record.default_branch or snapshot.repo.default_branch
        return [
            OpenPullRequest(messages.title(f"PIR: {title}"), rnd.branch, base, body, repo=where)
        ]
    link = pir.link_comment(
        pir_issue=issue, pull=record.pull, reason=None, rnd=rnd, where=where or ""
    )
    return [PostComment(link, "pir")]


def due_date(
    snapshot: Snapshot, kind: type[markers.PirIssue | markers.ActionItem]
) -> datetime | None:
    """The due date of an open issue the app opened (its marker of `kind`)."""
    if snapshot.issue.state != "open" or not snapshot.issue.ours:
        return None  # markers count only in issues the app itself opened
    found = markers.of(kind, snapshot.issue.body)
    try:
        return datetime.fromisoformat(found[0].due) if found else None
    except ValueError:
        return None


def overdue(
    snapshot: Snapshot, kind: type[markers.PirIssue | markers.ActionItem], now: datetime
) -> datetime | None:
    """The due date of an open issue the app opened (its marker of `kind`), if past."""
    due_at = due_date(snapshot, kind)
    return due_at if due_at is not None and now > due_at else None


def plan_pir_reminder(snapshot: Snapshot, policy: Policy, now: datetime) -> list[Action]:
    """An open PIR issue past its due date: one reminder per business day to its assignees."""
    due_at = overdue(snapshot, markers.PirIssue, now)
    cal = policy.business_calendar
    today = now.astimezone(cal.zone).date()
    if due_at is None or not cal.is_business_day(today):
        return []
    reminded = {
        m.day for c in snapshot.comments if c.ours for m in markers.of(markers.PirReminder, c.body)
    }
    if today.isoformat() in reminded:
        return []
    body = pir.overdue_reminder(
        assignees=sorted(snapshot.issue.assignees),
        due_at=due_at,
        day=today.isoformat(),
        policy=policy,
    )
    return [PostComment(body, "pir-reminder")]
