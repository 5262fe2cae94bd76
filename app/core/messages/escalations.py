"""Escalation comments: automatic steps of the chain, the unresolved tracks, `/escalate`."""

from __future__ import annotations

from app.core import markers
from app.core.messages.formatting import cell
from app.core.messages.people import mentions, reach
from app.core.policy import Policy

TRIGGER_TITLES = {
    "technical": "technical complexity",
    "business": "business impact",
    "compliance": "compliance risk",
    "resources": "resource constraints",
}


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
        f"{mentions(holders, title)}{backup}."
    )
    lines.append("Reply `/ack` to acknowledge, or `/status …` with an update.")
    lines += ["", markers.render(markers.Escalation(tuple(steps), level=level))]
    return "\n".join(lines)


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
