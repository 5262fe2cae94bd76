"""The review's Compliance section: a breach's record against the runbook's "Compliance and
Legal" deadlines."""

from __future__ import annotations

from app.core import messages
from app.core.pir.times import hm, utc
from app.core.policy import Policy
from app.core.state import IncidentState


def compliance(policy: Policy, state: IncidentState) -> list[str]:
    """A breach's record against the runbook's "Compliance and Legal" deadlines."""
    record = state.breach
    if record is None:
        return []
    cal = policy.business_calendar
    legal_by = policy.breach.legal_within.after(record.at, cal)
    if record.legal_at is None:
        legal, verdict = "not recorded", "missed"
    else:
        legal = f"{utc(record.legal_at)} UTC by {messages.cell(record.legal_by)}"
        verdict = (
            "met" if record.legal_at <= legal_by else f"missed by {hm(record.legal_at - legal_by)}"
        )
    rows = [
        "## Compliance",
        "",
        "| measure | deadline | actual | verdict |",
        "| --- | --- | --- | --- |",
        f"| breach confirmed | | {utc(record.at)} UTC by {messages.cell(record.by)} | |",
        f"| legal notified | {utc(legal_by)} UTC ({policy.breach.legal_within}) | {legal} "
        f"| {verdict} |",
    ]
    if record.reference:
        rows.append(f"| reference | | {messages.cell(record.reference)} | |")
    if policy.breach.regulator_within is not None:
        deadline = policy.breach.regulator_within.after(record.at, cal)
        rows.append(f"| regulator | {utc(deadline)} UTC | TODO | |")
    return [*rows, ""]
