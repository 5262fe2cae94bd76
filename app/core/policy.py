"""The incident policy: config models, validation with readable errors, and merging."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import cache, cached_property
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from app.core.business_calendar import WEEKDAYS, BusinessCalendar

CONFIG_PATH = ".github/incident.yml"
MAX_CONFIG_BYTES = 256 * 1024
MAX_CONFIG_NODES = 20_000
MAX_EXTENDS_DEPTH = 5
MAX_NESTING = 64  # levels of lists and mappings in one config file
MAX_SPAN = timedelta(days=365)
MAX_BUSINESS_DAYS = 260  # a working year
MAX_PATH = 200

LOGIN_RE = re.compile(r"^@?[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")
TEAM_RE = re.compile(r"^@[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")


class Severity(StrEnum):
    """Severity levels; the value is the suffix of the `sev:` label."""

    P0 = "P0"
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"

    @property
    def label(self) -> str:
        return f"sev:{self.value}"

    @property
    def rank(self) -> int:
        """0 is the most severe."""
        return int(self.value[1])


# --- durations ------------------------------------------------------------------------

_SPAN_RE = re.compile(r"^\s*(\d+)\s*(m|min|h|d|w|bd)\s*$", re.IGNORECASE | re.ASCII)
_UNITS = {"m": "minutes", "min": "minutes", "h": "hours", "d": "days", "w": "weeks"}
# The most of each unit a span may have: a year of calendar time, a working year of business days.
_MOST = {
    "minutes": MAX_SPAN // timedelta(minutes=1),
    "hours": MAX_SPAN // timedelta(hours=1),
    "days": MAX_SPAN // timedelta(days=1),
    "weeks": MAX_SPAN // timedelta(weeks=1),
    "business_days": MAX_BUSINESS_DAYS,
}
_LONGEST = (
    f"at most {_MOST['minutes']}m, {_MOST['hours']}h, {_MOST['days']}d, {_MOST['weeks']}w "
    f"or {MAX_BUSINESS_DAYS}bd"
)


@dataclass(frozen=True)
class Span:
    """A duration: calendar time, or whole business days (`bd`, ending at close of business)."""

    amount: int
    unit: str  # minutes | hours | days | weeks | business_days

    def after(self, moment: datetime, calendar: BusinessCalendar) -> datetime:
        """When this span, started at `moment`, ends."""
        if self.unit == "business_days":
            return calendar.business_days_after(moment, self.amount)
        return moment + timedelta(**{self.unit: self.amount})

    def __str__(self) -> str:
        if self.unit == "business_days":
            return "next business day" if self.amount == 1 else f"{self.amount} business days"
        unit = self.unit if self.amount != 1 else self.unit[:-1]
        return f"{self.amount} {unit}"


def _shown(value: object, limit: int = 40) -> str:
    """A value as an error message repeats it: quoted, and cut short."""
    text = str(value)
    return f"'{text[:limit]}…'" if len(text) > limit else f"'{text}'"


def _parse_span(value: Any) -> Any:
    if isinstance(value, Span) or value is None:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        amount, unit = value, "minutes"
    elif isinstance(value, str):
        text = value.strip().lower().replace(" ", "_")
        match = _SPAN_RE.match(value)
        if text in {"next_business_day", "1_business_day"}:
            amount, unit = 1, "business_days"
        elif match:
            # Many digits are surely too long; int() of thousands of them is refused anyway.
            digits = match[1]
            amount = int(digits) if len(digits) <= 9 else 10**9
            unit = "business_days" if match[2].lower() == "bd" else _UNITS[match[2].lower()]
        else:
            raise ValueError(
                f"{_shown(value)} is not a duration: use 15m, 2h, 1d, 1w, 3bd or next business day"
            )
    else:
        raise ValueError("a duration is text such as 15m, 2h, 1d, 1w or 1bd")
    if amount < 0:
        raise ValueError("a duration cannot be negative")
    if amount > _MOST[unit]:
        raise ValueError(f"{_shown(value)} is longer than a year: {_LONGEST}")
    return Span(amount, unit)


def _positive(span: Span) -> Span:
    if span.amount <= 0:
        raise ValueError("must be more than 0, e.g. 15m")
    return span


# A duration of zero or more; `PositiveDuration` for deadlines and cadences, which repeat.
Duration = Annotated[Span, BeforeValidator(_parse_span)]
PositiveDuration = Annotated[Span, BeforeValidator(_parse_span), AfterValidator(_positive)]


# --- paths and labels -----------------------------------------------------------------

_SEGMENT_RE = re.compile(r"^[A-Za-z0-9._-]+$")


def path_problem(path: str) -> str | None:
    """Why `path` is no plain relative path inside a repository, or None when it is one.

    GitHub's API takes it as part of a URL, and httpx resolves `..`: a path that could leave
    the repository (`../../victim/contents/x`) must never be sent.
    """
    if "://" in path or re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", path):
        return "not a URL"
    if "\\" in path:
        return "no backslash"
    if path.startswith("/"):
        return "no leading /"
    if len(path) > MAX_PATH:
        return f"at most {MAX_PATH} characters"
    segments = path.split("/")
    if any(s in (".", "..") for s in segments):
        return "no . or .. segment"
    if any(not s for s in segments):
        return "no empty segment (//)"
    if not all(_SEGMENT_RE.match(s) for s in segments):
        return "only letters, digits, '.', '_' and '-' between the slashes"
    return None


def _folder(value: str) -> str:
    folder = value.removesuffix("/") or value  # a trailing slash is harmless
    problem = path_problem(folder)
    if problem:
        raise ValueError(
            f"must be a relative folder in this repository such as ops/docs/incidents: {problem}"
        )
    return folder


def _label(value: str) -> str:
    label = value.strip()
    if not 0 < len(label) <= 50 or "," in label or not label.isprintable():
        raise ValueError("must be a GitHub label: 1 to 50 characters, no commas")
    return label


def _login(value: str) -> str:
    if not LOGIN_RE.match(value):
        raise ValueError(f"{_shown(value)} is not a GitHub login")
    return value.lstrip("@")


Loc = tuple[str | int, ...]  # where in the config, as pydantic names it


class _Problems(ValueError):
    """Problems a model validator found, each at its own location below the model's."""

    def __init__(self, found: list[tuple[Loc, str]]) -> None:
        super().__init__("; ".join(f"{'.'.join(map(str, loc))}: {msg}" for loc, msg in found))
        self.found = found


