"""The monthly review of incidents and action items, with numbers and charts (pure).

Runbook "Runbook Maintenance: Monthly: review recent incidents" and "Follow-up: monthly review
of action item progress". Given the month's incidents as GitHub recorded them, it measures
time to acknowledge and to resolve against the severity's targets, sums them per severity,
counts action items by horizon, finds recurrences, and renders Markdown with charts GitHub
draws (Mermaid `pie` and `xychart-beta`). Drills are left out of every number.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial

from app.core import markers, messages
from app.core.commands import Status
from app.core.labels import DRILL, horizon_of
from app.core.policy import Policy, Severity
from app.core.snapshot import Issue, Snapshot, normalised
from app.core.state import IncidentState, derive

RECURRENCE_WINDOW = timedelta(days=30)


@dataclass(frozen=True)
class Measured:
    """One incident of the month, measured."""

    number: int
    title: str
    url: str
    severity: Severity
    declared_at: datetime
    acked_at: datetime | None
    resolved_at: datetime | None
    ack_target: timedelta
    resolve_target: timedelta | None
    components: frozenset[str] = frozenset()

    @property
    def tta(self) -> timedelta | None:
        return self.acked_at - self.declared_at if self.acked_at else None

    @property
    def ttr(self) -> timedelta | None:
        return self.resolved_at - self.declared_at if self.resolved_at else None

    @property
    def ack_met(self) -> bool:
        return self.tta is not None and self.tta <= self.ack_target

    @property
    def resolve_met(self) -> bool | None:
        if self.resolve_target is None or self.ttr is None:
            return None  # no target, or still open: not counted
        return self.ttr <= self.resolve_target


@dataclass(frozen=True)
class ActionItemRecord:
    horizon: str
    number: int
    state: str  # open | closed
    due: datetime
    url: str = ""


@dataclass
class Review:
    """The month's numbers."""

    month: str  # 2019-05
    incidents: list[Measured] = field(default_factory=list)
    items: list[ActionItemRecord] = field(default_factory=list)
    recurring: list[tuple[Measured, Measured]] = field(default_factory=list)
    now: datetime = datetime(1970, 1, 1, tzinfo=UTC)


def measure(snapshot: Snapshot, policy: Policy) -> Measured | None:
    """An incident as the review counts it; None for a drill or no incident."""
    if DRILL in snapshot.issue.labels:
        return None
    state = derive(snapshot, policy)
    if state is None:
        return None
    return _measured(snapshot.issue, state, policy)


def _measured(issue: Issue, state: IncidentState, policy: Policy) -> Measured:
    sp = policy.for_severity(state.severity)
    cal = policy.business_calendar
    resolutions = [c.at for c in state.status_changes if c.value is Status.RESOLVED]
    ack_target = sp.respond_within.after(state.declared_at, cal) - state.declared_at
    threshold = sp.escalate_after
    resolve_target = (
        threshold.after(state.declared_at, cal) - state.declared_at
        if threshold is not None and threshold.amount > 0
        else None
    )
    return Measured(
        number=issue.number,
        title=issue.title,
        url=issue.url,
        severity=state.severity,
        declared_at=state.declared_at,
        acked_at=state.acked_at,
        resolved_at=resolutions[0] if resolutions else None,
        ack_target=ack_target,
        resolve_target=resolve_target,
        components=frozenset(x for x in issue.labels if x.startswith("component:")),
    )


def recurrences(incidents: Sequence[Measured]) -> list[tuple[Measured, Measured]]:
    """(incident, an earlier one it repeats): the same normalised title or a shared
    `component:` label within 30 days."""
    found = []
    ordered = sorted(incidents, key=lambda m: m.declared_at)
    for i, later in enumerate(ordered):
        for earlier in reversed(ordered[:i]):
            if later.declared_at - earlier.declared_at > RECURRENCE_WINDOW:
                break
            same = normalised(later.title) == normalised(earlier.title)
            if same or later.components & earlier.components:
                found.append((later, earlier))
                break
    return found


def items_of(issues: Iterable[Issue]) -> list[ActionItemRecord]:
    """Action items from the app's own `action-item` issues."""
    found = []
    for issue in issues:
        if not issue.ours:
            continue
        horizon = horizon_of(issue.labels)
        for m in markers.of(markers.ActionItem, issue.body):
            found.append(
                ActionItemRecord(
                    horizon, issue.number, issue.state, datetime.fromisoformat(m.due), issue.url
                )
            )
    return found


_hm = partial(messages.duration, style=messages.DurationStyle.HOURS)


def _verdict(met: bool | None, *, open_: bool = False) -> str:
    if met is None:
        return "open" if open_ else "—"
    return "met" if met else "missed"


