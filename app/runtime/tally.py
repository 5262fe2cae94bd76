"""What one sweep saw and did: the JSON answer of `POST /cron/tick` and `incident-app tick`."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from app.core.keys import IssueKey
from app.core.labels import severity_of
from app.core.snapshot import Issue
from app.runtime.reconcile import RunReport


@dataclass
class TickReport:
    """What one tick saw and did; the JSON answer of POST /cron/tick."""

    installations: int = 0
    repositories: int = 0
    incidents: int = 0
    actions: Counter[str] = field(default_factory=Counter)
    errors: list[dict[str, Any]] = field(default_factory=list)
    runs: list[RunReport] = field(default_factory=list)
    dry_run: bool = False
    redelivered: int = 0
    severities: list[str] = field(default_factory=list)  # of the open incidents seen
    searches: int = 0  # search requests
    seen_repositories: set[str] = field(default_factory=set)
    reconciled: set[IssueKey] = field(default_factory=set)

    def count(self, key: IssueKey, run: RunReport) -> None:
        """One run's result into the report."""
        self.runs.append(run)
        self.actions.update(run.outcome.counts())
        if run.error:
            self.errors.append({"issue": str(key), "error": run.error})

    def as_json(self) -> dict[str, Any]:
        planned: Counter[str] = Counter()
        for run in self.runs:
            planned.update(type(a).__name__ for a in run.planned)
        return {
            "installations": self.installations,
            "repositories": self.repositories,
            "incidents": self.incidents,
            "actions": dict(sorted(self.actions.items())),
            "planned": dict(sorted(planned.items())) if self.dry_run else None,
            "errors": self.errors,
            "deferred": [str(run.key) for run in self.runs if run.deferred],
            "dry_run": self.dry_run,
            "redelivered": self.redelivered,
            "searches": self.searches,
        }


def severity(issue: dict[str, Any]) -> str:
    found = severity_of(Issue.from_api(issue).labels)
    return found.value if found else "unknown"
