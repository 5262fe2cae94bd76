"""The policy's sections beside roles and severities, each a strict frozen model: calendar,
review, breach, phases, drills, notifiers, alerts and declarations."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from app.core.business_calendar import WEEKDAYS, BusinessCalendar
from app.core.policy.durations import MAX_BUSINESS_DAYS, PositiveDuration, Span
from app.core.policy.fields import _folder, _label, _Problems, _shown
from app.core.policy.severity import Severity


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


class CalendarPolicy(_Model):
    """The business calendar used for business-day durations."""

    timezone: str = Field(default="UTC", description="IANA timezone, e.g. Europe/Berlin.")
    working_days: list[str] = Field(
        default_factory=lambda: ["mon", "tue", "wed", "thu", "fri"],
        description="Working weekdays: mon … sun; at least one.",
    )
    working_hours: str = Field(
        default="09:00-17:00", description="HH:MM-HH:MM, local time; the day starts before it ends."
    )
    holidays_country: str | None = Field(
        default=None, description="ISO country code for public holidays (python-holidays)."
    )
    holidays_subdivision: str | None = Field(
        default=None,
        description="State or province code within the country, e.g. CA for US (needs the "
        "country).",
    )
    extra_holidays: list[date] = Field(
        default_factory=list,
        max_length=366,
        description="Further non-working dates, 1970 to 2200; at most 366.",
    )

    @field_validator("timezone")
    @classmethod
    def _valid_tz(cls, value: str) -> str:
        from zoneinfo import ZoneInfo

        try:
            ZoneInfo(value)
        except Exception:
            raise ValueError(f"unknown timezone {_shown(value)}") from None
        return value

    @field_validator("working_days")
    @classmethod
    def _valid_days(cls, value: list[str]) -> list[str]:
        days = [d.lower()[:3] for d in value]
        bad = [d for d in value if d.lower()[:3] not in WEEKDAYS]
        if bad:
            raise ValueError(f"unknown weekday {bad[0]!r}; use mon, tue, wed, thu, fri, sat, sun")
        if not days:
            raise ValueError("name at least one working day, e.g. [mon, tue, wed, thu, fri]")
        return days

    @field_validator("working_hours")
    @classmethod
    def _valid_hours(cls, value: str) -> str:
        match = re.match(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$", value, re.ASCII)
        hours = [int(match[1]), int(match[3])] if match else []
        minutes = [int(match[2]), int(match[4])] if match else []
        if not match or max(hours) > 23 or max(minutes) > 59:
            raise ValueError(
                f"{_shown(value)} is not HH:MM-HH:MM (hours 00-23, minutes 00-59), e.g. 09:00-17:00"
            )
        start, end = (time(h, m) for h, m in zip(hours, minutes, strict=True))
        if start >= end:
            raise ValueError(f"{_shown(value)}: the working day must start before it ends")
        return f"{start:%H:%M}-{end:%H:%M}"

    @field_validator("holidays_country")
    @classmethod
    def _valid_country(cls, value: str | None) -> str | None:
        if value is None:
            return None
        import holidays

        if value.upper() not in holidays.list_supported_countries():
            raise ValueError(f"holidays has no calendar for country {_shown(value)}")
        return value.upper()

    @field_validator("extra_holidays")
    @classmethod
    def _valid_holidays(cls, value: list[date]) -> list[date]:
        for day in value:
            if not 1970 <= day.year <= 2200:
                raise ValueError(f"{day.isoformat()} is not between 1970 and 2200")
        return value

    @model_validator(mode="after")
    def _valid_subdivision(self) -> CalendarPolicy:
        if self.holidays_subdivision is None:
            return self
        if self.holidays_country is None:
            raise _Problems([(("holidays_subdivision",), "needs holidays_country")])
        import holidays

        try:
            holidays.country_holidays(self.holidays_country, subdiv=self.holidays_subdivision)
        except (NotImplementedError, ValueError, KeyError, TypeError):
            raise _Problems(
                [
                    (
                        ("holidays_subdivision",),
                        f"holidays has no subdivision {_shown(self.holidays_subdivision)} "
                        "for the country in holidays_country",
                    )
                ]
            ) from None
        return self

    def build(self) -> BusinessCalendar:
        start, end = (time.fromisoformat(t) for t in self.working_hours.split("-"))
        return BusinessCalendar(
            timezone=self.timezone,
            working_days=tuple(self.working_days),
            day_start=start,
            day_end=end,
            holidays_country=self.holidays_country,
            holidays_subdivision=self.holidays_subdivision,
            extra_holidays=tuple(self.extra_holidays),
        )


class PirPolicy(_Model):
    """The post-incident review (docs/behaviour.md §5)."""

    due_business_days: int = Field(
        default=3,
        ge=0,
        le=MAX_BUSINESS_DAYS,
        description="PIR due this many business days after resolution.",
    )
    path: Annotated[str, AfterValidator(_folder)] = Field(
        default="ops/docs/incidents",
        description="Folder of PIR documents in this repository: relative, letters, digits, "
        "'.', '_' and '-' between the slashes, no `..`.",
    )
    label: Annotated[str, AfterValidator(_label)] = Field(
        default="pir", description="Label of PIR issues: 1 to 50 characters, no commas."
    )
    private_repository: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$",
        description="owner/name of a private repository (with the app installed) that holds "
        "the reviews of security incidents and breaches of public repositories.",
    )
    max_rounds: int = Field(
        default=3,
        ge=1,
        le=20,
        description="Review rounds one incident may start (a close-reopen loop cannot open more).",
    )
    max_action_items: int = Field(
        default=20,
        ge=0,
        le=100,
        description="Action items filed as issues from one merged review; the rest are listed "
        "in the review's comment as not filed.",
    )


class BreachPolicy(_Model):
    """A confirmed data breach (runbook "Data Breach Response")."""

    notify: list[str] = Field(
        default_factory=lambda: ["legal", "security"],
        description="Roles @-mentioned at once when a breach is confirmed.",
    )
    legal_within: PositiveDuration = Field(
        default=Span(1, "hours"),
        description="Legal must be notified this long after the breach label (runbook: "
        "within 1 hour of confirmed breach).",
    )
    recorders: list[str] = Field(
        default_factory=lambda: ["legal", "incident_commander", "security"],
        description="Roles whose holders may record `/legal notified` and `/regulator notified`.",
    )
    escalate_to: list[str] = Field(
        default_factory=lambda: ["incident_commander", "senior_management", "legal"],
        description="Roles reached once when legal was not notified in time.",
    )
    regulator_within: PositiveDuration | None = Field(
        default=None,
        description="A regulator's deadline after the breach label, e.g. 72h: a reminder a "
        "quarter before it, an escalation at it.",
    )


class PhasesPolicy(_Model):
    """Checklists posted the first time an incident enters a phase, and the all-clear."""

    mitigating: list[str] = Field(
        default_factory=list, description="Fix implementation checklist (status mitigating)."
    )
    monitoring: list[str] = Field(
        default_factory=list, description="Service recovery checklist (status monitoring)."
    )
    enhanced_monitoring: PositiveDuration = Field(
        default=Span(24, "hours"),
        description="After resolution, enhanced monitoring for this long (24h–48h); a reopen "
        "inside it is a recurrence.",
    )

    @field_validator("enhanced_monitoring")
    @classmethod
    def _runbook_window(cls, value: Span) -> Span:
        if value.unit in ("business_days", "weeks") or value.after(
            datetime(2000, 1, 1, tzinfo=UTC), BusinessCalendar()
        ) > datetime(2000, 1, 3, tzinfo=UTC):
            raise ValueError("at most 48h (runbook: continue enhanced monitoring for 24-48 hours)")
        return value


class DrillsPolicy(_Model):
    """Scheduled drills (runbook "Dry-Run Exercises: monthly for P0 scenarios, quarterly for
    P1/P2"): the tick opens one drill incident per severity and period."""

    P0: Literal["monthly", "quarterly"] | None = Field(default=None, description="P0 drills.")
    P1: Literal["monthly", "quarterly"] | None = Field(default=None, description="P1 drills.")
    P2: Literal["monthly", "quarterly"] | None = Field(default=None, description="P2 drills.")
    P3: Literal["monthly", "quarterly"] | None = Field(default=None, description="P3 drills.")
    repository: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$",
        description="owner/name to open drills in (default: every repository with this config).",
    )
    scenarios: list[Annotated[str, Field(max_length=500)]] = Field(
        default_factory=list, max_length=50, description="Scenario texts, used in turn."
    )