def render(review: Review) -> str:
    """The review as Markdown: incidents, per-severity numbers, action items, recurrences,
    and two charts."""
    incidents = sorted(review.incidents, key=lambda m: m.declared_at)
    lines = [f"# Incident review: {review.month}", ""]
    lines += ["## Incidents", "", *_incident_table(incidents)]
    lines += ["## Per severity", "", *_severity_table(incidents)]
    lines += ["", "## Action items", "", *_items_table(review)]
    lines += ["", "## Recurring incidents", ""]
    if review.recurring:
        lines += [
            f"- #{later.number} repeats #{earlier.number}" for later, earlier in review.recurring
        ]
    else:
        lines.append("None.")
    if incidents:
        lines += ["", *_charts(incidents)]
    return "\n".join(lines) + "\n"


def _incident_table(incidents: list[Measured]) -> list[str]:
    if not incidents:
        return ["No incidents this month.", ""]
    lines = [
        "| incident | severity | declared (UTC) | to acknowledge | target | verdict "
        "| to resolve | target | verdict |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for m in incidents:
        lines.append(
            f"| [#{m.number}]({m.url}) {messages.cell(m.title, 80)} | {m.severity.value} "
            f"| {m.declared_at.astimezone(UTC):%Y-%m-%d %H:%M} | {_hm(m.tta)} "
            f"| {_hm(m.ack_target)} | {_verdict(m.ack_met)} | {_hm(m.ttr)} "
            f"| {_hm(m.resolve_target)} "
            f"| {_verdict(m.resolve_met, open_=m.resolved_at is None)} |"
        )
    return [*lines, ""]


def _severity_table(incidents: list[Measured]) -> list[str]:
    """Per severity: how many, acknowledgement and resolution times, the targets met."""
    lines = [
        "| severity | incidents | MTTA median | MTTA worst | MTTR median | MTTR worst "
        "| targets met |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for sev in Severity:
        mine = [m for m in incidents if m.severity is sev]
        if not mine:
            continue
        ttas = [m.tta for m in mine if m.tta is not None]
        ttrs = [m.ttr for m in mine if m.ttr is not None]
        verdicts = [m.ack_met for m in mine] + [
            v for v in (m.resolve_met for m in mine) if v is not None
        ]
        met = round(100 * sum(verdicts) / len(verdicts)) if verdicts else 0
        lines.append(
            f"| {sev.value} | {len(mine)} | {_hm(_median(ttas))} | {_hm(max(ttas, default=None))} "
            f"| {_hm(_median(ttrs))} | {_hm(max(ttrs, default=None))} | {met}% |"
        )
    return lines


def _items_table(review: Review) -> list[str]:
    """Action items per horizon: opened, closed and overdue, then the overdue ones."""
    lines = [
        "| horizon | opened | closed | overdue |",
        "| --- | --- | --- | --- |",
    ]
    overdue = [i for i in review.items if i.state == "open" and i.due < review.now]
    for horizon in ("immediate", "short-term", "long-term"):
        these = [i for i in review.items if i.horizon == horizon]
        late = [i for i in overdue if i.horizon == horizon]
        closed = sum(1 for i in these if i.state == "closed")
        lines.append(f"| {horizon} | {len(these)} | {closed} | {len(late)} |")
    if overdue:
        lines += ["", "Overdue: " + ", ".join(f"#{i.number}" for i in overdue)]
    return lines


def _charts(incidents: list[Measured]) -> list[str]:
    """Incidents by severity (a pie), time to acknowledge against the target (bars, a line)."""
    lines = ["## Charts", "", "```mermaid", "pie title Incidents by severity"]
    for sev in Severity:
        count = sum(1 for m in incidents if m.severity is sev)
        if count:
            lines.append(f'    "{sev.value}" : {count}')
    lines += ["```", "", "```mermaid", "xychart-beta"]
    lines.append('    title "Time to acknowledge (minutes) against the target"')
    lines.append("    x-axis [" + ", ".join(f'"#{m.number}"' for m in incidents) + "]")
    lines.append('    y-axis "minutes"')
    minutes = [int((m.tta or timedelta()).total_seconds() // 60) for m in incidents]
    targets = [int(m.ack_target.total_seconds() // 60) for m in incidents]
    lines.append("    bar [" + ", ".join(map(str, minutes)) + "]")
    lines.append("    line [" + ", ".join(map(str, targets)) + "]")
    lines.append("```")
    return lines


def _median(values: Sequence[timedelta]) -> timedelta | None:
    if not values:
        return None
    return timedelta(seconds=statistics.median(v.total_seconds() for v in values))
