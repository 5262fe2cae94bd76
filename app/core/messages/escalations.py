"""Escalation comments: automatic steps of the chain, the unresolved tracks, `/escalate`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.core import markers
from app.core.messages.formatting import cell
from app.core.messages.people import called_in, reach
from app.core.policy import Policy

if TYPE_CHECKING:
    from app.core.runbook.reach import Reach

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
    target: Reach,
    backups: list[str],
    steps: list[str],
    level: int,
    reached: int,
) -> str:
    """An automatic escalation: which deadlines passed, and who is now called in (`level`:
    the chain's level called, `reached`: the level whose people were, which the marker
    records; `backups`: shown beside the role's holders)."""
    title = policy.role_title(target.role)
    lines = ["⏫ **Escalation** — " + "; ".join(missed) + "."]
    own = not target.handed_on and not target.backup  # the role's holders: backups beside
    extra = [b for b in backups if b not in target.people] if own else []
    backup = f" (backup: {' '.join(extra)})" if extra else ""
    lines.append(
        f"Escalating to **{title}** (level {level + 1} of the chain): "
        f"{called_in(policy, target)}{backup}."
    )
    lines.append("Reply `/ack` to acknowledge, or `/status …` with an update.")
    lines += ["", markers.render(markers.Escalation(tuple(steps), level=reached))]
    return "\n".join(lines)


def unresolved(
    *,
    policy: Policy,
    missed: list[str],
    review: str | None,
    targets: list[Reach],
    steps: list[str],
    level: int,
) -> str:
    """The unresolved track: an escalation to named roles, or a standing review."""
    who = "; ".join(reach(policy, target) for target in targets)
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
    reached: int,
    targets: list[Reach],
    climbed: bool,
    comment_id: int,
) -> str:
    """`/escalate [trigger] [reason]`: who is called in, and why (`level`: the chain's level
    called, `reached`: the level whose people were, which the marker records)."""
    who = "; ".join(reach(policy, target) for target in targets)
    where = f" (level {level + 1} of the chain)" if climbed else ""
    because = f": {cell(reason)}" if reason else ""
    return (
        f"⏫ Escalated by @{by} for **{TRIGGER_TITLES.get(trigger, trigger)}**{because}.\n"
        f"Calling in {who}{where}: please join.\n\n"
        + markers.render(
            markers.Escalation((f"manual-{comment_id}",), level=reached, comment=comment_id)
        )
    )
