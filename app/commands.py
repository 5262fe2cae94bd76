"""Reading commands out of comment bodies: `/ack`, `/status`, `/sev`, the update template."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from app.policy import Severity

MAX_SCANNED_CHARS = 20_000


class Status(StrEnum):
    """Incident states; the value is the suffix of the `status:` label (SPEC §3)."""

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


@dataclass(frozen=True)
class Help:
    pass


@dataclass(frozen=True)
class Invalid:
    """A command we recognised but could not read; `problem` says what is valid."""

    command: str
    problem: str


Command = Ack | SetStatus | SetSeverity | AssignRole | Escalate | Help | Invalid

_LINE_RE = re.compile(r"^\s*/(ack|status|sev|severity|assign|escalate|incident)\b(.*)$", re.I)
_TEMPLATE_RE = re.compile(r"INCIDENT UPDATE", re.I)
_FIELD_RE = re.compile(r"^\s*[*_]*(severity|status)[*_]*\s*:\s*[*_]*\s*([A-Za-z0-9]+)", re.I | re.M)
_LOGIN_RE = re.compile(r"^@?([A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))$")
_QUOTE_OR_FENCE = re.compile(r"^\s*(>|```|~~~)")


def _visible_lines(body: str) -> list[str]:
    """Lines outside quotes and code fences: quoted commands are not commands."""
    lines: list[str] = []
    fenced = False
    for line in body[:MAX_SCANNED_CHARS].splitlines():
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
            return Invalid("/assign", "use /assign <role> @login; roles: ic, tl, comms")
        role = ROLE_ALIASES.get(args[0].lower().replace("-", "_"))
        login = _LOGIN_RE.match(args[1])
        if role is None:
            return Invalid(
                "/assign",
                f"{_echo(args[0])} is no role; use incident_commander (ic), technical_lead (tl) "
                "or communication_lead (comms)",
            )
        if login is None:
            return Invalid("/assign", f"{_echo(args[1])} is not a GitHub login")
        return AssignRole(role, login[1])
    if name == "escalate":
        return Escalate(rest)
    # /incident …
    if args and args[0].lower() == "help":
        return Help()
    return Invalid("/incident", "the only /incident command is /incident help")


def _parse_template(text: str) -> SetStatus | None:
    fields = {m[1].lower(): m[2] for m in _FIELD_RE.finditer(text)}
    if "status" not in fields:
        return None
    try:
        status = Status(fields["status"].lower())
    except ValueError:
        return None
    sev = _severity(fields["severity"]) if "severity" in fields else None
    return SetStatus(status, "", sev, template=True)


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
