"""The end of an incident: the phases' checklists, the all-clear, a recurrence."""

from __future__ import annotations

from datetime import datetime

from app.core import markers
from app.core.messages.durations import duration
from app.core.messages.formatting import when
from app.core.policy import Policy, Severity

PHASE_TITLES = {
    "mitigating": "Fix implementation",
    "monitoring": "Service recovery",
}


def phase_checklist(*, phase: str, items: list[str]) -> str:
    """The runbook's checklist for the phase the incident just entered."""
    return (
        f"### {PHASE_TITLES.get(phase, phase)} checklist\n"
        + "\n".join(f"- [ ] {item}" for item in items)
        + "\n\n"
        + markers.render(markers.PhaseNote(phase))
    )


def all_clear(
    *,
    policy: Policy,
    severity: Severity,
    declared_at: datetime,
    resolved_at: datetime,
    participants: list[str],
    monitor_until: datetime,
    round: int,
) -> str:
    """Runbook "Post-Incident Activities": the official all-clear, and enhanced monitoring."""
    took = duration(resolved_at - declared_at)
    thanks = f" Thank you {' '.join(participants)}." if participants else ""
    return (
        f"✅ **All clear** — this {severity.value} incident was resolved "
        f"{when(resolved_at, policy)}, {took} after it was declared.{thanks}\n\n"
        f"Enhanced monitoring until **{when(monitor_until, policy)}**: a reopen before then "
        "is a recurrence. The post-incident review follows.\n\n"
        + markers.render(markers.AllClear(round))
    )


def recurrence(*, policy: Policy, resolved_at: datetime, reopened_at: datetime, round: int) -> str:
    """A reopen inside the enhanced monitoring window."""
    return (
        f"🔁 **Recurrence**: reopened {duration(reopened_at - resolved_at)} after it was "
        f"resolved ({when(resolved_at, policy)}), inside the enhanced monitoring window. "
        "The deadlines start again; its review will cover both.\n\n"
        + markers.render(markers.Recurrence(round))
    )
