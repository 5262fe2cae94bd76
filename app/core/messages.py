"""Every text the app writes on GitHub, in one place."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import TYPE_CHECKING

from app.core import followup, markers
from app.core.commands import Status
from app.core.policy import ConfigIssue, Policy, Severity, SeverityPolicy

if TYPE_CHECKING:
    from app.core.state import Update

COMMANDS_HELP = """\
| command | effect |
| --- | --- |
| `/ack` | acknowledge: stops the response-time escalation |
| `/status investigating\\|mitigating\\|monitoring\\|resolved [text]` | status update; `resolved` closes the issue |
| `/sev P0`…`/sev P3` | change the severity |
| `/assign ic\\|tl\\|comms\\|dev\\|qa @login` | hand over a role: incident commander, technical lead, communication lead, development or QA team |
| `/escalate [technical\\|business\\|compliance\\|resources] [reason]` | escalate now: technical (the default) to the next level of the chain, business to senior management, compliance to legal and the security officer, resources to the team lead |
| `/breach [text]` | a confirmed data breach: P0, legal and the security officer told, "notify legal by" deadline |
| `/legal notified [reference]` | legal was notified (legal, the incident commander or the security officer) |
| `/action immediate\\|short\\|long <text> [@owner]` | file an action item now (due in 1 week, 1 month or 1 quarter) |
| `/incident help` | this list |

A comment written in the status update template counts as `/status`. Commands work for \
people with write access to the repository and for those named in the roster."""

UPDATE_TEMPLATE = """\
🚨 INCIDENT UPDATE #{number} - [timestamp]
Severity: {severity}
Status: {status}
Impact: [Description of user/business impact]
ETA: [Estimated resolution time]
Next Update: [When next update will be provided]
Actions: [Current/planned actions]"""

SECURITY_PUBLIC_WARNING = (
    "> [!CAUTION]\n"
    "> **Security incident on a public repository.** Anyone can read this issue: keep "
    "details (affected data, exploit, indicators) in a private channel and post only "
    "status here."
)


def when(moment: datetime, policy: Policy) -> str:
    """`2019-05-15 15:35 UTC`, with the local time too when the calendar is not UTC."""
    utc = moment.astimezone(UTC)
    text = utc.strftime("%Y-%m-%d %H:%M UTC")
    zone = policy.business_calendar.zone
    if policy.calendar.timezone != "UTC":
        local = moment.astimezone(zone)
        text += f" ({local.strftime('%a %H:%M')} {policy.calendar.timezone})"
    return text


def quiet(mention: str) -> str:
    """A login or team named without notifying it."""
    return f"`{mention}`"


def backups(policy: Policy, role: str) -> list[str]:
    """The role's backups as mentions, seats without a login left out."""
    found = policy.roles.get(role)
    return [m for m in (policy.resolve(x) for x in (found.backup if found else [])) if m]


def _who(policy: Policy, role: str, holders: list[str], *, notify: bool = True) -> str:
    """Who holds a role: @-mentioned when the severity notifies it (runbook: "Alert
    appropriate team members based on severity"), else named quietly; a role nobody holds
    falls back to its backup, and says so."""
    show = (lambda m: m) if notify else quiet
    if holders:
        return " ".join(show(h) for h in holders)
    found = policy.roles.get(role)
    seats = [m for m in (found.members if found else []) if not m.startswith("@")]
    missing = (
        " ".join(f"`{s}`" for s in seats) + " — no GitHub login in the roster"
        if seats
        else "nobody named in the config"
    )
    spare = backups(policy, role)
    if spare:
        return f"{' '.join(show(b) for b in spare)} (backup: {missing})"
    return missing


def checklist(policy: Policy, severity: Severity) -> str:
    items = policy.for_severity(severity).checklist
    return f"### Checklist ({severity.value})\n" + "\n".join(f"- [ ] {item}" for item in items)


def template(*, number: int, severity: Severity, status: Status) -> str:
    """The runbook's status update template, filled in with what the app knows."""
    return UPDATE_TEMPLATE.format(
        number=number, severity=severity.value, status=status.value.capitalize()
    )


def template_block(*, number: int, severity: Severity, status: Status) -> str:
    return (
        "<details><summary>Status update template</summary>\n\n```\n"
        + template(number=number, severity=severity, status=status)
        + "\n```\n</details>"
    )


