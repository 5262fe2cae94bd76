"""The only writer: each planned action becomes one GitHub request."""

from __future__ import annotations

import base64
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from app.core import messages
from app.core.actions import (
    Action,
    AddAssignees,
    AddLabels,
    AddReaction,
    CreateBranch,
    CreateFile,
    DeleteComment,
    EditComment,
    OpenIssue,
    OpenPullRequest,
    PostComment,
    RemoveAssignees,
    RemoveLabel,
    SetState,
    kind,
)
from app.github.errors import GitHubError, Reply
from app.github.port import GitHubPort

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Call:
    """One planned GitHub request."""

    method: str
    path: str
    body: Any = None
    ok: tuple[int, ...] = ()
    idempotent: bool = True  # False: repeating it may create a second thing

    def describe(self) -> str:
        import json

        body = "" if self.body is None else " " + json.dumps(self.body, ensure_ascii=False)
        return f"{self.method} {self.path}{body}"


def to_call(repo: str, number: int, action: Action) -> Call:
    """The REST request that carries out an action."""
    repo = getattr(action, "repo", None) or repo  # a private review lives elsewhere
    base = f"/repos/{repo}/issues"
    call = _issue_call(base, number, action) or _repository_call(repo, base, action)
    if call is None:
        raise TypeError(f"no request for {action!r}")
    return call


def _issue_call(base: str, number: int, action: Action) -> Call | None:
    """The request for a write on the issue itself: labels, assignees, comments, state."""
    match action:
        case AddLabels(labels):
            return Call("POST", f"{base}/{number}/labels", {"labels": list(labels)})
        case RemoveLabel(label):
            return Call("DELETE", f"{base}/{number}/labels/{quote(label, safe='')}", ok=(404,))
        case AddAssignees(logins):
            return Call("POST", f"{base}/{number}/assignees", {"assignees": list(logins)})
        case RemoveAssignees(logins):
            return Call("DELETE", f"{base}/{number}/assignees", {"assignees": list(logins)})
        case PostComment(body, _, target, _):
            return Call(
                "POST",
                f"{base}/{target or number}/comments",
                {"body": messages.fit(body)},
                idempotent=False,
            )
        case EditComment(comment_id, body):
            return Call("PATCH", f"{base}/comments/{comment_id}", {"body": messages.fit(body)})
        case DeleteComment(comment_id, _):
            return Call("DELETE", f"{base}/comments/{comment_id}", ok=(404,))
        case AddReaction(comment_id, content):
            return Call("POST", f"{base}/comments/{comment_id}/reactions", {"content": content})
        case SetState(state, reason):
            return Call("PATCH", f"{base}/{number}", {"state": state, "state_reason": reason})
    return None


def _repository_call(repo: str, base: str, action: Action) -> Call | None:
    """The request for a new thing in the repository: an issue, a branch, a file, a pull
    request."""
    match action:
        case OpenIssue(title, body, labels, assignees, _, _):
            return Call(
                "POST",
                base,
                {
                    "title": messages.title(title),
                    "body": messages.fit(body),
                    "labels": list(labels),
                    "assignees": list(assignees),
                },
                idempotent=False,
            )
        case CreateBranch(name, sha, _):
            return Call(
                "POST",
                f"/repos/{repo}/git/refs",
                {"ref": f"refs/heads/{name}", "sha": sha},
                idempotent=False,
            )
        case CreateFile(path, branch, content, message, _):
            encoded = base64.b64encode(content.encode()).decode()
            return Call(
                "PUT",
                f"/repos/{repo}/contents/{quote(path)}",
                {"message": message, "content": encoded, "branch": branch},
            )
        case OpenPullRequest(title, head, base_branch, body, _):
            return Call(
                "POST",
                f"/repos/{repo}/pulls",
                {
                    "title": messages.title(title),
                    "head": head,
                    "base": base_branch,
                    "body": messages.fit(body),
                },
                idempotent=False,
            )
    return None


@dataclass
class Outcome:
    """What one execution did."""

    done: list[tuple[Action, Reply]] = field(default_factory=list)
    failed: list[tuple[Action, GitHubError]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for action, _ in self.done:
            found[kind(action)] = found.get(kind(action), 0) + 1
        return found


async def execute(
    gh: GitHubPort, repo: str, number: int, actions: list[Action], *, log_extra: Mapping[str, Any]
) -> Outcome:
    """Carry out actions in order; stop at the first failure (the next run re-plans)."""
    outcome = Outcome()
    for action in actions:
        call = to_call(repo, number, action)
        try:
            reply = await gh.request(
                call.method, call.path, json=call.body, ok=call.ok, idempotent=call.idempotent
            )
        except GitHubError as exc:
            log.warning("action failed: %s: %s", kind(action), exc, extra=dict(log_extra))
            outcome.failed.append((action, exc))
            break
        log.info("action %s", kind(action), extra={**log_extra, "status": reply.status})
        outcome.done.append((action, reply))
    return outcome