SLACK_ID = r"^[UW][A-Z0-9]{2,20}$"
TRIGGER_KEYS = ("business", "compliance", "resources")

NOTIFIER_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


class NotifyRoute(_Model):
    """Where the operator's notifier `to` is used: for these severities (all when empty)."""

    to: str = Field(
        pattern=NOTIFIER_NAME,
        description="A notifier's name from the operator's NOTIFIERS_FILE (never a URL or a "
        "token: destinations and secrets belong to the operator).",
    )
    severities: list[Severity] = Field(
        default_factory=list, description="Severities sent to it; every severity when empty."
    )
    public: bool = Field(
        default=False,
        description="A route for customers: only public updates (`/public`, the resolution "
        "told to customers) go to it, and nothing internal ever does. The operator's "
        "`statuspage` and `email` notifiers take only these.",
    )


class AlertsPolicy(_Model):
    """Alerts from monitoring open incidents (POST /alerts/…/{owner}/{repo})."""

    enabled: bool = Field(
        default=False,
        description="Accept alerts for this repository: without `enabled: true` (here or in "
        "the organisation's .github) POST /alerts/…/{owner}/{repo} is refused with 403.",
    )
    max_new_per_hour: int = Field(
        default=10,
        ge=1,
        le=1000,
        description="At most this many new alert incidents in this repository per hour "
        "(1 to 1000); past it a firing group is told on the newest open alert incident.",
    )
    severity_label: str = Field(
        default="severity",
        max_length=100,
        description="The alert label whose value picks the severity.",
    )
    map: dict[Annotated[str, Field(max_length=100)], Severity] = Field(
        default_factory=lambda: {
            "critical": Severity.P0,
            "high": Severity.P1,
            "error": Severity.P1,
            "warning": Severity.P2,
            "info": Severity.P3,
        },
        description="Label value (case-insensitive) → severity.",
    )
    default: Severity = Field(
        default=Severity.P2, description="Severity when the label is missing or unmapped."
    )
    auto_resolve: bool = Field(
        default=False,
        description="Resolve the incident when every alert of its group has resolved.",
    )

    @field_validator("map")
    @classmethod
    def _lower(cls, value: dict[str, Severity]) -> dict[str, Severity]:
        return {k.lower(): v for k, v in value.items()}

    def severity(self, labels: Mapping[str, str]) -> Severity:
        """The severity an alert's labels ask for; the default when none matches."""
        value = str(labels.get(self.severity_label, "")).strip().lower()
        return self.map.get(value, self.default)


class Confirm(StrEnum):
    """Which declarations need someone with authority before they page (behaviour §8)."""

    PUBLIC = "public"  # on public repositories, where anyone can open a labelled issue
    ALWAYS = "always"  # everywhere (outside collaborators can open issues in private ones)
    NEVER = "never"  # every declaration pages at once


class DeclarationsPolicy(_Model):
    """Declarations by people without authority (docs/behaviour.md §8)."""

    confirm: Confirm = Field(
        default=Confirm.PUBLIC,
        description="Where a declaration by someone without write access or a roster seat "
        "pages no notifier and mentions only the incident commander until someone with "
        "authority confirms it: `public` (public repositories), `always`, or `never`.",
    )