def brief(
    *,
    policy: Policy,
    severity: Severity,
    declared_at: datetime,
    respond_by: datetime,
    next_update: datetime,
    roles: dict[str, list[str]],
    defaulted: bool,
    security: bool,
    public: bool,
    recurs: Sequence[int] = (),
    reported_by: str | None = None,
) -> str:
    """The one comment that opens an incident (docs/behaviour.md §2).

    `reported_by` someone without authority (behaviour §8): only the incident commander is
    @-mentioned, and the brief asks for a confirmation, which reaches the rest."""
    sp = policy.for_severity(severity)
    notify_all = sp.notify_all and reported_by is None
    lines = [
        f"## 🚨 {severity.value} {sp.name} incident declared",
        "",
        f"Declared {when(declared_at, policy)}.",
        f"**Respond by {when(respond_by, policy)}** ({sp.respond_within}): "
        "acknowledge with `/ack`.",
        f"**Next status update due {when(next_update, policy)}** (every {sp.update_every}).",
        *_brief_notes(severity, defaulted, recurs, reported_by),
        "",
        "| Role | Who |",
        "| --- | --- |",
        *_brief_roles(policy, sp, roles, notify_all=notify_all, reported_by=reported_by),
    ]
    if security:
        lines += _brief_security(policy, public)
    if notify_all:
        everyone = _everyone(policy, roles)
        if everyone:
            lines += ["", f"**Notifying everyone ({severity.value}):** {' '.join(everyone)}"]
    lines += [
        "",
        checklist(policy, severity),
        "",
        template_block(number=1, severity=severity, status=Status.INVESTIGATING),
        "",
        "<details><summary>Commands</summary>\n\n" + COMMANDS_HELP + "\n</details>",
        "",
        markers.render(
            markers.Brief(
                severity.value,
                checklist=severity.value,
                recurs=tuple(str(n) for n in recurs),
                unconfirmed=reported_by is not None,
                security=security,
            )
        ),
    ]
    return "\n".join(lines)


def _brief_notes(
    severity: Severity, defaulted: bool, recurs: Sequence[int], reported_by: str | None
) -> list[str]:
    """The brief's notes under its deadlines: unconfirmed, a recurrence, a default severity."""
    lines: list[str] = []
    if reported_by is not None:
        lines += [
            "",
            f"⚠️ **Reported by {quiet('@' + reported_by)}, not yet confirmed.** Only the "
            "incident commander is notified until someone with write access or a roster seat "
            "confirms it with `/ack` or `/sev`; then the other roles are assigned and paged.",
        ]
    if recurs:
        earlier = ", ".join(f"#{n}" for n in recurs)
        lines += ["", f"🔁 **Recurrence** of {earlier} (the same title or component, lately)."]
    if defaulted:
        lines += [
            "",
            f"Severity defaulted to **{severity.value}** because only `incident` was set: "
            "confirm it or change it with `/sev P0`…`/sev P3`.",
        ]
    return lines


def _brief_roles(
    policy: Policy,
    sp: SeverityPolicy,
    roles: dict[str, list[str]],
    *,
    notify_all: bool,
    reported_by: str | None,
) -> list[str]:
    """The brief's role table rows: who holds each role, @-mentioned where they are paged."""
    shown = list(
        dict.fromkeys([*sp.assign, "incident_commander", "technical_lead", "communication_lead"])
    )
    rows = []
    for role in shown:
        if role in policy.roles:
            notify = (
                notify_all or role in sp.assign
                if reported_by is None
                else role == "incident_commander"
            )
            who = _who(policy, role, roles.get(role, []), notify=notify)
            rows.append(f"| {policy.role_title(role)} | {who} |")
    return rows


def _brief_security(policy: Policy, public: bool) -> list[str]:
    sec = policy.holders(policy.security_role)
    lines = [
        "",
        f"**Security incident:** {' '.join(sec) or 'no security role named in the config'}.",
    ]
    return lines + (["", SECURITY_PUBLIC_WARNING] if public else [])


def confirmed(
    *,
    policy: Policy,
    severity: Severity,
    by: str,
    roles: dict[str, list[str]],
    respond_by: datetime,
) -> str:
    """An unconfirmed declaration confirmed (behaviour §8): the severity's roles reached."""
    sp = policy.for_severity(severity)
    shown = [r for r in dict.fromkeys(sp.assign) if r in policy.roles]
    who = [f"{policy.role_title(r)}: {_who(policy, r, roles.get(r, []))}" for r in shown]
    lines = [
        f"✅ **{severity.value} {sp.name} incident confirmed** by @{by}. "
        f"Respond by {when(respond_by, policy)}.",
        "",
        *(f"- {line}" for line in who),
    ]
    if sp.notify_all:
        everyone = _everyone(policy, roles)
        if everyone:
            lines += ["", f"**Notifying everyone ({severity.value}):** {' '.join(everyone)}"]
    lines += ["", markers.render(markers.Confirmed(by.lower()))]
    return "\n".join(lines)


