"""Every label the app reads or writes, named once (behaviour.md "Labels")."""

from __future__ import annotations

from collections.abc import Iterable

from app.core.commands import Status
from app.core.policy import Severity

INCIDENT = "incident"
SECURITY = "security"
BREACH = "breach"
DRILL = "drill"
ALERT = "alert"  # an incident opened from an alert notification (§9)
ACTION_ITEM = "action-item"
MONTHLY_REVIEW = "incident-review"
PIR = "pir"  # the default of `pir.label`; a repository's policy may name another
HORIZON_PREFIX = "horizon:"
# The incident affects customers: P3's daily public updates are due only then (issue 24).
CUSTOMER_FACING = "customer-facing"
ONCALL = "on-call"  # the repository's "On-call" issue (covers) and its handover issues

# Labels that change who is told what (behaviour §8): after the brief, adding or removing one
# counts only from someone with authority; otherwise the app puts it back and says why.
FLAGS = (BREACH, DRILL, SECURITY, CUSTOMER_FACING)
# `sev:P0` … `sev:P3` and `status:…`, with the value each stands for (`Severity.label`,
# `Status.label` spell them).
SEVERITIES = {s.label: s for s in Severity}
STATUSES = {s.label: s for s in Status}


def horizon(name: str) -> str:
    """An action item's horizon label: `horizon:short`."""
    return f"{HORIZON_PREFIX}{name}"


def horizon_of(labels: Iterable[str]) -> str:
    """The horizon an action item's labels name, or ""."""
    return next(
        (x.removeprefix(HORIZON_PREFIX) for x in labels if x.startswith(HORIZON_PREFIX)), ""
    )


def severity_of(labels: Iterable[str]) -> Severity | None:
    """The most severe `sev:` label among `labels`."""
    found = sorted(SEVERITIES[x] for x in labels if x in SEVERITIES)
    return found[0] if found else None


def is_incident(labels: Iterable[str]) -> bool:
    """An issue is an incident while it carries `incident` or a `sev:` label (behaviour §2)."""
    return any(label == INCIDENT or label in SEVERITIES for label in labels)
