"""The public commands (issue 24): `/public`, `/public resolved`, `/public title`,
`/component`, `/impact`, and the PUBLIC UPDATE template. app/core/commands.py reads them
among the others and re-exports these names."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

MAX_PUBLIC_CHARS = 2000
MAX_TITLE_CHARS = 120
MAX_COMPONENT_CHARS = 60
_PUBLIC_TEMPLATE_RE = re.compile(r"^\s*[#*_\s]*PUBLIC UPDATE[*_\s:]*$", re.I)
_PERCENT_RE = re.compile(r"(?<![\d.])(\d{1,3}(?:\.\d+)?)\s*%")
# The status update template's heading: where a PUBLIC UPDATE section ends at the latest.
_INTERNAL_TEMPLATE_RE = re.compile(r"INCIDENT UPDATE", re.I)
# What GitHub does not show: an HTML comment, and one left open at the start of a line (an
# HTML block: hidden to the end); an open one inside a line is shown as typed (CommonMark).
# Characters that are no text: controls (XML refuses them: the feed would break), lone
# surrogates.
_HIDDEN_RE = re.compile(r"<!--.*?-->|^ {0,3}<!--.*\Z", re.S | re.M)
_NO_TEXT_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


class ComponentState(StrEnum):
    """What `/component <name> <state>` sets; the value is the word typed."""

    OPERATIONAL = "operational"
    DEGRADED = "degraded"
    PARTIAL_OUTAGE = "partial-outage"
    MAJOR_OUTAGE = "major-outage"

    @property
    def statuspage(self) -> str:
        """Atlassian Statuspage's component status for this state."""
        return _STATUSPAGE_COMPONENT[self]

    @property
    def rank(self) -> int:
        return list(ComponentState).index(self)

    @property
    def label(self) -> str:
        return _COMPONENT_LABEL[self]


_STATUSPAGE_COMPONENT = {
    ComponentState.OPERATIONAL: "operational",
    ComponentState.DEGRADED: "degraded_performance",
    ComponentState.PARTIAL_OUTAGE: "partial_outage",
    ComponentState.MAJOR_OUTAGE: "major_outage",
}
_COMPONENT_LABEL = {
    ComponentState.OPERATIONAL: "Operational",
    ComponentState.DEGRADED: "Degraded performance",
    ComponentState.PARTIAL_OUTAGE: "Partial outage",
    ComponentState.MAJOR_OUTAGE: "Major outage",
}


@dataclass(frozen=True)
class Publish:
    """`/public <text>` (or a comment in the PUBLIC UPDATE template): a customer-facing
    update; `final` for `/public resolved <text>`."""

    text: str
    final: bool = False
    template: bool = False


@dataclass(frozen=True)
class PublicTitle:
    """`/public title <text>`: the incident's title on the public status site."""

    text: str


@dataclass(frozen=True)
class SetComponent:
    """`/component <name> <state>`: what customers see of one component."""

    name: str
    state: ComponentState


@dataclass(frozen=True)
class SetImpact:
    """`/impact <percent>`: the share of users affected, 0 to 100."""

    percent: float


PUBLIC_COMMANDS = (Publish, PublicTitle, SetComponent, SetImpact)
PublicCommand = Publish | PublicTitle | SetComponent | SetImpact
Problem = tuple[str, str]  # (the command, what is valid): an Invalid for app/core/commands


def public_template(
    lines: list[str], is_command: Callable[[str], bool]
) -> Publish | Problem | None:
    """A comment whose heading line is `PUBLIC UPDATE`: the lines after it are the update
    (command lines among them are not part of it)."""
    for index, line in enumerate(lines):
        if _PUBLIC_TEMPLATE_RE.match(line):
            rest: list[str] = []
            for following in lines[index + 1 :]:
                if _INTERNAL_TEMPLATE_RE.search(following):
                    break  # the internal update that follows is not for customers
                if not is_command(following):
                    rest.append(following)
            text = public_text("\n".join(rest))
            if len(text) > MAX_PUBLIC_CHARS:
                return ("PUBLIC UPDATE", _too_long(text, MAX_PUBLIC_CHARS))
            return Publish(text, template=True) if text else None
    return None


def _too_long(text: str, limit: int) -> str:
    return (
        f"at most {limit} characters (this one has {len(text)}): customers read an update "
        "whole or not at all, so shorten it"
    )


def shown(text: str) -> str:
    """The text as GitHub shows it: without its HTML comments."""
    return _HIDDEN_RE.sub("", text)


def public_text(text: str) -> str:
    """What customers may read of a text typed on GitHub: what GitHub shows of it (no HTML
    comment) and no control characters."""
    clean = _NO_TEXT_RE.sub("", shown(text))
    return "\n".join(line.rstrip() for line in clean.splitlines()).strip()


def impact_percent(text: str) -> float | None:
    """The share of users a status update's `Impact:` states (`about 15% of users`), or None."""
    match = _PERCENT_RE.search(text)
    if match is None:
        return None
    value = float(match[1])
    return value if 0 <= value <= 100 else None


_COMPONENT_HELP = "use /component <name> " + "|".join(s.value for s in ComponentState)


def public_command(name: str, args: list[str], rest: str) -> PublicCommand | Problem:
    """`/public [resolved|title] <text>`, `/component <name> <state>`, `/impact <percent>`;
    or (the command, what is valid) when it cannot be read."""
    if name == "impact":
        value = _number(args[0].rstrip("%")) if len(args) == 1 else None
        if value is None or not 0 <= value <= 100:
            return ("/impact", "use /impact <percent of users affected>, e.g. /impact 15")
        return SetImpact(value)
    if name == "component":
        if len(args) < 2:
            return ("/component", _COMPONENT_HELP)
        try:
            state = ComponentState(args[-1].lower())
        except ValueError:
            return ("/component", f"{_echo(args[-1])} is no state; {_COMPONENT_HELP}")
        component = public_text(" ".join(args[:-1])).strip("`\"'")
        if not component or len(component) > MAX_COMPONENT_CHARS:
            return ("/component", _COMPONENT_HELP)
        return SetComponent(component, state)
    first = args[0].lower() if args else ""
    if first == "title":
        text = public_text(rest[len(args[0]) :])
        if not text:
            return ("/public", "use /public title <what customers read as its title>")
        if len(text) > MAX_TITLE_CHARS:
            return ("/public", f"a title has {_too_long(text, MAX_TITLE_CHARS)}")
        return PublicTitle(text)
    final = first == "resolved"
    text = public_text(rest[len(args[0]) :] if final else rest)
    if not text:
        return ("/public", "use /public <what customers should read>")
    if len(text) > MAX_PUBLIC_CHARS:
        return ("/public", _too_long(text, MAX_PUBLIC_CHARS))
    return Publish(text, final=final)


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _echo(text: str, limit: int = 40) -> str:
    """User text quoted back in a code span (as app/core/commands quotes it)."""
    return "`" + text.replace("`", "'")[:limit] + "`"