def _everyone(policy: Policy, roles: dict[str, list[str]]) -> list[str]:
    found: list[str] = []
    for role in policy.roles:
        found += roles.get(role) or policy.holders(role)
    return list(dict.fromkeys(found))


def severity_changed(
    *,
    policy: Policy,
    old: Severity,
    new: Severity,
    by: str,
    respond_by: datetime,
    next_update: datetime,
    assigned: list[str],
    with_checklist: bool,
) -> str:
    """The short note on a severity change (docs/behaviour.md §2)."""
    sp = policy.for_severity(new)
    who = f" by @{by}" if by else ""
    lines = [
        f"Severity changed {old.value} → **{new.value} {sp.name}**{who}. "
        f"Respond by {when(respond_by, policy)}; updates every {sp.update_every}, "
        f"next due {when(next_update, policy)}.",
    ]
    if assigned:
        lines.append(f"Assigned: {' '.join(assigned)}.")
    if with_checklist:
        lines += ["", checklist(policy, new)]
    lines += [
        "",
        markers.render(
            markers.SeverityNote(new.value, checklist=new.value if with_checklist else None)
        ),
    ]
    return "\n".join(lines)


def security_flagged(*, policy: Policy, public: bool) -> str:
    sec = policy.holders(policy.security_role)
    lines = [f"**Security incident:** {' '.join(sec) or 'no security role named in the config'}."]
    if public:
        lines += ["", SECURITY_PUBLIC_WARNING]
    lines += ["", markers.render(markers.SecurityNote())]
    return "\n".join(lines)


def help_reply(comment_id: int) -> str:
    return COMMANDS_HELP + "\n\n" + markers.render(markers.HelpReply(comment_id))


def invalid_reply(comment_id: int, problems: Iterable[tuple[str, str]]) -> str:
    body = "\n".join(f"`{command}`: {problem}." for command, problem in problems)
    return body + "\nSee `/incident help`.\n\n" + markers.render(markers.InvalidReply(comment_id))


def denied_reply(login: str) -> str:
    return (
        f"@{login} incident commands work only for people with write access to this "
        "repository or named in the incident roster, so this one changed nothing.\n\n"
        + markers.render(markers.Denied(login.lower()))
    )


def undone_reply(login: str, what: str, commanders: list[str]) -> str:
    """A person without authority changed severity or status: the app put it back."""
    ic = f" Ask the incident commander ({' '.join(commanders)})" if commanders else " Ask"
    return (
        f"@{login} {what} was undone: changing an incident's severity or status, its "
        "`incident`, `breach`, `drill` or `security` label, closing or reopening it, takes "
        "write access to this repository or a place in the incident "
        f"roster.{ic} or someone with write access, or use `/status` and `/sev` if you have "
        "it.\n\n" + markers.render(markers.Undone(login.lower()))
    )


MAX_TITLE = 256  # GitHub's limit for issue and pull request titles


def title(text: str, suffix: str = "") -> str:
    """An issue or pull request title within GitHub's limit, cut with an ellipsis."""
    room = MAX_TITLE - len(suffix)
    if len(text) > room:
        text = text[: room - 1].rstrip() + "…"
    return text + suffix


MAX_BODY = 65_536  # GitHub refuses longer comment and issue bodies


def fit(body: str) -> str:
    """A body within GitHub's limit; the hidden marker on its last line is kept."""
    if len(body) <= MAX_BODY:
        return body
    _, sep, last = body.rpartition("\n")
    tail = sep + last if last.startswith(f"<!-- {markers.PREFIX}") else ""
    cut = "\n\n… (cut: longer than GitHub allows)"
    return body[: MAX_BODY - len(cut) - len(tail)] + cut + tail


def manual_escalation(
    *,
    policy: Policy,
    by: str,
    reason: str,
    trigger: str,
    level: int,
    targets: list[tuple[str, list[str]]],
    climbed: bool,
    comment_id: int,
) -> str:
    """`/escalate [trigger] [reason]`: who is called in, and why."""
    who = "; ".join(reach(policy, role, holders) for role, holders in targets)
    where = f" (level {level + 1} of the chain)" if climbed else ""
    because = f": {cell(reason)}" if reason else ""
    return (
        f"⏫ Escalated by @{by} for **{TRIGGER_TITLES.get(trigger, trigger)}**{because}.\n"
        f"Calling in {who}{where}: please join.\n\n"
        + markers.render(
            markers.Escalation((f"manual-{comment_id}",), level=level, comment=comment_id)
        )
    )


