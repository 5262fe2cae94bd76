"""Webhook deliveries: signature check, and routing by (event, action) to issue work."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from app.core.keys import Hints, IssueKey
from app.core.labels import ALERT, FLAGS, SEVERITIES, STATUSES, is_incident
from app.core.policy import Severity
from app.core.snapshot import Issue, ts


def signature_ok(secret: bytes, body: bytes, header: str | None) -> bool:
    """`X-Hub-Signature-256: sha256=<hex>` over the raw body, compared in constant time."""
    if not header or not header.startswith("sha256="):
        return False
    expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header.encode("utf-8", "replace"))


def sign(secret: bytes, body: bytes) -> str:
    """The signature GitHub would send for `body` (tests, benchmarks, replays)."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Job:
    key: IssueKey
    hints: Hints


Handler = Callable[[Mapping[str, Any], str], "Job | str"]


class Router:
    """Handlers by (event, action), gidgethub style; a handler returns a Job or why not."""

    def __init__(self) -> None:
        self._handlers: dict[tuple[str, str], Handler] = {}

    def register(self, event: str, *actions: str) -> Callable[[Handler], Handler]:
        def wrap(fn: Handler) -> Handler:
            for action in actions:
                self._handlers[(event, action)] = fn
            return fn

        return wrap

    def route(self, event: str, payload: Mapping[str, Any], delivery_id: str) -> Job | str:
        """The work a delivery asks for, or the reason it asks for none."""
        handler = self._handlers.get((event, str(payload.get("action", ""))))
        if handler is None:
            return f"{event}.{payload.get('action')} is not handled"
        installation = payload.get("installation")
        if type(installation) is not dict or type(installation.get("id")) is not int:
            return "no installation"
        try:
            return handler(payload, delivery_id)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            return f"malformed payload ({type(exc).__name__}: {exc})"


router = Router()


def _labels(issue: Mapping[str, Any]) -> list[str]:
    return [str(x.get("name")) for x in issue.get("labels") or [] if type(x) is dict]


_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


def _key(payload: Mapping[str, Any]) -> IssueKey:
    """The issue a delivery is about; ValueError for anything not shaped like GitHub's."""
    repo = payload["repository"]
    owner = (repo.get("owner") or {}).get("login") or str(repo["full_name"]).split("/")[0]
    number = payload["issue"]["number"]
    if not (_NAME.match(str(owner)) and _NAME.match(str(repo["name"]))):
        raise ValueError("repository name")
    if not isinstance(number, int) or isinstance(number, bool) or number <= 0:
        raise ValueError("issue number")
    # The work queue reads these later: refuse a payload whose issue it could not read.
    Issue.from_api(payload["issue"])
    return IssueKey(int(payload["installation"]["id"]), str(owner), str(repo["name"]), number)


def _declaring(payload: Mapping[str, Any]) -> tuple[Any, Severity | None]:
    """When this delivery declared the incident (GitHub's time) and the severity it set."""
    issue = payload["issue"]
    if payload.get("action") == "opened":
        return ts(issue["created_at"]), None
    label = str((payload.get("label") or {}).get("name", ""))
    if payload.get("action") == "labeled" and is_incident([label]):
        # The payload is made when the label is added: the issue's updated_at is that moment.
        return ts(issue.get("updated_at") or issue["created_at"]), SEVERITIES.get(label)
    return None, None


def _tracked(label: str) -> bool:
    return is_incident([label]) or label in STATUSES or label in (*FLAGS, ALERT)


@router.register("issues", "opened", "labeled", "unlabeled", "closed", "reopened")
def on_issue(payload: Mapping[str, Any], delivery_id: str) -> Job | str:
    issue = payload["issue"]
    label = str((payload.get("label") or {}).get("name", ""))
    # The last incident label taken off an open issue: if the app briefed it, it is still an
    # incident and the labels go back (behaviour §8); the reader looks for the brief.
    delabelled = (
        payload.get("action") == "unlabeled"
        and is_incident([label])
        and issue.get("state") == "open"
        and bool(issue.get("comments"))
    )
    if not is_incident(_labels(issue)) and not delabelled:
        return "not an incident"
    if payload.get("action") in ("labeled", "unlabeled") and not _tracked(label):
        return f"label {label!r} changes nothing"
    declared_at, severity = _declaring(payload)
    sender = str((payload.get("sender") or {}).get("login") or "") or None
    hints = Hints(
        issue=dict(issue),
        repo=dict(payload["repository"]),
        declared_at=declared_at,
        severity=severity,
        delivery_ids=(delivery_id,),
        declared_by=sender if declared_at is not None else None,
    )
    return Job(_key(payload), hints)


_REVIEW_BRANCH = re.compile(r"^pir/(\d+)(?:-r\d+)?$")


@router.register("pull_request", "closed")
def on_review_merged(payload: Mapping[str, Any], delivery_id: str) -> Job | str:
    """A review's pull request merged: its document's action items become issues."""
    pull = payload["pull_request"]
    found = _REVIEW_BRANCH.match(str((pull.get("head") or {}).get("ref", "")))
    if not pull.get("merged") or found is None:
        return "not a merged review"
    repo = payload["repository"]
    owner = (repo.get("owner") or {}).get("login") or str(repo["full_name"]).split("/")[0]
    if not (_NAME.match(str(owner)) and _NAME.match(str(repo["name"]))):
        raise ValueError("repository name")
    key = IssueKey(int(payload["installation"]["id"]), str(owner), str(repo["name"]), int(found[1]))
    return Job(key, Hints(repo=dict(repo), delivery_ids=(delivery_id,), followup=True))


@router.register("issue_comment", "created", "edited")
def on_comment(payload: Mapping[str, Any], delivery_id: str) -> Job | str:
    issue = payload["issue"]
    if issue.get("pull_request"):
        return "a pull request"
    if not is_incident(_labels(issue)):
        return "not an incident"
    comment = payload.get("comment") or {}
    if (comment.get("user") or {}).get("type") == "Bot":
        return "a bot's comment"  # the app's own comments and other bots' are never commands
    return Job(_key(payload), Hints(repo=dict(payload["repository"]), delivery_ids=(delivery_id,)))