# --- models ---------------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


class Role(_Model):
    """A role of the roster: who holds it, as seats, logins or teams."""

    title: str = Field(description="How the role is named in comments.")
    members: list[str] = Field(
        default_factory=list,
        description="Seats (e.g. `architect.morgan-lee`, mapped to logins by `roster`), "
        "or `@login`, or `@org/team`. The first is the primary.",
    )
    backup: list[str] = Field(
        default_factory=list, description="Backups, mentioned when escalating to this role."
    )
    contact: str | None = Field(
        default=None,
        max_length=200,
        description="How to reach the role outside GitHub (mail, phone or URL); escalations "
        "to the role show it.",
    )

    @field_validator("members", "backup")
    @classmethod
    def _valid_members(cls, value: list[str]) -> list[str]:
        for member in value:
            if member.startswith("@") and not (LOGIN_RE.match(member) or TEAM_RE.match(member)):
                raise ValueError(f"'{member}' is neither @login nor @org/team")
        return value


class FollowUp(_Model):
    """The unresolved track's later steps."""

    every: PositiveDuration = Field(description="Time between steps, e.g. 2h or 1bd.")
    notify: list[str] = Field(
        default_factory=list, description="Roles each later step reaches (default: the first's)."
    )


class UnresolvedTrack(_Model):
    """What happens while an incident stays unresolved (runbook "Automatic Escalations"):
    the first step `escalate_after` the severity was set, then every `then.every`."""

    notify: list[str] = Field(description="Roles the first step reaches.")
    review: str | None = Field(
        default=None,
        max_length=100,
        description="A standing review instead of an escalation, e.g. `daily review with "
        "management` (P2) or `weekly review` (P3).",
    )
    then: FollowUp | None = Field(default=None, description="Later steps, if any.")
    only_without_update: bool = Field(
        default=False,
        description="A step comes only when no status update was posted in the interval "
        "before it (P3: weekly review if no progress).",
    )


