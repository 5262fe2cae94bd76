"""The post-incident review: its names, its issue and its document, from GitHub's record (pure)."""

from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

from app.core import markers, messages
from app.core.commands import Status
from app.core.labels import SEVERITIES, STATUSES
from app.core.policy import Policy
from app.core.snapshot import Event, Snapshot
from app.core.state import IncidentState, Update

AGENDA = [
    ("Incident Summary", 10),
    ("Timeline Review", 20),
    ("Root Cause Analysis", 20),
    ("Response Evaluation", 15),
    ("Action Items", 15),
]
HORIZONS = [
    ("Immediate", "critical fixes", timedelta(weeks=1), "1 week"),
    ("Short-term", "improvements", timedelta(days=30), "1 month"),
    ("Long-term", "strategic improvements", timedelta(days=91), "1 quarter"),
]


@dataclass(frozen=True)
class Round:
    """One resolution of an incident; a reopened and re-resolved incident has round 2, …"""

    number: int
    resolved_at: datetime
    incident: int
    # The incident's repository, when the review is held in another one (a security incident
    # of a public repository): its name keeps branches and files apart there.
    home: str | None = None

    @property
    def suffix(self) -> str:
        return "" if self.number == 1 else f"-r{self.number}"

    @property
    def tag(self) -> str:
        return f"{self.home.replace('/', '-')}-" if self.home else ""

    @property
    def incident_ref(self) -> str:
        """How the review refers to the incident: `#12`, or `owner/repo#12` from elsewhere."""
        return f"{self.home or ''}#{self.incident}"

    @property
    def branch(self) -> str:
        return f"pir/{self.tag}{self.incident}{self.suffix}"


def current_round(state: IncidentState) -> Round | None:
    """The latest resolution, if the incident is resolved now."""
    if state.status is not Status.RESOLVED:
        return None
    resolutions = [c.at for c in state.status_changes if c.value is Status.RESOLVED]
    return Round(len(resolutions), resolutions[-1], 0)


def slug(title: str, limit: int = 50) -> str:
    """`Checkout returns 502!` → `checkout-returns-502`."""
    text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    text = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return text[:limit].rstrip("-") or "incident"


def document_path(policy: Policy, rnd: Round, title: str) -> str:
    day = rnd.resolved_at.astimezone(UTC).strftime("%Y-%m-%d")
    folder = policy.pir.path.strip("/")
    return f"{folder}/{day}-{rnd.tag}{rnd.incident}-{slug(title)}{rnd.suffix}.md"


def due(policy: Policy, rnd: Round) -> datetime:
    """Resolution + `pir.due_business_days` business days, at close of business."""
    return policy.business_calendar.business_days_after(
        rnd.resolved_at, policy.pir.due_business_days
    )


def mermaid_text(text: str, limit: int = 60) -> str:
    """User text safe inside a Mermaid gantt line: letters, digits, spaces, a little punctuation."""
    text = re.sub(r"[^\w .,()/-]+", " ", str(text), flags=re.UNICODE)
    return " ".join(text.split())[:limit] or "incident"


_hm = partial(messages.duration, style=messages.DurationStyle.CLOCK)


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


@dataclass(frozen=True)
class Entry:
    at: datetime
    event: str
    who: str
    link: str


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


_TIMELINE_COMMANDS = ("SetSeverity", "AssignRole", "Escalate")

_NOTE_EVENTS: dict[type[markers.Marker], str] = {
    markers.Escalation: "Escalation posted",
    markers.Reminder: "Update reminder posted",
    markers.SeverityNote: "Severity change announced",
    markers.BreachNote: "Breach announced to legal and security",
}


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
        if _utc(start) != _utc(stop):
            lines.append(f"    {name} :p{i}, {_utc(start)}, {_utc(stop)}")
    lines.append("    section Milestones")
    marks = [("Declared", state.declared_at)]
    if state.acked_at is not None:
        marks.append(("Acknowledged", state.acked_at))
    marks.append(("Resolved", rnd.resolved_at))
    for i, (name, at) in enumerate(marks):
        lines.append(f"    {name} :milestone, m{i}, {_utc(at)}, 1m")
    lines.append("```")
    return "\n".join(lines)


