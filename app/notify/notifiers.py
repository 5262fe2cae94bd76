"""The notifiers an operator names in NOTIFIERS_FILE (slack, pagerduty, webhook, statuspage,
email) and its on-call calendars: one pydantic model each (the file is `app.notify.operator`)."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from app.core.policy import NOTIFIER_NAME, SLACK_ID

_SPAN = re.compile(r"^\s*(\d{1,6})\s*(s|m|h|d|w)\s*$", re.IGNORECASE)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
KINDS = ("slack", "pagerduty", "webhook", "statuspage", "email")
# A webhook's HMAC key: shorter is guessable offline from one signed delivery.
MIN_WEBHOOK_SECRET = 16
STATUSPAGE_API = "https://api.statuspage.io"
STATUSPAGE_ID = r"^[A-Za-z0-9]{1,64}$"  # page and component ids (`kctbh9vrtdwd`)
# One address, no display name: nothing that could end a header line or add a recipient.
ADDRESS = r"^[^@\s<>,;\"]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$"
EMAIL_ABOVE = 10.0  # the runbook: "Email for incidents affecting >10% of users"


def _span(value: Any) -> Any:
    """`30m`, `2h`, `1d` (or seconds as a number) → timedelta."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=value)
    match = _SPAN.match(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"{str(value)[:40]!r} is not a duration: use 30m, 2h or 1d")
    return timedelta(**{_UNITS[match[2].lower()]: int(match[1])})


Span = Annotated[timedelta, BeforeValidator(_span)]