class SeverityPolicy(_Model):
    """Targets and duties for one severity (docs/behaviour.md §4)."""

    name: str = Field(description="Human name, e.g. Critical.")
    respond_within: PositiveDuration = Field(
        description="Acknowledgement deadline after declaration (more than 0, at most a year)."
    )
    update_every: PositiveDuration = Field(
        description="Status update cadence (more than 0, at most a year)."
    )
    escalate_after: Duration | None = Field(
        default=None,
        description="When the unresolved track starts (at most a year); 0m or null: no "
        "unresolved track (P0 notifies everyone on declaration).",
    )
    unresolved: UnresolvedTrack | None = Field(
        default=None,
        description="Whom the unresolved track reaches; without it, each step climbs the "
        "escalation chain every `escalate_after`.",
    )
    assign: list[str] = Field(description="Roles whose holders are assigned on declaration.")
    notify_all: bool = Field(
        default=False, description="The brief @-mentions every role and team (P0)."
    )
    checklist: list[str] = Field(description="Tasks posted as a GitHub task list.")


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
        description="Roles whose holders may record `/legal notified`.",
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


class Policy(_Model):
    """The whole incident policy of a repository."""

    default_severity: Severity = Field(
        default=Severity.P2, description="Severity of an issue labelled only `incident`."
    )
    roster: dict[str, Annotated[str, AfterValidator(_login)] | None] = Field(
        default_factory=dict,
        description="Seat → GitHub login, e.g. `release_manager.rohan-patel: octocat`.",
    )
    roles: dict[str, Role] = Field(description="Roles by key, e.g. incident_commander.")
    escalation_chain: list[str] = Field(
        min_length=1,
        max_length=20,
        description="Roles in escalation order, from the incident commander upwards (1 to 20).",
    )
    security_role: str = Field(
        default="security", description="Role mentioned on issues labelled `security`."
    )
    severities: dict[Severity, SeverityPolicy] = Field(description="Policy per severity.")
    calendar: CalendarPolicy = Field(
        default_factory=CalendarPolicy, description="Business calendar."
    )
    pir: PirPolicy = Field(default_factory=PirPolicy, description="Post-incident review.")
    declarations: DeclarationsPolicy = Field(
        default_factory=DeclarationsPolicy,
        description="Which declarations wait for someone with authority before they page.",
    )
    triggers: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Manual escalation triggers → roles (`/escalate business|compliance|"
        "resources`); `technical`, the default, climbs the chain.",
    )
    breach: BreachPolicy = Field(default_factory=BreachPolicy, description="Data breach track.")
    drills: DrillsPolicy | None = Field(
        default=None, description="Scheduled drills; none when not configured."
    )
    recurrence_days: int = Field(
        default=30,
        ge=1,
        le=365,
        description="An incident with the same title (normalised) or a shared `component:` "
        "label as one declared this many days before is a recurrence.",
    )
    phases: PhasesPolicy = Field(
        default_factory=PhasesPolicy, description="Phase checklists and the all-clear."
    )
    alerts: AlertsPolicy = Field(
        default_factory=AlertsPolicy, description="Alerts from monitoring → incidents."
    )
    notify: list[NotifyRoute] = Field(
        default_factory=list,
        max_length=20,
        description="The operator's notifiers (Slack, PagerDuty, webhooks) this repository's "
        "incidents reach, by severity.",
    )
    slack: dict[Annotated[str, AfterValidator(_login)], Annotated[str, Field(pattern=SLACK_ID)]] = (
        Field(
            default_factory=dict,
            description="GitHub login → Slack user ID, for the people a roster seat maps to "
            "(also written `seat: {login: octocat, slack: U0123ABCD}` in `roster`).",
        )
    )

    @model_validator(mode="before")
    @classmethod
    def _roster_slack(cls, data: Any) -> Any:
        """`roster: {seat: {login: x, slack: U…}}` is `roster: {seat: x}` plus `slack: {x: U…}`."""
        if not isinstance(data, dict) or not isinstance(data.get("roster"), dict):
            return data
        roster: dict[Any, Any] = {}
        given = data.get("slack")
        slack = dict(given or {}) if given is None or isinstance(given, dict) else None
        for seat, value in data["roster"].items():
            if isinstance(value, dict) and set(value) <= {"login", "slack"}:
                roster[seat] = value.get("login")
                if value.get("slack") is not None and value.get("login") and slack is not None:
                    slack[str(value["login"]).lstrip("@")] = value["slack"]
            else:
                roster[seat] = value
        data = {**data, "roster": roster}
        if slack is not None and slack:
            data["slack"] = slack
        return data

    @model_validator(mode="after")
    def _consistent(self) -> Policy:
        found: list[tuple[Loc, str]] = []
        missing = [s.value for s in Severity if s not in self.severities]
        if missing:
            found.append((("severities",), f"{', '.join(missing)} missing"))
        for sev, sp in self.severities.items():
            found += [
                (("severities", sev.value, "assign"), f"no role named {_shown(role)}")
                for role in sp.assign
                if role not in self.roles
            ]
        found += [
            (("escalation_chain",), f"no role named {_shown(role)}")
            for role in self.escalation_chain
            if role not in self.roles
        ]
        for sev, sp in self.severities.items():
            track = sp.unresolved
            named = [*track.notify, *(track.then.notify if track.then else [])] if track else []
            found += [
                (("severities", sev.value, "unresolved"), f"no role named {_shown(role)}")
                for role in named
                if role not in self.roles
            ]
        for key, roles in self.triggers.items():
            if key not in TRIGGER_KEYS:
                found.append((("triggers", key), "use business, compliance or resources"))
            found += [
                (("triggers", key), f"no role named {_shown(role)}")
                for role in roles
                if role not in self.roles
            ]
        for name in ("notify", "recorders", "escalate_to"):
            found += [
                (("breach", name), f"no role named {_shown(role)}")
                for role in getattr(self.breach, name)
                if role not in self.roles
            ]
        if found:
            raise _Problems(found)
        return self

    # --- lookups used by the planner and messages ---

    @cached_property
    def business_calendar(self) -> BusinessCalendar:
        return self.calendar.build()

    def for_severity(self, severity: Severity) -> SeverityPolicy:
        return self.severities[severity]

    def resolve(self, member: str) -> str | None:
        """A member as it is @-mentioned (`@login`, `@org/team`), or None for an unmapped seat."""
        if member.startswith("@"):
            return member
        login = self.roster.get(member)
        return f"@{login}" if login else None

    def holders(self, role: str) -> list[str]:
        """The role's primary holders as mentions, seats without a login left out."""
        found = self.roles.get(role)
        if found is None:
            return []
        return [m for m in (self.resolve(x) for x in found.members) if m]

    def unstaffed(self) -> list[str]:
        """Roles the chain, a trigger or the breach track reaches that name nobody who can
        be notified (check-config and doctor warn about each)."""
        reached = [
            *self.escalation_chain,
            *(r for roles in self.triggers.values() for r in roles),
            *self.breach.notify,
            *self.breach.escalate_to,
            *(
                r
                for sp in self.severities.values()
                if sp.unresolved
                for r in [
                    *sp.unresolved.notify,
                    *(sp.unresolved.then.notify if sp.unresolved.then else []),
                ]
            ),
        ]
        return [
            f"{self.role_title(role)} (`{role}`): nobody to notify — map its seats in `roster:`"
            for role in dict.fromkeys(reached)
            if role in self.roles and not self.holders(role) and not self.backups(role)
        ]

    def backups(self, role: str) -> list[str]:
        """The role's backups as mentions, seats without a login left out."""
        found = self.roles.get(role)
        return [m for m in (self.resolve(x) for x in (found.backup if found else [])) if m]

    def role_title(self, role: str) -> str:
        found = self.roles.get(role)
        return found.title if found else role.replace("_", " ")

    @cached_property
    def roster_logins(self) -> frozenset[str]:
        """Every login the roster names (lower case), who may give commands."""
        logins = {v.lower() for v in self.roster.values() if v}
        for role in self.roles.values():
            logins |= {
                m[1:].lower() for m in role.members + role.backup if LOGIN_RE.match(m) and "@" in m
            }
        return frozenset(logins)


