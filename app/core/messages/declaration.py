"""What opens an incident: the brief, its confirmation, a severity change, the security note,
and the note on a config that could not be used (docs/behaviour.md §2, §8)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from app.core import markers
from app.core.commands import Status
from app.core.messages.formatting import cell, quiet, when
from app.core.messages.people import all_holders, named
from app.core.messages.templates import COMMANDS_HELP, checklist, template_block
from app.core.policy import ConfigIssue, Policy, Severity, SeverityPolicy

SECURITY_PUBLIC_WARNING = (
    "> [!CAUTION]\n"
    "> **Security incident on a public repository.** Anyone can read this issue: keep "
    "details (affected data, exploit, indicators) in a private channel and post only "
    "status here."
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
        everyone = all_holders(policy, roles)
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
            who = named(policy, role, roles.get(role, []), notify=notify)
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
    who = [f"{policy.role_title(r)}: {named(policy, r, roles.get(r, []))}" for r in shown]
    lines = [
        f"✅ **{severity.value} {sp.name} incident confirmed** by @{by}. "
        f"Respond by {when(respond_by, policy)}.",
        "",
        *(f"- {line}" for line in who),
    ]
    if sp.notify_all:
        everyone = all_holders(policy, roles)
        if everyone:
            lines += ["", f"**Notifying everyone ({severity.value}):** {' '.join(everyone)}"]
    lines += ["", markers.render(markers.Confirmed(by.lower()))]
    return "\n".join(lines)


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