class Model(BaseModel):
    """The base of every model in the file: unknown keys refused, values frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _url(value: str) -> str:
    if not value.startswith(("https://", "http://")):
        raise ValueError("must be an https:// URL")
    return value


class SlackNotifier(Model):
    """A Slack workspace: with `bot_token`, a channel per P0/P1 incident and an announcement
    in `channel`; with `webhook_url` (an incoming webhook) only messages to that webhook."""

    kind: Literal["slack"] = Field(description="`slack`.")
    bot_token: SecretStr | None = Field(
        default=None,
        description="A bot token (xoxb-…) with channels:manage, channels:read, groups:write, "
        "groups:read and chat:write.",
    )
    webhook_url: SecretStr | None = Field(
        default=None, description="An incoming webhook's URL, instead of a bot token."
    )
    channel: str = Field(
        default="#incidents",
        min_length=1,
        max_length=81,
        description="Where every incident is announced, and P2/P3 events go.",
    )
    archive_after: Span = Field(
        default=timedelta(hours=24),
        description="How long after the all-clear an incident's channel is archived.",
    )

    @model_validator(mode="after")
    def _one_way_in(self) -> SlackNotifier:
        if (self.bot_token is None) == (self.webhook_url is None):
            raise ValueError("give either bot_token or webhook_url (one of them)")
        if self.webhook_url is not None:
            _url(self.webhook_url.get_secret_value())
        if self.archive_after <= timedelta(0):
            raise ValueError("archive_after must be more than 0, e.g. 24h")
        return self


class PagerDutyNotifier(Model):
    """A PagerDuty service, through its Events API v2 integration."""

    kind: Literal["pagerduty"] = Field(description="`pagerduty`.")
    routing_key: SecretStr = Field(description="The integration's routing key (32 characters).")


class WebhookNotifier(Model):
    """Any HTTPS endpoint: a JSON event, signed with HMAC-SHA256 of the body."""

    kind: Literal["webhook"] = Field(description="`webhook`.")
    url: str = Field(max_length=2000, description="Where events are POSTed.")
    secret: SecretStr = Field(
        description="The HMAC key of X-Incident-Signature-256 and X-Incident-Signature-v2 "
        f"(at least {MIN_WEBHOOK_SECRET} characters)."
    )

    _check_url = field_validator("url")(_url)

    @field_validator("secret")
    @classmethod
    def _long_enough(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value().strip()) < MIN_WEBHOOK_SECRET:
            raise ValueError(
                f"must be at least {MIN_WEBHOOK_SECRET} characters: "
                "a random one, e.g. `openssl rand -hex 32`"
            )
        return value


class CalendarSource(Model):
    """An on-call schedule exported as iCalendar (PagerDuty, Opsgenie, Google): a rotation
    with `calendar: <name>` takes its shifts. The URL carries a secret, so it lives here and
    never in a repository."""

    url: SecretStr = Field(description="The feed's https:// URL, e.g. `${PD_ICS_URL}`.")
    cache: Span = Field(
        default=timedelta(minutes=15),
        description="How long a fetched calendar is used before it is fetched again.",
    )

    @field_validator("url")
    @classmethod
    def _https(cls, value: SecretStr) -> SecretStr:
        _url(value.get_secret_value())
        return value


class StatuspageNotifier(Model):
    """An Atlassian Statuspage page, through its REST API v1: public updates only (routes
    with `public: true`)."""

    kind: Literal["statuspage"] = Field(description="`statuspage`.")
    page_id: str = Field(pattern=STATUSPAGE_ID, description="The page's id (its API page).")
    api_key: SecretStr = Field(description="An API key of the page's owner (`${VAR}`).")
    components: dict[
        Annotated[str, Field(max_length=100)], Annotated[str, Field(pattern=STATUSPAGE_ID)]
    ] = Field(
        default_factory=dict,
        description="A component's name in `/component` → its Statuspage component id; "
        "components not named here are not shown on Statuspage.",
    )
    api_url: str = Field(default=STATUSPAGE_API, max_length=2000, description="The API's root URL.")

    _check_url = field_validator("api_url")(_url)


Address = Annotated[str, Field(pattern=ADDRESS)]


class EmailNotifier(Model):
    """Customers by email (SMTP with STARTTLS): public updates only (routes with
    `public: true`), and only of incidents affecting more than `email_above` % of users."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    kind: Literal["email"] = Field(description="`email`.")
    host: str = Field(
        pattern=r"^[A-Za-z0-9.-]{1,253}$", description="The SMTP server (submission)."
    )
    port: int = Field(default=587, ge=1, le=65535, description="Its port (587: submission).")
    username: str | None = Field(default=None, max_length=320, description="SMTP AUTH user.")
    password: SecretStr | None = Field(
        default=None, description="SMTP AUTH password (`${SMTP_PASSWORD}`), never logged."
    )
    starttls: bool = Field(
        default=True,
        description="Upgrade the connection with STARTTLS (certificate checked) before "
        "anything else; off only for a local relay without a password.",
    )
    sender: Address = Field(alias="from", description="The From address.")
    to: list[Address] = Field(
        default_factory=list, max_length=10_000, description="Recipients, one message each."
    )
    subscribers_file: Path | None = Field(
        default=None,
        description="A file of recipients, one address a line (`#` comments), read at each "
        "send: beside or instead of `to`.",
    )
    unsubscribe: list[str] = Field(
        min_length=1,
        max_length=2,
        description="List-Unsubscribe: a `mailto:` address and/or an https:// URL (with an "
        "https URL, List-Unsubscribe-Post offers one-click unsubscribing).",
    )
    status_url: str | None = Field(
        default=None, max_length=2000, description="The public status site, linked in mails."
    )
    ca_file: Path | None = Field(
        default=None,
        description="A CA bundle (PEM) to trust for this server's certificate, beside the "
        "system's (a private relay).",
    )
    components: list[Annotated[str, Field(max_length=100)]] = Field(
        default_factory=list,
        max_length=200,
        description="The components mails may name (as the status site lists them; matched "
        "whatever their case): a `/component` naming another is left out. Unset: every "
        "component an incident names.",
    )
    email_above: float = Field(
        default=EMAIL_ABOVE,
        ge=0,
        le=100,
        description="Mail only incidents whose `/impact` is above this share of users (%); "
        "an incident without an impact is not mailed.",
    )

    @field_validator("unsubscribe")
    @classmethod
    def _unsubscribe(cls, value: list[str]) -> list[str]:
        for uri in value:
            if not uri.startswith(("mailto:", "https://")) or any(c in uri for c in "\r\n<>, "):
                raise ValueError("each must be a mailto: address or an https:// URL")
        return value

    @field_validator("status_url")
    @classmethod
    def _status_url(cls, value: str | None) -> str | None:
        return None if value is None else _url(value)

    @model_validator(mode="after")
    def _safe(self) -> EmailNotifier:
        if (self.username is None) != (self.password is None):
            raise ValueError("give both username and password, or neither")
        if self.password is not None and not self.starttls:
            raise ValueError("a password is sent only after STARTTLS: set starttls: true")
        if not self.to and self.subscribers_file is None:
            raise ValueError("give the recipients: `to` or `subscribers_file`")
        return self


PUBLIC_KINDS = ("statuspage", "email")  # the notifiers customers read: public events only

Notifier = Annotated[
    SlackNotifier | PagerDutyNotifier | WebhookNotifier | StatuspageNotifier | EmailNotifier,
    Field(discriminator="kind"),
]
NotifierName = Annotated[str, Field(pattern=NOTIFIER_NAME)]
SlackId = Annotated[str, Field(pattern=SLACK_ID)]