# --- loading --------------------------------------------------------------------------

TOO_DEEP = f"nested too deeply (more than {MAX_NESTING} levels)"
HIDDEN = "details are not shown here: run incident-app check-config on that file"
EXTENDS_RULE = (
    "may name only this repository or the organisation's .github repository (same owner), "
    "e.g. .github or .github:incident/base.yml"
)
_OWNER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}$")
_REPO_RE = re.compile(r"^[A-Za-z0-9._-]{1,100}$")


@dataclass(frozen=True)
class ConfigIssue:
    """One problem of a config file, with where it is.

    A `foreign` problem was found in a file outside the repository the incident is in (its
    organisation's `.github`): its location and message may repeat that file's text, which
    must not appear on the repository's issues. `str()` and `public_text()` leave it out;
    `public_problems` counts such problems per file instead.
    """

    source: str
    location: str
    message: str
    foreign: bool = False

    def public_text(self) -> str:
        """`location: message`, or for a foreign problem only that its details are withheld."""
        return HIDDEN if self.foreign else f"{self.location}: {self.message}"

    def detail(self) -> str:
        """Every detail, for the operator's own terminal or file, never for an issue."""
        return f"{self.source}: {self.location}: {self.message}"

    def __str__(self) -> str:
        return f"{self.source}: {self.public_text()}"