def evaluation(policy: Policy, state: IncidentState, rnd: Round) -> list[str]:
    """Measured response times against the severity's targets."""
    sp = policy.for_severity(state.severity)
    cal = policy.business_calendar
    rows = ["| measure | target | actual | verdict |", "| --- | --- | --- | --- |"]
    if state.acked_at is not None:
        target = sp.respond_within.after(state.declared_at, cal)
        verdict = "met" if state.acked_at <= target else f"missed by {_hm(state.acked_at - target)}"
        rows.append(
            f"| time to acknowledge | {sp.respond_within} | "
            f"{_hm(state.acked_at - state.declared_at)} | {verdict} |"
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
        f"| longest gap between status updates | {sp.update_every} | {_hm(longest)} | "
        f"{'met' if late == 0 else f'{late} interval(s) over'} |"
    )
    rows.append(f"| status updates posted | every {sp.update_every} | {len(state.updates)} | |")
    rows.append(f"| time to resolve | | {_hm(rnd.resolved_at - state.declared_at)} | |")
    escalations = state.notes_of(markers.Escalation)
    rows.append(f"| escalations fired | | {len(escalations)} | |")
    lines = rows
    if escalations:
        lines += [""] + [
            f"- {_utc(n.comment.created_at)} UTC: escalation to level "
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
        legal = f"{_utc(record.legal_at)} UTC by {messages.cell(record.legal_by)}"
        verdict = (
            "met" if record.legal_at <= legal_by else f"missed by {_hm(record.legal_at - legal_by)}"
        )
    rows = [
        "## Compliance",
        "",
        "| measure | deadline | actual | verdict |",
        "| --- | --- | --- | --- |",
        f"| breach confirmed | | {_utc(record.at)} UTC by {messages.cell(record.by)} | |",
        f"| legal notified | {_utc(legal_by)} UTC ({policy.breach.legal_within}) | {legal} "
        f"| {verdict} |",
    ]
    if record.reference:
        rows.append(f"| reference | | {messages.cell(record.reference)} | |")
    if policy.breach.regulator_within is not None:
        deadline = policy.breach.regulator_within.after(record.at, cal)
        rows.append(f"| regulator | {_utc(deadline)} UTC | TODO | |")
    return [*rows, ""]


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
    ack = f"{_utc(state.acked_at)} UTC by @{state.acked_by}" if state.acked_at else "never"
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
        f"| Declared | {_utc(state.declared_at)} UTC |",
        f"| Acknowledged | {ack} |",
        f"| Resolved | {_utc(rnd.resolved_at)} UTC |",
        f"| Duration | {_hm(rnd.resolved_at - state.declared_at)} |",
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
        lines.append(f"| {_utc(entry.at)} | {event} | {who} | {link} |")
    return lines


def issue_body(snapshot: Snapshot, state: IncidentState, policy: Policy, rnd: Round) -> str:
    """The PIR issue: when, what to bring, the agenda with its time boxes."""
    total = sum(m for _, m in AGENDA)
    agenda = "\n".join(
        f"{i}. **{name}** ({minutes} minutes)" for i, (name, minutes) in enumerate(AGENDA, start=1)
    )
    return "\n".join(
        [
            f"Post-incident review of {rnd.incident_ref} "
            f"({state.severity.value}, resolved {_utc(rnd.resolved_at)} UTC).",
            "",
            f"**Due: {messages.when(due(policy, rnd), policy)}** "
            f"(within {policy.pir.due_business_days} business days of resolution).",
            "Duration: 60–90 minutes. Participants: all response team members and key "
            "stakeholders.",
            "",
            f"### Agenda ({total} minutes)",
            agenda,
            "",
            "Action items go in three categories: immediate (within 1 week), short-term "
            "(within 1 month), long-term (within 1 quarter).",
            "",
            "The review document is in the pull request linked below;"
            " merging it closes this issue.",
            "",
            markers.render(
                markers.PirIssue(
                    snapshot.issue.number,
                    rnd.number,
                    due(policy, rnd).isoformat(),
                    rnd.home,
                )
            ),
        ]
    )


def link_comment(
    *, pir_issue: int, pull: int | None, reason: str | None, rnd: Round, where: str = ""
) -> str:
    """The incident's comment pointing at its review (`where`: the review's repository, when
    it is not the incident's)."""
    if pull is not None:
        text = f"📝 Post-incident review: {where}#{pir_issue}, document in {where}#{pull}."
        if where:
            text += " It is held there because this is a security incident on a public repository."
    else:
        text = (
            f"📝 Post-incident review: #{pir_issue}. No pull request could be opened "
            f"({reason}); the document is pasted in the review issue."
        )
    return text + "\n\n" + markers.render(markers.PirLink(rnd.number, pir_issue, pull))


def private_issue_body(rnd: Round, due_at: datetime) -> str:
    """The review issue of a security incident on a public repository with nowhere private
    to hold it: a place to schedule the review, and nothing about the incident."""
    return (
        f"Post-incident review of #{rnd.incident} (round {rnd.number}). This was a security "
        "incident on a public repository, so the review is held privately: its document, "
        "timeline and findings are not kept here. Set `pir.private_repository` in "
        "`.github/incident.yml` to have the app prepare them in a private repository.\n\n"
        + markers.render(markers.PirIssue(rnd.incident, rnd.number, due_at.isoformat()))
    )


def private_link_comment(*, pir_issue: int, rnd: Round) -> str:
    return (
        f"📝 Post-incident review: #{pir_issue}. This is a security incident on a public "
        "repository: the review is held privately, and nothing of it is written here."
        "\n\n" + markers.render(markers.PirLink(rnd.number, pir_issue, None))
    )


def fallback_comment(*, reason: str, body: str) -> str:
    """On the PIR issue, when no pull request can be made: why, and the document itself."""
    return (
        f"No pull request with the review document could be opened: {reason}. "
        "Here is the document to copy into `ops/docs/incidents/` by hand:\n\n"
        "<details><summary>PIR document</summary>\n\n"
        + body
        + "\n</details>\n\n"
        + markers.render(markers.PirFallback())
    )


def overdue_reminder(*, assignees: list[str], due_at: datetime, day: str, policy: Policy) -> str:
    who = " ".join(f"@{a}" for a in assignees) or "Incident commander"
    return (
        f"⏰ {who}: this post-incident review was due {messages.when(due_at, policy)}. "
        "Schedule it, or close this issue if it took place.\n\n"
        + markers.render(markers.PirReminder(day))
    )
