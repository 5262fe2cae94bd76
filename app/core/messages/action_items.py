"""Action items: the issue filed for one, its overdue reminder, the incident's list of them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from app.core import followup, markers
from app.core.messages.formatting import cell, when
from app.core.policy import Policy


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