def public_problems(problems: Iterable[ConfigIssue]) -> tuple[ConfigIssue, ...]:
    """The problems as an issue may show them: the repository's own in full, then one row per
    other file that only counts its problems (`file`, `N problem(s); details are not shown
    here …`). Duplicates go; the rows it returns are not foreign, so it can be applied again."""
    own: list[ConfigIssue] = []
    counts: dict[str, int] = {}
    for problem in dict.fromkeys(problems):
        if problem.foreign:
            counts[problem.source] = counts.get(problem.source, 0) + 1
        else:
            own.append(problem)
    hidden = [ConfigIssue(src, "file", f"{n} problem(s); {HIDDEN}") for src, n in counts.items()]
    return (*own, *hidden)


class ConfigError(Exception):
    """A config file that cannot be used; carries every problem found."""

    def __init__(self, problems: list[ConfigIssue]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class Layer:
    """One file of an `_extends` chain: its data, the name its problems are reported under,
    and whether it lies outside the repository the incident is in."""

    source: str
    data: dict[str, Any]
    foreign: bool = False


def bundled_text() -> str:
    """The bundled default policy's YAML: config/ in a checkout, app.bundled once installed."""
    checkout = Path(__file__).resolve().parents[2] / "config" / "incident.yml"
    if checkout.is_file():
        return checkout.read_text(encoding="utf-8")
    return (files("app.bundled") / "incident.yml").read_text(encoding="utf-8")


class _TooDeep(Exception):
    pass


class _TooMany(Exception):
    pass


class _Aliased(Exception):
    pass


class _Loader(yaml.SafeLoader):
    """The safe loader, refusing lists and mappings nested more than MAX_NESTING levels below
    the top one, and more than MAX_CONFIG_NODES values, while it composes them."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._nodes = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        self._nodes += 1
        if self._nodes > MAX_CONFIG_NODES:
            raise _TooMany
        return super().compose_node(parent, index)

    def _deeper(self) -> None:
        self._depth += 1
        if self._depth > MAX_NESTING + 1:
            raise _TooDeep

    def compose_sequence_node(self, anchor: Any) -> yaml.SequenceNode:
        self._deeper()
        try:
            return super().compose_sequence_node(anchor)
        finally:
            self._depth -= 1

    def compose_mapping_node(self, anchor: Any) -> yaml.MappingNode:
        self._deeper()
        try:
            return super().compose_mapping_node(anchor)
        finally:
            self._depth -= 1


# Brackets, and what hides them: quoted text (opened where a value may start) and comments.
_FLOW_TOKENS = re.compile(
    r"""(?<![^\s\[{,:])'(?:[^']|'')*'?"""
    r"""|(?<![^\s\[{,:])"(?:[^"\\]|\\[\s\S])*"?"""
    r"""|(?<!\S)\#[^\n]*"""
    r"""|[\[\]{}]"""
)


