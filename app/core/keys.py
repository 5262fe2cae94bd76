"""Which issue a piece of work is about, and what its deliveries already told."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.core.policy import Severity


@dataclass(frozen=True)
class IssueKey:
    installation_id: int
    owner: str
    repo: str
    number: int

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.repo}"

    def __str__(self) -> str:
        return f"{self.owner}/{self.repo}#{self.number}"


@dataclass(frozen=True)
class Hints:
    """What the (coalesced) deliveries for an issue tell before anything is read."""

    issue: dict[str, Any] | None = None
    repo: dict[str, Any] | None = None
    declared_at: datetime | None = None
    severity: Severity | None = None
    delivery_ids: tuple[str, ...] = ()
    followup: bool = False  # a review's pull request was merged: file its action items
    declared_by: str | None = None  # who sent the declaring delivery (GitHub's `sender`)

    def merge(self, newer: Hints) -> Hints:
        """Combine two bursts' hints: the freshest issue, the earliest declaration."""
        issue = self.issue
        if newer.issue is not None and (
            issue is None or str(newer.issue.get("updated_at")) >= str(issue.get("updated_at"))
        ):
            issue = newer.issue
        times = [t for t in (self.declared_at, newer.declared_at) if t is not None]
        return Hints(
            issue=issue,
            repo=newer.repo or self.repo,
            declared_at=min(times) if times else None,
            severity=newer.severity or self.severity,
            delivery_ids=self.delivery_ids + newer.delivery_ids,
            followup=self.followup or newer.followup,
            declared_by=(
                self.declared_by
                if self.declared_at is not None
                and (newer.declared_at is None or self.declared_at <= newer.declared_at)
                else newer.declared_by or self.declared_by
            ),
        )
