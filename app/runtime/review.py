"""After resolution: the review's steps run in a row, each planned on what the last created."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from app.core import runbook
from app.core.actions import (
    PIR_ACTIONS,
    Action,
    CreateBranch,
    CreateFile,
    OpenIssue,
    OpenPullRequest,
    PostComment,
)
from app.core.keys import IssueKey
from app.core.policy import Policy
from app.core.snapshot import PirRecord, Snapshot
from app.core.state import derive
from app.github.errors import GitHubError, NotFound, Refused, Reply, Unprocessable
from app.github.executor import Outcome, execute
from app.github.port import GitHubPort
from app.github.reader import Reader
from app.github.review import pir_record

MAX_STEPS = 8  # issue, branch, document, pull request, link — with room for a retry or two


async def finish(
    gh: GitHubPort,
    key: IssueKey,
    snapshot: Snapshot,
    policy: Policy,
    outcome: Outcome,
    *,
    reader: Reader,
    extra: dict[str, Any],
) -> None:
    """Run the review's remaining steps after a plan was carried out.

    `outcome` holds what the plan did; each step's results are added to it, and an error
    GitHub gave that no step can work around ends the run in `outcome.failed`.
    """
    state = derive(snapshot, policy)
    if state is None or snapshot.pir is None:
        return
    record = snapshot.pir
    for action, reply in outcome.done:
        record = _advance(record, action, reply)
    snapshot = replace(snapshot, pir=record)
    for _ in range(MAX_STEPS):
        step = runbook.pir_step(snapshot, policy, state)
        if not step:
            return
        done = await execute(gh, key.full_name, key.number, step, log_extra=extra)
        outcome.done += done.done
        reader.remember(key, done)
        for action, reply in done.done:
            record = _advance(record, action, reply)
            if isinstance(action, PostComment) and action.number is None:
                return  # the link comment: the round is done
        for action, exc in done.failed:
            if isinstance(exc, Unprocessable):  # it may exist already (a racing run): look
                fresh = await pir_record(gh, key, snapshot, policy, state, app_id=reader.app_id)
                if fresh is None:
                    return
                unchanged = fresh == record
                record = (
                    replace(fresh, blocked=f"GitHub refused it ({exc})") if unchanged else fresh
                )
            elif isinstance(exc, Refused | NotFound) and isinstance(action, PIR_ACTIONS):
                record = replace(record, blocked=_why_blocked(exc))
            else:
                outcome.failed.append((action, exc))
                return
        snapshot = replace(snapshot, pir=record)


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
