"""The incident policy: config models, validation with readable errors, and merging."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from functools import cache, cached_property
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from app.calendar import WEEKDAYS, BusinessCalendar

CONFIG_PATH = ".github/incident.yml"
MAX_CONFIG_BYTES = 256 * 1024
MAX_CONFIG_NODES = 20_000
MAX_EXTENDS_DEPTH = 5

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

_SPAN_RE = re.compile(r"^\s*(\d+)\s*(m|min|h|d|w|bd)\s*$", re.IGNORECASE)
_UNITS = {"m": "minutes", "min": "minutes", "h": "hours", "d": "days", "w": "weeks"}


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


def _parse_span(value: Any) -> Any:
    if isinstance(value, Span) or value is None:
        return value
    if isinstance(value, int):
        return Span(value, "minutes")
    if not isinstance(value, str):
        raise ValueError("a duration is text such as 15m, 2h, 1d, 1w or 1bd")
    text = value.strip().lower().replace(" ", "_")
    if text in {"next_business_day", "1_business_day"}:
        return Span(1, "business_days")
    match = _SPAN_RE.match(value)
    if not match:
        raise ValueError(
            f"'{value}' is not a duration: use 15m, 2h, 1d, 1w, 3bd or next business day"
        )
    amount, unit = int(match[1]), match[2].lower()
    return Span(amount, "business_days" if unit == "bd" else _UNITS[unit])


Duration = Annotated[Span, BeforeValidator(_parse_span)]


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

    @field_validator("members", "backup")
    @classmethod
    def _valid_members(cls, value: list[str]) -> list[str]:
        for member in value:
            if member.startswith("@") and not (LOGIN_RE.match(member) or TEAM_RE.match(member)):
                raise ValueError(f"'{member}' is neither @login nor @org/team")
        return value


class SeverityPolicy(_Model):
    """Targets and duties for one severity (SPEC §4)."""

    name: str = Field(description="Human name, e.g. Critical.")
    respond_within: Duration = Field(description="Acknowledgement deadline after declaration.")
    update_every: Duration = Field(description="Status update cadence.")
    escalate_after: Duration | None = Field(
        default=None,
        description="Escalate to the next level when unresolved this long; 0m or null: at "
        "once, by notifying everyone on declaration.",
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
        description="Working weekdays: mon … sun.",
    )
    working_hours: str = Field(default="09:00-17:00", description="HH:MM-HH:MM, local time.")
    holidays_country: str | None = Field(
        default=None, description="ISO country code for public holidays (python-holidays)."
    )
    holidays_subdivision: str | None = Field(
        default=None, description="State or province code within the country."
    )
    extra_holidays: list[date] = Field(
        default_factory=list, description="Further non-working dates."
    )

    @field_validator("timezone")
    @classmethod
    def _valid_tz(cls, value: str) -> str:
        from zoneinfo import ZoneInfo

        try:
            ZoneInfo(value)
        except Exception:
            raise ValueError(f"unknown timezone '{value}'") from None
        return value

    @field_validator("working_days")
    @classmethod
    def _valid_days(cls, value: list[str]) -> list[str]:
        days = [d.lower()[:3] for d in value]
        bad = [d for d in value if d.lower()[:3] not in WEEKDAYS]
        if bad:
            raise ValueError(f"unknown weekday {bad[0]!r}; use mon, tue, wed, thu, fri, sat, sun")
        return days

    @field_validator("working_hours")
    @classmethod
    def _valid_hours(cls, value: str) -> str:
        if not re.match(r"^\d{1,2}:\d{2}-\d{1,2}:\d{2}$", value):
            raise ValueError("working hours look like 09:00-17:00")
        return value

    @field_validator("holidays_country")
    @classmethod
    def _valid_country(cls, value: str | None) -> str | None:
        if value is None:
            return None
        import holidays

        if value.upper() not in holidays.list_supported_countries():
            raise ValueError(f"holidays has no calendar for country '{value}'")
        return value.upper()

    def build(self) -> BusinessCalendar:
        start, end = (time.fromisoformat(t.zfill(5)) for t in self.working_hours.split("-"))
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
    """The post-incident review (SPEC §5)."""

    due_business_days: int = Field(default=3, ge=0, description="PIR due after resolution.")
    path: str = Field(default="ops/docs/incidents", description="Folder of PIR documents.")
    label: str = Field(default="pir", description="Label of PIR issues.")


class Policy(_Model):
    """The whole incident policy of a repository."""

    default_severity: Severity = Field(
        default=Severity.P2, description="Severity of an issue labelled only `incident`."
    )
    roster: dict[str, str | None] = Field(
        default_factory=dict,
        description="Seat → GitHub login, e.g. `release_manager.rohan-patel: octocat`.",
    )
    roles: dict[str, Role] = Field(description="Roles by key, e.g. incident_commander.")
    escalation_chain: list[str] = Field(
        description="Roles in escalation order, from the incident commander upwards."
    )
    security_role: str = Field(
        default="security", description="Role mentioned on issues labelled `security`."
    )
    severities: dict[Severity, SeverityPolicy] = Field(description="Policy per severity.")
    calendar: CalendarPolicy = Field(
        default_factory=CalendarPolicy, description="Business calendar."
    )
    pir: PirPolicy = Field(default_factory=PirPolicy, description="Post-incident review.")

    @field_validator("roster")
    @classmethod
    def _valid_roster(cls, value: dict[str, str | None]) -> dict[str, str | None]:
        for seat, login in value.items():
            if login is not None and not LOGIN_RE.match(str(login)):
                raise ValueError(f"roster seat '{seat}': '{login}' is not a GitHub login")
        return {seat: (login.lstrip("@") if login else None) for seat, login in value.items()}

    @model_validator(mode="after")
    def _consistent(self) -> Policy:
        missing = [s.value for s in Severity if s not in self.severities]
        if missing:
            raise ValueError(f"severities: {', '.join(missing)} missing")
        for sev, sp in self.severities.items():
            for role in sp.assign:
                if role not in self.roles:
                    raise ValueError(f"severities.{sev.value}.assign: no role named '{role}'")
        for role in self.escalation_chain:
            if role not in self.roles:
                raise ValueError(f"escalation_chain: no role named '{role}'")
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


@dataclass(frozen=True)
class ConfigIssue:
    """One problem of a config file, with where it is."""

    source: str
    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.source}: {self.location}: {self.message}"


class ConfigError(Exception):
    """A config file that cannot be used; carries every problem found."""

    def __init__(self, problems: list[ConfigIssue]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


def bundled_text() -> str:
    """The bundled default policy's YAML: config/ in a checkout, app.bundled once installed."""
    checkout = Path(__file__).resolve().parent.parent / "config" / "incident.yml"
    if checkout.is_file():
        return checkout.read_text(encoding="utf-8")
    return (files("app.bundled") / "incident.yml").read_text(encoding="utf-8")


