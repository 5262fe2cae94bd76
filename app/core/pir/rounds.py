"""The review's rounds and names: which resolution it covers, its branch, its document's
path, when it is due."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime

from app.core.commands import Status
from app.core.policy import Policy
from app.core.state import IncidentState


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
