"""The monthly review (runbook "Monthly: review recent incidents"): which month is due for
review, and the issue that opens it; `app.core.monthly` holds the numbers and the Markdown."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from app.core import markers
from app.core import monthly as numbers
from app.core.actions import OpenIssue
from app.core.labels import MONTHLY_REVIEW
from app.core.policy import Policy


@dataclass(frozen=True)
class Period:
    """The month under review: `since` (its first instant) until `until` (the next month's)."""

    month: str  # 2019-05
    since: datetime
    until: datetime


def due_period(policy: Policy, now: datetime) -> Period | None:
    """The month before `now`'s, from the first business day of `now`'s month on."""
    cal = policy.business_calendar
    today = now.astimezone(cal.zone).date()
    if today < cal.first_business_day(today.replace(day=1)):
        return None
    until = datetime(today.year, today.month, 1, tzinfo=UTC)
    before = until - timedelta(days=1)
    since = datetime(before.year, before.month, 1, tzinfo=UTC)
    return Period(since.strftime("%Y-%m"), since, until)


def review_issue(policy: Policy, period: Period, review: numbers.Review) -> OpenIssue | None:
    """The "Incident review" issue for the month, assigned to the incident commander; None
    when the month had no incidents and no action item is open."""
    if not review.incidents and not any(i.state == "open" for i in review.items):
        return None
    commander = [m[1:] for m in policy.holders("incident_commander") if "/" not in m]
    return OpenIssue(
        f"Incident review: {period.since:%B %Y}",
        numbers.render(review) + "\n" + markers.render(markers.MonthlyReview(period.month)),
        (MONTHLY_REVIEW,),
        tuple(commander[:1]),
        "monthly-review",
    )
