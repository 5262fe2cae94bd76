"""Reading commands out of comment bodies: `/ack`, `/status`, `/sev`, …, the update template;
the public ones (`/public`, `/component`, `/impact`) are app/core/public_commands.py's."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from app.core.oncall.command import OnCall, parse_oncall
from app.core.policy import Severity
from app.core.public_commands import (
    MAX_COMPONENT_CHARS,
    MAX_PUBLIC_CHARS,
    MAX_TITLE_CHARS,
    PUBLIC_COMMANDS,
    ComponentState,
    PublicTitle,
    Publish,
    SetComponent,
    SetImpact,
    impact_percent,
    public_command,
    public_template,
    shown,
)
from app.core.update_template import UpdateFields, promised_time, template_fields

MAX_SCANNED_CHARS = 20_000


class Status(StrEnum):
    """Incident states; the value is the suffix of the `status:` label (docs/behaviour.md §3)."""

    INVESTIGATING = "investigating"
    MITIGATING = "mitigating"
    MONITORING = "monitoring"
    RESOLVED = "resolved"

    @property
    def label(self) -> str:
        return f"status:{self.value}"


ROLE_ALIASES = {
    "incident_commander": "incident_commander",
    "ic": "incident_commander",
    "commander": "incident_commander",
    "technical_lead": "technical_lead",
    "tl": "technical_lead",
    "tech_lead": "technical_lead",
    "communication_lead": "communication_lead",
    "comms": "communication_lead",
    "communications_lead": "communication_lead",
    "development_team": "development_team",
    "dev": "development_team",
    "developer": "development_team",
    "qa_team": "qa_team",
    "qa": "qa_team",
}
ROLE_HELP = (
    "incident_commander (ic), technical_lead (tl), communication_lead (comms), "
    "development_team (dev) or qa_team (qa)"
)

ACTION_HORIZONS = {
    "immediate": "immediate",
    "short": "short-term",
    "short-term": "short-term",
    "long": "long-term",
    "long-term": "long-term",
}
_OWNER_RE = re.compile(r"(?<![\w`])@([A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))\b(?!/)")

# Runbook "Manual Escalation Triggers".
TRIGGERS = {
    "technical": "technical complexity",
    "business": "business impact",
    "compliance": "compliance risk",
    "resources": "resource constraints",
}


@dataclass(frozen=True)
class Ack:
    pass


@dataclass(frozen=True)
class SetStatus:
    status: Status
    text: str = ""
    severity: Severity | None = None  # the template's `Severity:` line
    template: bool = False
    fields: UpdateFields = field(default_factory=UpdateFields)


@dataclass(frozen=True)
class SetSeverity:
    severity: Severity


@dataclass(frozen=True)
class AssignRole:
    role: str
    login: str


@dataclass(frozen=True)
class Escalate:
    reason: str = ""
    trigger: str = "technical"  # a key of TRIGGERS


@dataclass(frozen=True)
class Help:
    pass


@dataclass(frozen=True)
class Breach:
    """`/breach [text]`: a confirmed data breach (as the `breach` label)."""

    text: str = ""


@dataclass(frozen=True)
class AddActionItem:
    """`/action immediate|short|long <text> [@owner]`: an action item, filed at once."""

    horizon: str  # immediate | short-term | long-term
    text: str
    owner: str | None = None


@dataclass(frozen=True)
class LegalNotified:
    """`/legal notified [reference]`: legal was notified of the breach."""

    reference: str = ""


@dataclass(frozen=True)
class RegulatorNotified:
    """`/regulator notified [reference]`: the regulator was notified of the breach."""

    reference: str = ""


@dataclass(frozen=True)
class Invalid:
    """A command we recognised but could not read; `problem` says what is valid."""

    command: str
    problem: str


Command = (
    Ack
    | SetStatus
    | SetSeverity
    | AssignRole
    | Escalate
    | Help
    | Breach
    | LegalNotified
    | RegulatorNotified
    | AddActionItem
    | Publish
    | PublicTitle
    | SetComponent
    | SetImpact
    | OnCall
    | Invalid
)

_LINE_RE = re.compile(
    r"^\s*/(ack|status|sev|severity|assign|escalate|incident|breach|legal|regulator|action"
    r"|public|component|impact|oncall)\b(.*)$",
    re.I,
)
_TEMPLATE_RE = re.compile(r"INCIDENT UPDATE", re.I)
_LOGIN_RE = re.compile(r"^@?([A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))$")
_QUOTE_OR_FENCE = re.compile(r"^\s*(>|```|~~~)")


def _visible_lines(body: str) -> list[str]:
    """Lines outside quotes, code fences and HTML comments: quoted commands, and those GitHub
    does not show, are not commands."""
    lines: list[str] = []
    fenced = False
    for line in shown(body[:MAX_SCANNED_CHARS]).splitlines():
        stripped = line.strip()
        if stripped.startswith(("```", "~~~")):
            fenced = not fenced
            continue
        if fenced or stripped.startswith(">"):
            continue
        lines.append(line)
    return lines


MAX_INVALID = 5  # problems one reply lists


def _kind(command: Command) -> object:
    """Commands of one kind in one comment have one effect: the first counts."""
    if isinstance(command, AssignRole):
        return (AssignRole, command.role)
    if isinstance(command, SetComponent):
        return (SetComponent, command.name.lower())
    if isinstance(command, Invalid):
        return (Invalid, command.command, command.problem)
    return type(command)


def parse(body: str | None) -> list[Command]:
    """Every command in a comment, in order, one of each kind (200 `/escalate` lines
    escalate once); the status template counts as `/status`."""
    if not body:
        return []
    lines = _visible_lines(body)
    found: list[Command] = []
    kinds: set[object] = set()
    invalid = 0
    for line in lines:
        match = _LINE_RE.match(line)
        if not match:
            continue
        command = _parse_one(match[1].lower(), match[2].strip())
        if _kind(command) in kinds or (isinstance(command, Invalid) and invalid >= MAX_INVALID):
            continue
        kinds.add(_kind(command))
        invalid += isinstance(command, Invalid)
        found.append(command)
    text = "\n".join(lines)
    if not any(isinstance(c, SetStatus) for c in found) and _TEMPLATE_RE.search(text):
        template = _parse_template(text)
        if template is not None:
            found.append(template)
    if not any(isinstance(c, Publish) for c in found):
        public = public_template(lines, lambda line: bool(_LINE_RE.match(line)))
        if public is not None:
            found.append(Invalid(*public) if isinstance(public, tuple) else public)
    return found


def _parse_one(name: str, rest: str) -> Command:
    args = rest.split()
    if name == "ack":
        return Ack()
    if name == "status":
        if not args:
            return Invalid("/status", "say which state: " + _states())
        try:
            status = Status(args[0].lower())
        except ValueError:
            return Invalid("/status", f"{_echo(args[0])} is no state; use " + _states())
        return SetStatus(status, rest[len(args[0]) :].strip())
    if name in {"sev", "severity"}:
        sev = _severity(args[0]) if args else None
        if sev is None:
            return Invalid("/sev", "use /sev P0, /sev P1, /sev P2 or /sev P3")
        return SetSeverity(sev)
    if name == "assign":
        if len(args) != 2:
            return Invalid("/assign", "use /assign <role> @login; roles: ic, tl, comms, dev, qa")
        role = ROLE_ALIASES.get(args[0].lower().replace("-", "_"))
        login = _LOGIN_RE.match(args[1])
        if role is None:
            return Invalid(
                "/assign",
                f"{_echo(args[0])} is no role; use {ROLE_HELP}",
            )
        if login is None:
            return Invalid("/assign", f"{_echo(args[1])} is not a GitHub login")
        return AssignRole(role, login[1])
    if name == "action":
        horizon = ACTION_HORIZONS.get(args[0].lower()) if args else None
        text = rest[len(args[0]) :].strip() if args else ""
        if horizon is None or not text:
            return Invalid("/action", "use /action immediate|short|long <what to do> [@owner]")
        owner = _OWNER_RE.search(text)
        return AddActionItem(horizon, text[:200], owner[1] if owner else None)
    if name == "breach":
        return Breach(rest)
    if name == "oncall":
        oncall = parse_oncall(args)
        return oncall if isinstance(oncall, OnCall) else Invalid("/oncall", oncall)
    if name in {"legal", "regulator"}:
        if not args or args[0].lower() != "notified":
            return Invalid(f"/{name}", f"use /{name} notified [reference]")
        recorded = LegalNotified if name == "legal" else RegulatorNotified
        return recorded(rest[len(args[0]) :].strip())
    if name in {"public", "component", "impact"}:
        found = public_command(name, args, rest)
        return Invalid(*found) if isinstance(found, tuple) else found
    if name == "escalate":
        if args and args[0].lower() in TRIGGERS:
            return Escalate(rest[len(args[0]) :].strip(), args[0].lower())
        return Escalate(rest)
    # /incident …
    if args and args[0].lower() == "help":
        return Help()
    return Invalid("/incident", "the only /incident command is /incident help")


def _parse_template(text: str) -> SetStatus | None:
    fields = template_fields(text)
    if "status" not in fields:
        return None
    word = (fields["status"].split() or [""])[0].lower()
    try:
        status = Status(word)
    except ValueError:
        return None
    severity = fields.get("severity", "").split()
    sev = _severity(severity[0]) if severity else None
    return SetStatus(
        status,
        "",
        sev,
        template=True,
        fields=UpdateFields(
            impact=fields.get("impact", ""),
            eta=fields.get("eta", ""),
            next_update=fields.get("next update", ""),
            actions=fields.get("actions", ""),
        ),
    )


def _echo(text: str, limit: int = 40) -> str:
    """User text quoted back in a code span, where `@org/team` and `@login` ping nobody."""
    text = text.replace("`", "'")[:limit]
    return f"`{text}`"


def _severity(text: str) -> Severity | None:
    try:
        return Severity(text.upper())
    except ValueError:
        return None


def _states() -> str:
    return ", ".join(s.value for s in Status)


__all__ = [
    "MAX_COMPONENT_CHARS",
    "MAX_PUBLIC_CHARS",
    "MAX_TITLE_CHARS",
    "PUBLIC_COMMANDS",
    "ComponentState",
    "PublicTitle",
    "Publish",
    "SetComponent",
    "SetImpact",
    "UpdateFields",
    "impact_percent",
    "promised_time",
    "template_fields",
]
