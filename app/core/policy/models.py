"""The policy model: roles, what each severity asks, and the whole `Policy` with its lookups."""

from __future__ import annotations

from functools import cached_property
from typing import Annotated, Any

from pydantic import AfterValidator, Field, field_validator, model_validator

from app.core.business_calendar import BusinessCalendar
from app.core.policy.durations import Duration, PositiveDuration
from app.core.policy.fields import LOGIN_RE, TEAM_RE, Loc, _login, _Problems, _shown
from app.core.policy.public import SiteSettings, StatuspagePolicy
from app.core.policy.rotations import MAX_ROTATIONS, Rotation, RotationSeat
from app.core.policy.sections import (
    SLACK_ID,
    TRIGGER_KEYS,
    AlertsPolicy,
    BreachPolicy,
    CalendarPolicy,
    DeclarationsPolicy,
    DrillsPolicy,
    NotifyRoute,
    PhasesPolicy,
    PirPolicy,
    _Model,
)
from app.core.policy.severity import Severity


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
    public_every: PositiveDuration | None = Field(
        default=None,
        description="Remind the communication lead when no public update came for this "
        "long; unset: `update_every`.",
    )
    public_first_within: PositiveDuration | None = Field(
        default=None,
        description="The first public update is due this long after declaration; unset: "
        "`public_every`.",
    )
    public_only_customer_facing: bool = Field(
        default=False,
        description="Public updates are due only while the incident is labelled "
        "`customer-facing` (P3).",
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
    rotations: dict[str, Rotation] = Field(
        default_factory=dict,
        max_length=MAX_ROTATIONS,
        description="On-call rotations by name; a roster seat follows one with "
        "`{rotation: name}` (docs/user-guide/oncall.md).",
    )
    seats: dict[str, RotationSeat] = Field(
        default_factory=dict,
        description="Roster seats that follow a rotation, as `roster` gives them "
        "(`seat: {rotation: primary, offset: 1}`); their login is `roster`'s `null` until bound.",
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
    statuspage: StatuspagePolicy | None = Field(
        default=None,
        description="The public status site this repository's incidents are published on "
        "(`repository` and `branch`, both required); none when not configured.",
    )
    site: SiteSettings = Field(
        default_factory=SiteSettings,
        description="When this repository serves a public status site: its `title` and the "
        "`components` customers see.",
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
        seats = dict(data.get("seats") or {}) if isinstance(data.get("seats"), dict) else {}
        given = data.get("slack")
        slack = dict(given or {}) if given is None or isinstance(given, dict) else None
        for seat, value in data["roster"].items():
            if isinstance(value, dict) and "rotation" in value:
                roster[seat], seats[seat] = None, value
            elif isinstance(value, dict) and set(value) <= {"login", "slack"}:
                roster[seat] = value.get("login")
                if value.get("slack") is not None and value.get("login") and slack is not None:
                    slack[str(value["login"]).lstrip("@")] = value["slack"]
            else:
                roster[seat] = value
        data = {**data, "roster": roster}
        if seats:
            data["seats"] = seats
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
        found += [
            (("roster", seat, "rotation"), f"no rotation named {_shown(held.rotation)}")
            for seat, held in self.seats.items()
            if held.rotation not in self.rotations
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
            if role in self.roles
            and not self.holders(role)
            and not self.backups(role)
            and not any(m in self.seats for m in self.roles[role].members)
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
        logins |= {m for rotation in self.rotations.values() for m in rotation.logins()}
        for role in self.roles.values():
            logins |= {
                m[1:].lower() for m in role.members + role.backup if LOGIN_RE.match(m) and "@" in m
            }
        return frozenset(logins)
