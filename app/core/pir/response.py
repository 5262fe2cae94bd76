"""The response evaluation: measured response times against the severity's targets."""

from __future__ import annotations

import itertools
from datetime import timedelta

from app.core import markers
from app.core.pir.rounds import Round
from app.core.pir.times import hm, utc
from app.core.policy import Policy
from app.core.state import IncidentState


def evaluation(policy: Policy, state: IncidentState, rnd: Round) -> list[str]:
    """Measured response times against the severity's targets."""
    sp = policy.for_severity(state.severity)
    cal = policy.business_calendar
    rows = ["| measure | target | actual | verdict |", "| --- | --- | --- | --- |"]
    if state.acked_at is not None:
        target = sp.respond_within.after(state.declared_at, cal)
        verdict = "met" if state.acked_at <= target else f"missed by {hm(state.acked_at - target)}"
        rows.append(
            f"| time to acknowledge | {sp.respond_within} | "
            f"{hm(state.acked_at - state.declared_at)} | {verdict} |"
        )
    else:
        rows.append(f"| time to acknowledge | {sp.respond_within} | never acknowledged | missed |")
    points = [
        state.declared_at,
        *(u.at for u in state.updates if u.at <= rnd.resolved_at),
        rnd.resolved_at,
    ]
    gaps = [b - a for a, b in itertools.pairwise(points)]
    cadence = sp.update_every.after(state.declared_at, cal) - state.declared_at
    longest = max(gaps) if gaps else timedelta()
    late = sum(1 for g in gaps if g > cadence)
    rows.append(
        f"| longest gap between status updates | {sp.update_every} | {hm(longest)} | "
        f"{'met' if late == 0 else f'{late} interval(s) over'} |"
    )
    rows.append(f"| status updates posted | every {sp.update_every} | {len(state.updates)} | |")
    rows.append(f"| time to resolve | | {hm(rnd.resolved_at - state.declared_at)} | |")
    escalations = state.notes_of(markers.Escalation)
    rows.append(f"| escalations fired | | {len(escalations)} | |")
    lines = rows
    if escalations:
        lines += [""] + [
            f"- {utc(n.comment.created_at)} UTC: escalation to level "
            f"{n.marker.level + 1} ({', '.join(_step(s) for s in n.marker.steps)})"
            for n in escalations
        ]
    return lines


def _step(step: str) -> str:
    """`response-P0-1` → `response deadline P0, step 1`; `manual-12` → `/escalate`."""
    kind, _, rest = step.partition("-")
    if kind == "manual":
        return "/escalate"
    sev, _, number = rest.partition("-")
    what = "response deadline" if kind == "response" else "unresolved"
    return f"{what} {sev}, step {number}"