def breach_confirmed(
    *,
    policy: Policy,
    by: str,
    text: str,
    raised_from: Severity | None,
    legal_by: datetime,
    regulator_by: datetime | None,
    targets: list[tuple[str, list[str]]],
    assigned: list[str],
    with_checklist: bool,
    public: bool,
    severity: Severity = Severity.P0,
) -> str:
    """A confirmed data breach: severity, who must act, and the one-hour legal deadline.

    `severity` is the incident's now: P0, unless someone with authority set another since
    the breach, before this note could be posted (it then announces that one)."""
    who = "; ".join(reach(policy, role, holders) for role, holders in targets)
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
        lines.append(f"Regulator deadline: **{when(regulator_by, policy)}**.")
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


def action_item_body(
    *,
    text: str,
    horizon: str,
    due: datetime,
    incident: int,
    source: str,
    marker: markers.Marker,
) -> str:
    """An action item's issue: what, by when, and where it came from."""
    title, _, span = followup.HORIZONS[horizon]
    return (
        f"{cell(text, 500)}\n\n"
        f"**{title}** action item ({span}): **due {due.astimezone(UTC):%Y-%m-%d}**.\n"
        f"From the post-incident review of #{incident} ({source}).\n\n" + markers.render(marker)
    )


def action_overdue(*, who: list[str], due_at: datetime, week: str, policy: Policy) -> str:
    mention = " ".join(who) or "Incident commander"
    return (
        f"⏰ {mention}: this action item was due {when(due_at, policy)}. Close it when it is "
        "done, or say here what stands in the way.\n\n"
        + markers.render(markers.ActionReminder(week))
    )


def action_list(
    filed: list[tuple[str, int, str]],
    keys: tuple[str, ...],
    *,
    unfiled: Sequence[str] = (),
    limit: int = 0,
) -> str:
    """The incident's list of its action items (key, issue, horizon), by horizon; a review's
    items past `pir.max_action_items` listed as not filed."""
    lines = ["📋 **Action items**", ""]
    for horizon, (title, _, span) in followup.HORIZONS.items():
        numbers = sorted(n for _, n, h in filed if h == horizon)
        if numbers:
            lines.append(f"- **{title}** ({span}): " + ", ".join(f"#{n}" for n in numbers))
    if unfiled:
        lines += [
            "",
            f"**Not filed** ({len(unfiled)} past `pir.max_action_items`, {limit}): file the "
            "ones that matter by hand or with `/action`.",
            *(f"- {cell(text, 200)}" for text in unfiled[:100]),
        ]
        if len(unfiled) > 100:
            lines.append(f"- … and {len(unfiled) - 100} more")
    lines += ["", markers.render(markers.ActionList(keys))]
    return "\n".join(lines)


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


class DurationStyle(Enum):
    """How `duration` writes a span of time (whole minutes, rounded down)."""

    WORDS = "words"  # `5 minutes`, `26 hours`, `2 days`: the largest whole unit (escalations)
    UNITS = "units"  # `1 d 2 h 5 min`, never below `0 min` (resolution and recurrence notes)
    CLOCK = "clock"  # `5m`, `2h 05m`, `1d 0h 05m` (the PIR)
    HOURS = "hours"  # `5m`, `26h 05m`; `—` for none (the monthly review)


