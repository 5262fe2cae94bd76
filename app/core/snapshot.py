"""What the planner sees of an issue: GitHub's record, read once per reconciliation."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.core.oncall import EMPTY, OnCallRecord
from app.core.policy import ConfigIssue


def ts(value: Any) -> datetime:
    """GitHub's ISO timestamp (`2019-05-15T15:20:18Z`) as an aware datetime."""
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def normalised(title: str) -> str:
    """A title without numbers, punctuation and case: what recurs is the same words."""
    return " ".join(re.sub(r"[^a-z ]+", " ", title.lower()).split())


def _login(user: Any) -> str:
    return str(user.get("login", "")) if isinstance(user, Mapping) else ""


def _items(value: Any) -> list[Any]:
    """A JSON list, or nothing: payload fields of the wrong type count as empty."""
    return value if isinstance(value, list) else []


def _app_id(item: Mapping[str, Any]) -> int | None:
    app = item.get("performed_via_github_app")
    return int(app["id"]) if isinstance(app, Mapping) and "id" in app else None


@dataclass(frozen=True)
class Comment:
    """An issue comment."""

    id: int
    author: str
    author_is_bot: bool
    association: str
    created_at: datetime
    body: str
    ours: bool
    thumbs_up: int = 0
    url: str = ""
    # Changed after it was posted: its commands and text no longer count (what it said when
    # posted is not on record), so an edit can neither add nor rewrite a command.
    edited: bool = False
    # The app's own 👍 is on it: the record that its one-off effects were carried out.
    confirmed: bool = False

    @classmethod
    def from_api(cls, data: Mapping[str, Any], *, app_id: int | None) -> Comment:
        user = data.get("user") or {}
        reactions = data.get("reactions") or {}
        created = ts(data["created_at"])
        return cls(
            id=int(data["id"]),
            author=_login(user),
            author_is_bot=str(user.get("type", "")) == "Bot" or _login(user).endswith("[bot]"),
            association=str(data.get("author_association") or "NONE"),
            created_at=created,
            body=str(data.get("body") or ""),
            ours=app_id is not None and _app_id(data) == app_id,
            thumbs_up=int(reactions.get("+1") or 0) if isinstance(reactions, Mapping) else 0,
            url=str(data.get("html_url") or ""),
            edited=bool(data.get("updated_at")) and ts(data["updated_at"]) > created,
        )


@dataclass(frozen=True)
class Event:
    """An issue event that changes incident state: labeled, unlabeled, closed, reopened, …"""

    id: int
    kind: str
    at: datetime
    actor: str
    ours: bool
    label: str | None = None
    assignee: str | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any], *, app_id: int | None) -> Event:
        label = data.get("label")
        return cls(
            id=int(data.get("id") or 0),
            kind=str(data["event"]),
            at=ts(data["created_at"]),
            actor=_login(data.get("actor")),
            ours=app_id is not None and _app_id(data) == app_id,
            label=str(label["name"]) if isinstance(label, Mapping) else None,
            assignee=_login(data.get("assignee")) or None,
        )


TRACKED_EVENTS = frozenset({"labeled", "unlabeled", "closed", "reopened", "assigned", "unassigned"})


def split_timeline(
    items: list[Mapping[str, Any]], *, app_id: int | None
) -> tuple[tuple[Comment, ...], tuple[Event, ...]]:
    """Split `GET …/timeline` items into comments and the events the planner uses."""
    comments: list[Comment] = []
    events: list[Event] = []
    for item in items:
        kind = item.get("event")
        try:
            if kind == "commented":
                comments.append(Comment.from_api(item, app_id=app_id))
            elif kind in TRACKED_EVENTS:
                events.append(Event.from_api(item, app_id=app_id))
        except (KeyError, TypeError, ValueError):
            continue  # an item of an unexpected shape is no evidence of anything
    return tuple(comments), tuple(events)


