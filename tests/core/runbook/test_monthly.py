"""The monthly review's decision (app/core/runbook/monthly.py), pure: runbook "Monthly: review
recent incidents" — which month is due, and the issue that opens it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.core import markers
from app.core.labels import MONTHLY_REVIEW
from app.core.monthly import ActionItemRecord, Measured, Review
from app.core.policy import Severity
from app.core.runbook.monthly import due_period, review_issue
from tests.factories import POLICY

# 2026-12-01 is a Tuesday, the first business day of December in New York.
FIRST_BUSINESS_DAY = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)


def november(**kwargs: object) -> Review:
    return Review("2026-11", **kwargs)  # type: ignore[arg-type]


def measured() -> Measured:
    at = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
    return Measured(
        1, "Outage", "", Severity.P1, at, at, at + timedelta(hours=1), timedelta(hours=1), None
    )


def test_the_month_before_is_due_from_the_first_business_day_on() -> None:
    period = due_period(POLICY, FIRST_BUSINESS_DAY)
    assert period is not None and period.month == "2026-11"
    assert period.since == datetime(2026, 11, 1, tzinfo=UTC)
    assert period.until == datetime(2026, 12, 1, tzinfo=UTC)
    # A Sunday, the first of a month, is no business day: nothing is due yet.
    assert due_period(POLICY, datetime(2026, 11, 1, 15, 0, tzinfo=UTC)) is None


def test_a_month_with_incidents_opens_one_review_issue_for_the_incident_commander() -> None:
    period = due_period(POLICY, FIRST_BUSINESS_DAY)
    assert period is not None
    opened = review_issue(POLICY, period, november(incidents=[measured()]))
    assert opened is not None
    assert opened.title == "Incident review: November 2026"
    assert opened.labels == (MONTHLY_REVIEW,) and opened.assignees == ("rohan",)
    assert markers.of(markers.MonthlyReview, opened.body) == [markers.MonthlyReview("2026-11")]


def test_a_quiet_month_opens_nothing_unless_an_action_item_is_open() -> None:
    period = due_period(POLICY, FIRST_BUSINESS_DAY)
    assert period is not None
    assert review_issue(POLICY, period, november()) is None
    item = ActionItemRecord("short", 5, "open", FIRST_BUSINESS_DAY)
    assert review_issue(POLICY, period, november(items=[item])) is not None
