"""The review's Compliance section: a breach's record against the runbook's "Compliance and
Legal" deadlines."""

from __future__ import annotations

from datetime import datetime

from app.core import messages
from app.core.pir.times import hm, utc
from app.core.policy import Policy
from app.core.state import IncidentState

UNRECORDED_REGULATOR = "record it with `/regulator notified [reference]`"


def compliance(policy: Policy, state: IncidentState) -> list[str]:
    """A breach's record against the runbook's "Compliance and Legal" deadlines: legal, and
    the regulator when the policy sets its deadline."""
    record = state.breach
    if record is None:
        return []
    cal = policy.business_calendar
    legal_by = policy.breach.legal_within.after(record.at, cal)
    rows = [
        "## Compliance",
        "",
        "| measure | deadline | actual | verdict |",
        "| --- | --- | --- | --- |",
        f"| breach confirmed | | {utc(record.at)} UTC by {messages.cell(record.by)} | |",
        _notified(
            "legal notified",
            legal_by,
            str(policy.breach.legal_within),
            record.legal_at,
            record.legal_by,
            "missed",
        ),
    ]
    if record.reference:
        rows.append(f"| reference | | {messages.cell(record.reference)} | |")
    regulator = policy.breach.regulator_within
    if regulator is not None:
        rows.append(
            _notified(
                "regulator notified",
                regulator.after(record.at, cal),
                str(regulator),
                record.regulator_at,
                record.regulator_by,
                UNRECORDED_REGULATOR,
            )
        )
        if record.regulator_reference:
            rows.append(
                f"| regulator reference | | {messages.cell(record.regulator_reference)} | |"
            )
    return [*rows, ""]


def _notified(
    measure: str, deadline: datetime, span: str, at: datetime | None, by: str, unrecorded: str
) -> str:
    """One notification's row: its deadline, when and by whom it was recorded, the verdict."""
    if at is None:
        actual, verdict = "not recorded", unrecorded
    else:
        actual = f"{utc(at)} UTC by {messages.cell(by)}"
        verdict = "met" if at <= deadline else f"missed by {hm(at - deadline)}"
    return f"| {measure} | {utc(deadline)} UTC ({span}) | {actual} | {verdict} |"
