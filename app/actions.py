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


@dataclass(frozen=True)
class DeleteComment:
    comment_id: int
    reason: str


@dataclass(frozen=True)
class AddReaction:
    comment_id: int
    content: str = "+1"


@dataclass(frozen=True)
class SetState:
    """Close (`closed`) or reopen (`open`) the issue."""

    state: str
    reason: str = "completed"


Action = (
    AddLabels
    | RemoveLabel
    | AddAssignees
    | RemoveAssignees
    | PostComment
    | DeleteComment
    | AddReaction
    | SetState
)


def kind(action: Action) -> str:
    """A short name for counts and logs: `comment:brief`, `labels`, …"""
    if isinstance(action, PostComment):
        return f"comment:{action.kind}"
    return type(action).__name__
