"""The confirmed-breach note: severity, who must act, and the legal deadline."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from app.core import markers
from app.core.messages.declaration import SECURITY_PUBLIC_WARNING
from app.core.messages.formatting import cell, when
from app.core.messages.people import reach
from app.core.messages.templates import checklist
from app.core.policy import Policy, Severity

if TYPE_CHECKING:
    from app.core.runbook.reach import Reach


def breach_confirmed(
    *,
    policy: Policy,
    by: str,
    text: str,
    raised_from: Severity | None,
    legal_by: datetime,
    regulator_by: datetime | None,
    targets: list[Reach],
    assigned: list[str],
    with_checklist: bool,
    public: bool,
    severity: Severity = Severity.P0,
) -> str:
    """A confirmed data breach: severity, who must act, and the one-hour legal deadline.

    `severity` is the incident's now: P0, unless someone with authority set another since
    the breach, before this note could be posted (it then announces that one)."""
    who = "; ".join(reach(policy, target) for target in targets)
    because = f": {cell(text)}" if text else ""
    lines = [f"🔒 **Confirmed data breach**, declared by @{by}{because}."]
    if raised_from is not None:
        lines.append(
            f"Severity raised {raised_from.value} → **P0 {policy.for_severity(Severity.P0).name}**."
        )
    if assigned:
        lines.append(f"Assigned: {' '.join(assigned)}.")
    lines += [
        "",
        f"{who}: **notify legal by {when(legal_by, policy)}** (runbook: within "
        f"{policy.breach.legal_within} of a confirmed breach). Record it with "
        "`/legal notified [reference]` (legal, the incident commander or the security officer).",
    ]
    if regulator_by is not None:
        lines.append(
            f"Regulator deadline: **{when(regulator_by, policy)}**. Record it with "
            "`/regulator notified [reference]`."
        )
    if public:
        lines += ["", SECURITY_PUBLIC_WARNING.replace("Security incident", "Data breach")]
    if with_checklist:
        lines += ["", checklist(policy, Severity.P0)]
    lines += [
        "",
        markers.render(markers.BreachNote()),
        markers.render(
            markers.SeverityNote(severity.value, checklist="P0" if with_checklist else None)
        ),
    ]
    return "\n".join(lines)
