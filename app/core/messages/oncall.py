"""On call: handover notes and issues, `/oncall` replies, covers, calendar problems."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from app.core import markers
from app.core.messages.formatting import cell

ONCALL_TITLE = "On-call"
HANDOVER_TITLE = "On-call handover: {rotation}, {when}"
NOBODY = "nobody (the seat's backups are reached)"


def iso(at: datetime) -> str:
    """A moment as markers and covers keep it: `2026-03-30T07:00Z`."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


def local(at: datetime, zone: str) -> str:
    """`Mon 2026-03-30 09:00 Europe/Berlin`."""
    return at.astimezone(ZoneInfo(zone)).strftime("%a %Y-%m-%d %H:%M ") + zone


def _who(login: str | None, *, ping: bool = True) -> str:
    if not login:
        return NOBODY
    return f"@{login}" if ping else f"`{login}`"


@dataclass(frozen=True)
class RoleChange:
    """A role whose seat the handoff passes on."""

    title: str
    outgoing: str | None
    incoming: str | None


def handover_note(rotation: str, at: datetime, zone: str, changes: Sequence[RoleChange]) -> str:
    """The comment on an open P0/P1 when a rotation hands over."""
    lines = [f"**On-call handover** (`{rotation}`, {local(at, zone)})", ""]
    lines += [
        f"- {c.title}: {_who(c.incoming)} takes over from {_who(c.outgoing, ping=False)}."
        for c in changes
    ]
    lines += [
        "",
        "_The app assigns the incoming person where it had assigned the seat; a role handed "
        "over with `/assign` stays with whoever holds it._",
        markers.render(markers.Handover(rotation, iso(at))),
    ]
    return "\n".join(lines)


@dataclass(frozen=True)
class OpenIncident:
    """One open incident as the handover issue lists it."""

    number: int
    title: str
    severity: str
    status: str
    next_deadline: str  # e.g. "update due Mon 2026-03-30 09:30 Europe/Berlin", or ""


def handover_issue(
    rotation: str,
    at: datetime,
    zone: str,
    outgoing: str | None,
    incoming: str | None,
    incidents: Sequence[OpenIncident],
) -> tuple[str, str]:
    """The title and body of the handover issue of one rotation's handoff."""
    title = HANDOVER_TITLE.format(rotation=rotation, when=local(at, zone))
    lines = [
        f"{_who(incoming)} takes over `{rotation}` from {_who(outgoing, ping=False)} "
        f"at {local(at, zone)}.",
        "",
        "| Incident | Severity | Status | Next deadline |",
        "| --- | --- | --- | --- |",
    ]
    lines += [
        f"| #{i.number} {cell(i.title, 80)} | {i.severity} | {i.status} "
        f"| {i.next_deadline or '—'} |"
        for i in incidents
    ]
    lines += [
        "",
        "_Close this issue once the handover is done. The app opens one per handoff while "
        "incidents are open._",
        markers.render(markers.HandoverIssue(rotation, iso(at))),
    ]
    return title, "\n".join(lines)


@dataclass(frozen=True)
class SeatNow:
    """A rotating seat in `/oncall`'s reply."""

    rotation: str
    seat: str
    now: str | None
    next_at: datetime | None
    next_holder: str | None


def oncall_reply(comment_id: int, rows: Sequence[SeatNow], zone: str, problems: list[str]) -> str:
    """`/oncall`: each rotating seat's holder now and after the next handoff."""
    lines = ["**On call**", "", "| Rotation | Seat | Now | Next handoff |", "| --- " * 4 + "|"]
    for r in rows:
        after = f"{local(r.next_at, zone)}: {_who(r.next_holder, ping=False)}" if r.next_at else "—"
        lines.append(f"| `{r.rotation}` | `{r.seat}` | {_who(r.now, ping=False)} | {after} |")
    if not rows:
        lines = ["No roster seat follows a rotation here (`rotations:` in `.github/incident.yml`)."]
    lines += [f"\n> ⚠️ {p}; its seats' backups are reached meanwhile." for p in problems]
    lines.append(markers.render(markers.OnCallReply(comment_id)))
    return "\n".join(lines)


def calendar_problem(calendar: str, problem: str, seats: Sequence[str]) -> str:
    """On an incident: a calendar its seats follow could not be read."""
    named = ", ".join(f"`{s}`" for s in seats)
    return (
        f"⚠️ The on-call calendar `{calendar}` could not be read ({problem}): nobody holds "
        f"{named} from it, so those roles' backups are reached meanwhile. The operator's "
        "`doctor` fetches it to check.\n" + markers.render(markers.CalendarProblem(calendar))
    )


def _cover_until(until: datetime | None, ends: datetime | None, zone: str) -> str:
    if until:
        return f"until {local(until, zone)}"
    return f"until the next handoff ({local(ends, zone)})" if ends else "until the next handoff"


def cover_reply(
    comment_id: int,
    login: str,
    rotation: str,
    until: datetime | None,
    zone: str,
    ends: datetime | None = None,
) -> str:
    """The reply to `/oncall cover`; `ends`: the next handoff that ends a cover without `until`."""
    end = _cover_until(until, ends, zone)
    return (
        f"@{login} is on call for `{rotation}` from now {end} (recorded in the repository's "
        f"{ONCALL_TITLE} issue).\n" + markers.render(markers.OnCallReply(comment_id))
    )


def cover_refused(comment_id: int, reason: str) -> str:
    return f"Nothing changed: {reason}.\n" + markers.render(markers.OnCallReply(comment_id))


def cover_record(
    note: markers.CoverNote, source: str, zone: str, ends: datetime | None = None
) -> str:
    """The comment in the On-call issue that is the record of a cover."""
    end = _cover_until(datetime.fromisoformat(note.until) if note.until else None, ends, zone)
    start = local(datetime.fromisoformat(note.start), zone)
    return (
        f"`{note.login}` covers `{note.rotation}` from {start} {end}, asked by `{note.by}` in "
        f"{source}.\n" + markers.render(note)
    )


def oncall_issue_body() -> str:
    return (
        "The app records here who covers an on-call rotation (`/oncall cover @login` on an "
        "incident). Its own comments below are the record: delete one to take a cover back. "
        "Keep this issue open.\n" + markers.render(markers.OnCallLog())
    )