def duration(delta: timedelta | None, style: DurationStyle = DurationStyle.UNITS) -> str:
    """A span of time as text, in one of the styles above."""
    if delta is None:
        return "—"
    minutes = int(delta.total_seconds() // 60)
    if style is DurationStyle.UNITS:
        minutes = max(minutes, 0)
    total_hours, mins = divmod(minutes, 60)
    days, hours = divmod(total_hours, 24)
    match style:
        case DurationStyle.WORDS if total_hours and hours == 0:
            return _count(days, "day")
        case DurationStyle.WORDS:
            return _count(total_hours, "hour") if total_hours else _count(minutes, "minute")
        case DurationStyle.UNITS:
            parts = [f"{days} d"] if days else []
            parts += [f"{hours} h"] if hours else []
            parts += [f"{mins} min"] if mins or not parts else []
            return " ".join(parts)
        case DurationStyle.CLOCK if days or hours:
            return f"{days}d {hours}h {mins:02d}m" if days else f"{hours}h {mins:02d}m"
        case DurationStyle.HOURS if total_hours:
            return f"{total_hours}h {mins:02d}m"
    return f"{mins}m"


def _count(n: int, unit: str) -> str:
    return f"{n} {unit}{'s' if n != 1 else ''}"


TRIGGER_TITLES = {
    "technical": "technical complexity",
    "business": "business impact",
    "compliance": "compliance risk",
    "resources": "resource constraints",
}


def config_problem(problems: Iterable[ConfigIssue], digest: str) -> str:
    # A problem found in a file outside this repository shows no location or text of it.
    rows = "\n".join(
        f"| `{p.source}` | `{'file' if p.foreign else p.location}` | "
        f"{cell(p.public_text() if p.foreign else p.message)} |"
        for p in problems
    )
    return (
        "⚠️ The incident config could not be used, so this incident runs on the last good "
        "or the bundled default config. Fix it and check with "
        "`incident-app check-config .github/incident.yml`.\n\n"
        "| file | where | problem |\n| --- | --- | --- |\n"
        + rows
        + "\n\n"
        + markers.render(markers.ConfigProblem(digest))
    )


def cell(text: str, limit: int = 300) -> str:
    """User text made safe for one table cell or line: no pipes, newlines, HTML, code spans
    or pings."""
    text = " ".join(str(text).split())[:limit]
    return (
        text.replace("\\", "\\\\")
        .replace("|", "\\|")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("@", "@\u200b")
        .replace("`", "'")
    )


def status_title(status: Status) -> str:
    return status.value.capitalize()


def _mentions(holders: list[str], title: str) -> str:
    return " ".join(holders) if holders else f"(nobody is named for {title} in the config)"


def escalation(
    *,
    policy: Policy,
    missed: list[str],
    role: str,
    holders: list[str],
    backups: list[str],
    steps: list[str],
    level: int,
) -> str:
    """An automatic escalation: which deadlines passed, and who is now called in."""
    title = policy.role_title(role)
    lines = ["⏫ **Escalation** — " + "; ".join(missed) + "."]
    backup = f" (backup: {' '.join(backups)})" if backups else ""
    lines.append(
        f"Escalating to **{title}** (level {level + 1} of the chain): "
        f"{_mentions(holders, title)}{backup}."
    )
    lines.append("Reply `/ack` to acknowledge, or `/status …` with an update.")
    lines += ["", markers.render(markers.Escalation(tuple(steps), level=level))]
    return "\n".join(lines)


def reach(policy: Policy, role: str, holders: list[str]) -> str:
    """`**Senior Management**: @x (backup …) — contact …`: whom a message calls in, and how
    to reach them outside GitHub."""
    found = policy.roles.get(role)
    contact = (
        f" — `{cell(found.contact).replace(chr(0x200B), '')}`" if found and found.contact else ""
    )
    return f"**{policy.role_title(role)}**: {_who(policy, role, holders)}{contact}"


def unresolved(
    *,
    policy: Policy,
    missed: list[str],
    review: str | None,
    targets: list[tuple[str, list[str]]],
    steps: list[str],
    level: int,
) -> str:
    """The unresolved track: an escalation to named roles, or a standing review."""
    who = "; ".join(reach(policy, role, holders) for role, holders in targets)
    if review:
        lines = [
            f"📋 **{review[:1].upper() + review[1:]}** — " + "; ".join(missed) + ".",
            f"{who}: please review this incident, its status and its next steps.",
        ]
    else:
        lines = ["⏫ **Escalation** — " + "; ".join(missed) + ".", f"Escalating to {who}."]
    lines.append("Reply `/status …` with an update, or resolve it with `/status resolved`.")
    lines += ["", markers.render(markers.Escalation(tuple(steps), level=level))]
    return "\n".join(lines)


def reminder(
    *,
    policy: Policy,
    severity: Severity,
    due: datetime,
    who: list[str],
    anchor: datetime,
    number: int,
    status: Status,
    latest: Update | None,
    promised: bool,
) -> str:
    """A status update is overdue: when it was due, what the last one said, the template."""
    sp = policy.for_severity(severity)
    mention = " ".join(who) if who else "Communication lead"
    why = (
        "as the last update promised" if promised else f"{severity.value}: every {sp.update_every}"
    )
    lines = [
        f"⏰ {mention}: a status update was due {when(due, policy)} ({why}). "
        "Post `/status …` or the template:",
    ]
    if latest is not None:
        said = [f"Impact: {cell(latest.impact)}"] if latest.impact else []
        said += [f"ETA: {cell(latest.fields.eta)}"] if latest.fields.eta else []
        lines += [
            "",
            f"Last update #{latest.number} ({when(latest.at, policy)}, {latest.status.value})"
            + (": " + "; ".join(said) if said else "."),
        ]
    next_number = latest.number + 1 if latest else 1
    lines += [
        "",
        "```",
        template(number=next_number, severity=severity, status=status),
        "```",
        "",
        markers.render(markers.Reminder(anchor.isoformat(), number)),
    ]
    return "\n".join(lines)
