"""The review document as the pull request first proposes it: everything GitHub recorded, and
placeholders for what only people know."""

from __future__ import annotations

from datetime import UTC, timedelta

from app.core import messages
from app.core.pir.compliance import compliance
from app.core.pir.history import mermaid, timeline
from app.core.pir.response import evaluation
from app.core.pir.rounds import Round, due
from app.core.pir.times import hm, utc
from app.core.policy import Policy
from app.core.snapshot import Snapshot
from app.core.state import IncidentState

HORIZONS = [
    ("Immediate", "critical fixes", timedelta(weeks=1), "1 week"),
    ("Short-term", "improvements", timedelta(days=30), "1 month"),
    ("Long-term", "strategic improvements", timedelta(days=91), "1 quarter"),
]


def document(
    snapshot: Snapshot,
    state: IncidentState,
    policy: Policy,
    rnd: Round,
    *,
    pir_issue: int | None = None,
) -> str:
    """The PIR document: everything GitHub recorded, and placeholders for what only people know."""
    sp = policy.for_severity(state.severity)
    lines = [
        *_summary(snapshot, state, policy, rnd, pir_issue),
        "",
        "_What happened, in two or three sentences:_ TODO",
        "",
        "## Impact",
        "",
        "- Users affected: TODO",
        "- Business impact: TODO",
        "- Data or compliance exposure: TODO",
        "",
        *_timeline_section(snapshot, state, rnd),
        "",
        "## Root cause analysis",
        "",
        "- Trigger: TODO",
        "- Root cause: TODO",
        "- Contributing factors: TODO",
        "",
        "## Response evaluation",
        "",
        f"Targets for {state.severity.value}: respond within {sp.respond_within}, "
        f"status updates every {sp.update_every}.",
        "",
        *evaluation(policy, state, rnd),
        "",
        "- What went well: TODO",
        "- What could have gone better: TODO",
        "",
        *compliance(policy, state),
        "## Action items",
        "",
    ]
    for name, what, horizon, span in HORIZONS:
        by = (rnd.resolved_at + horizon).astimezone(UTC).strftime("%Y-%m-%d")
        lines += [f"### {name} ({what}, within {span}: by {by})", "", "- [ ] TODO", ""]
    return "\n".join(lines).rstrip() + "\n"


def _summary(
    snapshot: Snapshot, state: IncidentState, policy: Policy, rnd: Round, pir_issue: int | None
) -> list[str]:
    """The PIR's heading and its summary table."""
    issue = snapshot.issue
    sp = policy.for_severity(state.severity)
    severities = " → ".join(dict.fromkeys(c.value.value for c in state.severity_changes))
    title = messages.cell(issue.title, 200)
    ack = f"{utc(state.acked_at)} UTC by @{state.acked_by}" if state.acked_at else "never"
    lines = [
        f"# PIR: {title}",
        "",
        f"Incident: #{issue.number}"
        + (f" · Review: #{pir_issue}" if pir_issue else "")
        + (f" · Round {rnd.number}" if rnd.number > 1 else ""),
        f"Review due: {messages.when(due(policy, rnd), policy)}",
        "",
        "## Summary",
        "",
        "| | |",
        "| --- | --- |",
        f"| Title | {title} |",
        f"| Severity | {state.severity.value} {sp.name} (history: {severities}) |",
        f"| Declared | {utc(state.declared_at)} UTC |",
        f"| Acknowledged | {ack} |",
        f"| Resolved | {utc(rnd.resolved_at)} UTC |",
        f"| Duration | {hm(rnd.resolved_at - state.declared_at)} |",
    ]
    for role in ("incident_commander", "technical_lead", "communication_lead"):
        holders = state.roles.get(role) or []
        lines.append(
            f"| {policy.role_title(role)} | {' '.join(h.lstrip('@') for h in holders) or '—'} |"
        )
    return lines


def _timeline_section(snapshot: Snapshot, state: IncidentState, rnd: Round) -> list[str]:
    """The PIR's timeline: the Mermaid chart, then the table, up to the resolution."""
    lines = [
        "## Timeline",
        "",
        mermaid(snapshot, state, rnd),
        "",
        "| Time (UTC) | Event | Who | Link |",
        "| --- | --- | --- | --- |",
    ]
    for entry in timeline(snapshot, state):
        if entry.at > rnd.resolved_at + timedelta(minutes=1):
            continue
        link = f"[link]({entry.link})" if entry.link.startswith("https://") else ""
        event, who = messages.cell(entry.event, 600), messages.cell(entry.who, 200)
        lines.append(f"| {utc(entry.at)} | {event} | {who} | {link} |")
    return lines
