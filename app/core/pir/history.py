"""What happened, for the review: the timeline's entries in GitHub's time order, and the
Mermaid chart of the phases and milestones."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from app.core import markers
from app.core.commands import Status
from app.core.labels import SEVERITIES, STATUSES
from app.core.pir.rounds import Round
from app.core.pir.times import utc
from app.core.snapshot import Event, Snapshot
from app.core.state import IncidentState, Update


@dataclass(frozen=True)
class Entry:
    at: datetime
    event: str
    who: str
    link: str


_TIMELINE_COMMANDS = ("SetSeverity", "AssignRole", "Escalate")


_NOTE_EVENTS: dict[type[markers.Marker], str] = {
    markers.Escalation: "Escalation posted",
    markers.Reminder: "Update reminder posted",
    markers.SeverityNote: "Severity change announced",
    markers.BreachNote: "Breach announced to legal and security",
}


def timeline(snapshot: Snapshot, state: IncidentState) -> list[Entry]:
    """What happened, in GitHub's time order: labels, status, assignments, the app's notes."""
    entries: list[Entry] = [Entry(state.declared_at, "Incident declared", "", snapshot.issue.url)]
    entries += _event_entries(snapshot, state)
    if state.acked_at is not None:
        entries.append(Entry(state.acked_at, "Acknowledged", state.acked_by or "", ""))
    for update in state.updates:
        entries.append(Entry(update.at, update_text(update), update.author, update.url))
    entries += [
        Entry(use.comment.created_at, _describe(use.command), use.comment.author, use.comment.url)
        for use in state.uses
        if use.authorized and type(use.command).__name__ in _TIMELINE_COMMANDS
    ]
    entries += _breach_entries(state)
    entries += _note_entries(state)
    return sorted(entries, key=lambda e: e.at)


def _event_entries(snapshot: Snapshot, state: IncidentState) -> list[Entry]:
    """People's labels, assignments, closes and reopens, but the changes put back."""
    undone = {id(e) for e in state.undone}  # changes put back: not part of what happened
    entries = []
    for event in snapshot.events:
        if id(event) in undone:
            continue
        what = _event_text(event)
        if what is not None:
            entries.append(Entry(event.at, what, "incident-app" if event.ours else event.actor, ""))
    return entries


def _event_text(event: Event) -> str | None:
    match event.kind:
        case "labeled" if event.label in SEVERITIES and not event.ours:
            return f"Severity set to {event.label[4:]}"
        case "labeled" if event.label in STATUSES and not event.ours:
            return f"Status label {event.label}"
        case "assigned" if event.assignee:
            return f"Assigned {event.assignee}"
        case "closed":
            return "Issue closed"
        case "reopened":
            return "Issue reopened"
    return None


def _breach_entries(state: IncidentState) -> list[Entry]:
    record = state.breach
    if record is None:
        return []
    what = "Data breach confirmed" + (f": {record.text}" if record.text else "")
    entries = [Entry(record.at, what, record.by, "")]
    if record.legal_at is not None:
        ref = f" ({record.reference})" if record.reference else ""
        entries.append(Entry(record.legal_at, f"Legal notified{ref}", record.legal_by, ""))
    if record.regulator_at is not None:
        ref = f" ({record.regulator_reference})" if record.regulator_reference else ""
        what = f"Regulator notified{ref}"
        entries.append(Entry(record.regulator_at, what, record.regulator_by, ""))
    return entries


def _note_entries(state: IncidentState) -> list[Entry]:
    """The app's escalations, reminders and announcements."""
    breach_notes = {n.comment.id for n in state.notes_of(markers.BreachNote)}
    entries = []
    for note in state.notes:
        label = _NOTE_EVENTS.get(type(note.marker))
        if isinstance(note.marker, markers.SeverityNote) and note.comment.id in breach_notes:
            label = None  # the breach note says the severity change itself
        if label is not None:
            entries.append(Entry(note.comment.created_at, label, "incident-app", note.comment.url))
    return entries


def update_text(update: Update) -> str:
    """A status update with every field it gave, for the timeline."""
    text = f"Update #{update.number}: {update.status.value}"
    fields = update.fields
    parts = [update.text] if update.text else []
    parts += [
        f"{name}: {value}"
        for name, value in (
            ("Impact", fields.impact),
            ("ETA", fields.eta),
            ("Next update", fields.next_update),
            ("Actions", fields.actions),
        )
        if value
    ]
    return text + (" — " + "; ".join(parts) if parts else "")


def _describe(command: object) -> str:
    name = type(command).__name__
    if name == "SetSeverity":
        return f"/sev {command.severity.value}"  # type: ignore[attr-defined]
    if name == "AssignRole":
        return f"/assign {command.role} @{command.login}"  # type: ignore[attr-defined]
    reason = getattr(command, "reason", "")
    return "/escalate" + (f" {reason}" if reason else "")


def mermaid_text(text: str, limit: int = 60) -> str:
    """User text safe inside a Mermaid gantt line: letters, digits, spaces, a little punctuation."""
    text = re.sub(r"[^\w .,()/-]+", " ", str(text), flags=re.UNICODE)
    return " ".join(text.split())[:limit] or "incident"


def _phases(state: IncidentState, end: datetime) -> list[tuple[str, datetime, datetime]]:
    phases: list[tuple[str, datetime, datetime]] = []
    changes = [c for c in state.status_changes if c.at <= end]
    for change, nxt in zip(changes, [*changes[1:], None], strict=False):
        if change.value is Status.RESOLVED:
            continue
        stop = nxt.at if nxt else end
        if stop > change.at:
            phases.append((change.value.value.capitalize(), change.at, stop))
    return phases


def mermaid(snapshot: Snapshot, state: IncidentState, rnd: Round) -> str:
    """A gantt chart GitHub renders: the phases, and the milestones on top (UTC)."""
    lines = [
        "```mermaid",
        "gantt",
        f"    title Incident {rnd.incident}: {mermaid_text(snapshot.issue.title)} (UTC)",
        "    dateFormat YYYY-MM-DD HH:mm",
        "    axisFormat %H:%M",
        "    section Phases",
    ]
    for i, (name, start, stop) in enumerate(_phases(state, rnd.resolved_at)):
        if utc(start) != utc(stop):
            lines.append(f"    {name} :p{i}, {utc(start)}, {utc(stop)}")
    lines.append("    section Milestones")
    marks = [("Declared", state.declared_at)]
    if state.acked_at is not None:
        marks.append(("Acknowledged", state.acked_at))
    marks.append(("Resolved", rnd.resolved_at))
    for i, (name, at) in enumerate(marks):
        lines.append(f"    {name} :milestone, m{i}, {utc(at)}, 1m")
    lines.append("```")
    return "\n".join(lines)