def parse_yaml(text: str, *, source: str) -> dict[str, Any]:
    """Parse a config document safely: bounded size and expanded node count, mapping at top."""
    if len(text.encode("utf-8", "replace")) > MAX_CONFIG_BYTES:
        raise ConfigError([ConfigIssue(source, "file", f"larger than {MAX_CONFIG_BYTES} bytes")])
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        if node is not None and _expanded_size(node, {}) > MAX_CONFIG_NODES:
            raise ConfigError(
                [ConfigIssue(source, "file", "too many values once aliases are expanded")]
            )
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "file"
        raise ConfigError([ConfigIssue(source, where, str(exc.problem or exc))]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([ConfigIssue(source, "file", str(exc))]) from None
    except RecursionError:
        raise ConfigError([ConfigIssue(source, "file", "nested too deeply")]) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError([ConfigIssue(source, "file", "the top level must be a mapping")])
    return data


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


def validate(data: dict[str, Any], *, source: str) -> Policy:
    """Build a Policy from merged data, or raise ConfigError listing every problem."""
    try:
        return Policy.model_validate(data)
    except UnicodeError:  # e.g. a lone surrogate from a "\uD800" escape
        raise ConfigError([ConfigIssue(source, "file", "text that is not valid Unicode")]) from None
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"]) or "file"
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown key"
            problems.append(ConfigIssue(source, loc, msg))
        raise ConfigError(problems) from None


@cache
def bundled_data() -> dict[str, Any]:
    """The bundled default, parsed once per process (callers merge over it, never mutate it)."""
    return parse_yaml(bundled_text(), source="bundled config")


@cache
def bundled_policy() -> Policy:
    """The bundled default policy (the runbook's numbers); policies are frozen models."""
    return validate(bundled_data(), source="bundled config")


def policy_from_layers(layers: list[tuple[str, dict[str, Any]]]) -> Policy:
    """Merge config layers, base first, over the bundled default, and validate."""
    data = bundled_data()
    for _, layer in layers:
        data = deep_merge(data, {k: v for k, v in layer.items() if k != "_extends"})
    source = layers[-1][0] if layers else "bundled config"
    return validate(data, source=source)


def check_text(text: str, *, source: str) -> Policy:
    """Validate one config file on its own over the bundled default (`_extends` not followed)."""
    data = parse_yaml(text, source=source)
    extends = data.get("_extends")
    if extends is not None and not isinstance(extends, str):
        raise ConfigError([ConfigIssue(source, "_extends", "must be text such as .github")])
    return policy_from_layers([(source, data)])


def parse_extends(value: Any, *, owner: str, source: str) -> tuple[str, str, str]:
    """`_extends` → (owner, repo, path): `.github`, `repo`, `owner/repo` or `owner/repo:path`."""
    if not isinstance(value, str) or not value.strip():
        raise ConfigError([ConfigIssue(source, "_extends", "must be text such as .github")])
    target, _, path = value.strip().partition(":")
    ext_owner, _, repo = target.rpartition("/")
    if not re.match(r"^[A-Za-z0-9._-]+$", repo) or (ext_owner and not LOGIN_RE.match(ext_owner)):
        raise ConfigError(
            [ConfigIssue(source, "_extends", f"'{value}' is not [owner/]repo[:path]")]
        )
    return ext_owner or owner, repo, path or CONFIG_PATH