@dataclass(frozen=True)
class Repo:
    owner: str
    name: str
    private: bool = False
    default_branch: str = "main"

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Repo:
        return cls(
            owner=_login(data.get("owner")) or str(data["full_name"]).split("/")[0],
            name=str(data["name"]),
            private=bool(data.get("private", False)),
            default_branch=str(data.get("default_branch") or "main"),
        )


@dataclass(frozen=True)
class Issue:
    number: int
    title: str
    state: str
    labels: frozenset[str]
    assignees: frozenset[str]
    created_at: datetime
    closed_at: datetime | None
    author: str
    comments: int
    url: str = ""
    is_pull_request: bool = False
    body: str = ""
    ours: bool = False  # created by this app (only then do markers in its body count)
    association: str = "NONE"  # the author's: OWNER is the repository's owner

    @classmethod
    def from_api(cls, data: Mapping[str, Any], *, app_id: int | None = None) -> Issue:
        return cls(
            number=int(data["number"]),
            title=str(data.get("title") or ""),
            state=str(data.get("state") or "open"),
            labels=frozenset(
                str(x["name"]) if isinstance(x, Mapping) else str(x)
                for x in _items(data.get("labels"))
            ),
            assignees=frozenset(_login(a) for a in _items(data.get("assignees")) if _login(a)),
            created_at=ts(data["created_at"]),
            closed_at=ts(data["closed_at"]) if data.get("closed_at") else None,
            author=_login(data.get("user")),
            comments=int(data.get("comments") or 0),
            url=str(data.get("html_url") or ""),
            is_pull_request=bool(data.get("pull_request")),
            body=str(data.get("body") or "")[:65536],
            ours=app_id is not None and _app_id(data) == app_id,
            association=str(data.get("author_association") or "NONE"),
        )


@dataclass(frozen=True)
class PirRecord:
    """What exists of the current round's post-incident review (read only when needed)."""

    issue: int | None = None
    branch_exists: bool = False
    file_exists: bool = False
    pull: int | None = None
    base_sha: str | None = None
    blocked: str | None = None  # why no pull request can be made, learnt this run
    default_branch: str | None = None  # of the repository holding the review, if another


@dataclass(frozen=True)
class Followup:
    """What follow-through needs, read only when there is something to file: the review
    document as merged (None until its pull request is merged) and the action-item issues
    the app already opened for this incident, by key."""

    merged_at: datetime | None = None
    document: str = ""
    filed: tuple[tuple[str, int, str], ...] = ()  # (key, issue number, horizon)
    review_issue: int | None = None  # the linked review issue, which lists them too
    review_listing: tuple[int, tuple[str, ...]] | None = None  # its list: (comment, keys)


@dataclass(frozen=True)
class Recent:
    """Another incident of the repository, declared lately (for recurrences)."""

    number: int
    title: str
    labels: frozenset[str]
    created_at: datetime


@dataclass(frozen=True)
class Snapshot:
    """One issue as GitHub records it, plus what the app needs to judge its comments.

    `complete` is False when the timeline was not read (a fresh declaration decided from the
    delivery alone); then `events` are synthesised from the current labels at `declared_hint`.
    """

    repo: Repo
    issue: Issue
    comments: tuple[Comment, ...] = ()
    events: tuple[Event, ...] = ()
    complete: bool = True
    authorized: frozenset[str] = frozenset()  # lower-case logins with write access
    config_problems: tuple[ConfigIssue, ...] = ()
    pir: PirRecord | None = None
    followup: Followup | None = None
    recent: tuple[Recent, ...] = ()  # read only before the brief
    # What GitHub shows this installation of `pir.private_repository` (read only when a
    # sensitive incident of a public repository needs its review): None when not visible.
    private_home: Repo | None = None
    # Who is on call beyond the config: the operator's calendars as fetched and the covers
    # of the repository's "On-call" issue (read only when the policy has rotations).
    oncall: OnCallRecord = EMPTY