def _flow_too_deep(text: str) -> bool:
    """Whether `[` and `{` nest deeper than MAX_NESTING: a cheap look before parsing, since the
    parser's cost grows with every flow collection it has not closed yet (130,000 took 1.5 s).
    Nesting this misses (block nesting, odd quoting) the loader refuses as it composes."""
    depth = 0
    for match in _FLOW_TOKENS.finditer(text):
        token = match[0]
        if token == "[" or token == "{":
            depth += 1
            if depth > MAX_NESTING:
                return True
        elif token == "]" or token == "}":
            depth = max(depth - 1, 0)
    return False


def parse_yaml(text: str, *, source: str) -> dict[str, Any]:
    """Parse a config document safely: bounded size, nesting and expanded node count, valid
    Unicode, a mapping at the top."""

    def refuse(message: str, where: str = "file") -> ConfigError:
        return ConfigError([ConfigIssue(source, where, message)])

    if len(text.encode("utf-8", "replace")) > MAX_CONFIG_BYTES:
        raise refuse(f"larger than {MAX_CONFIG_BYTES} bytes")
    if _flow_too_deep(text):
        raise refuse(TOO_DEEP)
    try:
        data = _load(text)
    except _Aliased:
        raise refuse("too many values once aliases are expanded") from None
    except (_TooDeep, RecursionError):
        raise refuse(TOO_DEEP) from None
    except _TooMany:
        raise refuse(f"more than {MAX_CONFIG_NODES} values") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "file"
        raise refuse(str(exc.problem or exc), where) from None
    except yaml.YAMLError as exc:
        raise refuse(str(exc)) from None
    except (ValueError, OverflowError) as exc:  # e.g. a date such as 2026-02-30
        raise refuse(f"a value cannot be read: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise refuse("the top level must be a mapping")
    try:  # a "\uD800" escape makes a lone surrogate, which no later step could encode
        json.dumps(data, ensure_ascii=False, default=str, skipkeys=True).encode("utf-8")
    except UnicodeError:
        raise refuse("text that is not valid Unicode") from None
    return data


def _load(text: str) -> Any:
    loader = _Loader(text)  # a character YAML does not allow is refused here already
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if _expanded_size(node, {}) > MAX_CONFIG_NODES:
            raise _Aliased
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _expanded_size(node: yaml.Node, memo: dict[int, int]) -> int:
    key = id(node)
    if key in memo:
        return memo[key]
    memo[key] = MAX_CONFIG_NODES + 1  # a cycle counts as too large
    size = 1
    if isinstance(node, yaml.SequenceNode):
        size += sum(_expanded_size(child, memo) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        size += sum(_expanded_size(k, memo) + _expanded_size(v, memo) for k, v in node.value)
    memo[key] = size
    return size


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Merge mappings recursively; everything else in `override` replaces `base`."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


class _Invalid(Exception):
    def __init__(self, found: list[tuple[Loc, str]]) -> None:
        super().__init__(found)
        self.found = found


def _model(data: dict[str, Any]) -> Policy:
    """`Policy.model_validate`, raising every problem as (location, message)."""
    try:
        return Policy.model_validate(data)
    except UnicodeError:
        raise _Invalid([((), "text that is not valid Unicode")]) from None
    except ValidationError as exc:
        found: list[tuple[Loc, str]] = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            inner = (err.get("ctx") or {}).get("error")
            if isinstance(inner, _Problems):
                found += [(loc + sub, message) for sub, message in inner.found]
                continue
            message = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                message = "unknown key"
            found.append((loc, message))
        raise _Invalid(found) from None


def _where(loc: Loc) -> str:
    return ".".join(str(part) for part in loc) or "file"


def validate(data: dict[str, Any], *, source: str) -> Policy:
    """Build a Policy from merged data, or raise ConfigError listing every problem."""
    try:
        return _model(data)
    except _Invalid as exc:
        raise ConfigError([ConfigIssue(source, _where(loc), m) for loc, m in exc.found]) from None


def _givers(loc: Loc, layers: Sequence[Layer], merged: dict[str, Any]) -> list[Layer]:
    """The layers whose data makes up the merged value at `loc`, the top one first."""
    # Only mappings merge; the first list or scalar on the way is one layer's, whole.
    path: list[str | int] = []
    node: Any = merged
    for key in loc:
        if not isinstance(node, dict) or key not in node:
            break
        path.append(key)
        node = node[key]
    givers: list[Layer] = []
    for layer in reversed(layers):
        value: Any = layer.data
        state = "has"
        for key in path:
            if not isinstance(value, dict):
                state = "replaced"  # a scalar above `loc`, replaced by a mapping from above
                break
            if key not in value:
                state = "absent"
                break
            value = value[key]
        if state == "absent":
            continue
        if state == "replaced" or (givers and not isinstance(value, dict)):
            break
        givers.append(layer)
        if not isinstance(value, dict):
            break
    return givers


def _attributed(
    loc: Loc, message: str, layers: Sequence[Layer], merged: dict[str, Any]
) -> ConfigIssue:
    """A problem of the merged data, reported under the file its location's value comes from;
    foreign when any file outside the repository gave part of that value."""
    givers = _givers(loc, layers, merged)
    foreign = [layer for layer in givers if layer.foreign]
    shown = foreign[0] if foreign else givers[0] if givers else layers[-1] if layers else None
    source = shown.source if shown else "bundled config"
    return ConfigIssue(source, _where(loc), message, foreign=bool(foreign))


@cache
def bundled_data() -> dict[str, Any]:
    """The bundled default, parsed once per process (callers merge over it, never mutate it)."""
    return parse_yaml(bundled_text(), source="bundled config")


@cache
def bundled_policy() -> Policy:
    """The bundled default policy (the runbook's numbers); policies are frozen models."""
    return validate(bundled_data(), source="bundled config")


def policy_from_layers(layers: Sequence[Layer]) -> Policy:
    """Merge config layers, base first, over the bundled default, and validate; each problem
    names the layer its location's value comes from."""
    data = bundled_data()
    for layer in layers:
        data = deep_merge(data, {k: v for k, v in layer.data.items() if k != "_extends"})
    try:
        return _model(data)
    except _Invalid as exc:
        problems = [_attributed(loc, m, layers, data) for loc, m in exc.found]
        raise ConfigError(problems) from None


def check_text(text: str, *, source: str, repo: str | None = None) -> Policy:
    """Validate one config file on its own over the bundled default (`_extends` is checked, not
    followed; with `repo`, "owner/name", also whether it names a repository it may)."""
    data = parse_yaml(text, source=source)
    problems: list[ConfigIssue] = []
    if "_extends" in data:
        owner, _, name = (repo or "").partition("/")
        try:
            parse_extends(data["_extends"], owner=owner or None, repo=name or None, source=source)
        except ConfigError as exc:
            problems += exc.problems
    try:
        policy = policy_from_layers([Layer(source, data)])
    except ConfigError as exc:
        problems += exc.problems
    if problems:
        raise ConfigError(problems)
    return policy


def parse_extends(
    value: Any, *, owner: str | None, repo: str | None, source: str
) -> tuple[str, str, str]:
    """`_extends` → (owner, repository, path) of the base file, for the repository `owner/repo`.

    The forms are `.github`, `repo`, `owner/repo`, each with an optional `:path`. Config is data
    about one repository, so only that repository and its organisation's `.github` may be
    named (Probot apps restrict `_extends` alike), by a plain relative path. Messages name the
    rule, never the value: it may come from the organisation's file.
    """

    def refuse(rule: str) -> ConfigError:
        return ConfigError([ConfigIssue(source, "_extends", rule)])

    if not isinstance(value, str) or not value.strip():
        raise refuse("must be text such as .github or .github:path/in/it.yml")
    target, _, path = value.strip().partition(":")
    if path.startswith("//"):
        raise refuse("must be [owner/]repository[:path], not a URL")
    ext_owner, slash, name = target.rpartition("/")
    if (
        not _REPO_RE.match(name)
        or name in (".", "..")
        or (slash and not _OWNER_RE.match(ext_owner))
    ):
        raise refuse("must be [owner/]repository[:path], e.g. .github or .github:incident/base.yml")
    other_owner = bool(ext_owner) and owner is not None and ext_owner.lower() != owner.lower()
    other_repo = repo is not None and name.lower() not in (".github", repo.lower())
    if other_owner or other_repo:
        raise refuse(EXTENDS_RULE)
    problem = path_problem(path) if path else None
    if problem:
        raise refuse(f"the path must be relative inside the repository: {problem}")
    return ext_owner or owner or "", name, path or CONFIG_PATH
