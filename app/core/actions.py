"""What the planner decides and the executor does: one frozen dataclass per kind of write."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AddLabels:
    labels: tuple[str, ...]


@dataclass(frozen=True)
class RemoveLabel:
    label: str


@dataclass(frozen=True)
class AddAssignees:
    logins: tuple[str, ...]


@dataclass(frozen=True)
class RemoveAssignees:
    logins: tuple[str, ...]


@dataclass(frozen=True)
class PostComment:
    body: str
    kind: str  # the marker's kind, for logs and counts
    number: int | None = None  # another issue than the incident (the PIR issue)
    repo: str | None = None  # another repository than the incident's (a private review)


@dataclass(frozen=True)
class DeleteComment:
    comment_id: int
    reason: str


@dataclass(frozen=True)
class EditComment:
    """Rewrite one of the app's own comments (a list kept up to date in place)."""

    comment_id: int
    body: str


@dataclass(frozen=True)
class AddReaction:
    comment_id: int
    content: str = "+1"


@dataclass(frozen=True)
class SetState:
    """Close (`closed`) or reopen (`open`) the issue."""

    state: str
    reason: str = "completed"


@dataclass(frozen=True)
class OpenIssue:
    title: str
    body: str
    labels: tuple[str, ...]
    assignees: tuple[str, ...]
    kind: str
    repo: str | None = None  # another repository than the incident's (a private review)


@dataclass(frozen=True)
class CreateBranch:
    name: str
    sha: str
    repo: str | None = None  # another repository than the incident's (a private review)


@dataclass(frozen=True)
class CreateFile:
    path: str
    branch: str
    content: str
    message: str
    repo: str | None = None  # another repository than the incident's (a private review)


@dataclass(frozen=True)
class OpenPullRequest:
    title: str
    head: str
    base: str
    body: str
    repo: str | None = None  # another repository than the incident's (a private review)


Action = (
    AddLabels
    | RemoveLabel
    | AddAssignees
    | RemoveAssignees
    | PostComment
    | DeleteComment
    | EditComment
    | AddReaction
    | SetState
    | OpenIssue
    | CreateBranch
    | CreateFile
    | OpenPullRequest
)

PIR_ACTIONS = (OpenIssue, CreateBranch, CreateFile, OpenPullRequest)


def kind(action: Action) -> str:
    """A short name for counts and logs: `comment:brief`, `labels`, …"""
    if isinstance(action, PostComment):
        return f"comment:{action.kind}"
    if isinstance(action, OpenIssue):
        return f"issue:{action.kind}"
    return type(action).__name__
