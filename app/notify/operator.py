"""The operator's NOTIFIERS_FILE: named notifiers, their secrets (`${ENV_VAR}`), Slack IDs."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from app.core.policy import NOTIFIER_NAME, SLACK_ID

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
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


class OperatorError(Exception):
    """A NOTIFIERS_FILE that cannot be used; `problems` are `location: message` lines."""

    def __init__(self, source: str, problems: list[str]) -> None:
        super().__init__(f"{source}: " + "; ".join(problems))
        self.source = source
        self.problems = problems


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


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _url(value: str) -> str:
    if not value.startswith(("https://", "http://")):
        raise ValueError("must be an https:// URL")
    return value


class SlackNotifier(_Model):
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


class PagerDutyNotifier(_Model):
    """A PagerDuty service, through its Events API v2 integration."""

    kind: Literal["pagerduty"] = Field(description="`pagerduty`.")
    routing_key: SecretStr = Field(description="The integration's routing key (32 characters).")


class WebhookNotifier(_Model):
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


class CalendarSource(_Model):
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


class StatuspageNotifier(_Model):
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


class EmailNotifier(_Model):
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


_URL_FIELDS = ("url", "webhook_url")


class OperatorFile(_Model):
    """The whole file."""

    # The `${VAR}` values expanded into URLs (set by `parse`), for `secrets()`.
    _url_parts: list[str] = PrivateAttr(default_factory=list)

    notifiers: dict[NotifierName, Notifier] = Field(
        default_factory=dict, description="Notifiers by the name repositories use in `notify:`."
    )
    people: dict[str, SlackId] = Field(
        default_factory=dict,
        description="GitHub login → Slack user ID, for inviting role holders to channels.",
    )
    calendars: dict[NotifierName, CalendarSource] = Field(
        default_factory=dict,
        description="On-call calendars by the name a repository's rotation gives "
        "(`calendar: <name>`).",
    )

    def names(self) -> frozenset[str]:
        """The notifier names repositories may route to."""
        return frozenset(self.notifiers)

    def secrets(self) -> list[str]:
        """Every secret value the file holds, for the log scrubber: tokens, keys, HMAC
        secrets, and the URLs notifiers post to (a Slack or Teams hook's URL is its secret),
        with any `${VAR}` value expanded into one."""
        found: list[str] = []
        for notifier in self.notifiers.values():
            if isinstance(notifier, WebhookNotifier):
                found.append(notifier.url)
            for name in type(notifier).model_fields:
                value = getattr(notifier, name)
                if isinstance(value, SecretStr) and value.get_secret_value().strip():
                    found.append(value.get_secret_value())
        found += [c.url.get_secret_value() for c in self.calendars.values()]
        found += [part for part in self._url_parts if part.strip()]
        return list(dict.fromkeys(found))

    def urls(self) -> list[str]:
        """The URLs the app sends to or fetches from through httpx (webhooks, calendars), for
        its request log."""
        hooks = [n.url for n in self.notifiers.values() if isinstance(n, WebhookNotifier)]
        return hooks + [c.url.get_secret_value() for c in self.calendars.values()]

    def people_for(self, extra: Mapping[str, str]) -> dict[str, str]:
        """Login (lowercase) → Slack ID: a repository's roster, the operator's file on top."""
        return {k.lower(): v for k, v in {**extra, **self.people}.items()}


def _expand(
    value: Any,
    where: tuple[str, ...],
    env: Mapping[str, str],
    bad: list[str],
    used: list[tuple[tuple[str, ...], str]],
) -> Any:
    """`${NAME}` in every string replaced by the environment's value; one problem per
    variable that is unset or empty (named, its value never shown). `used` collects where
    each value went, for the log scrubber."""
    if isinstance(value, dict):
        return {k: _expand(v, (*where, str(k)), env, bad, used) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, (*where, str(n)), env, bad, used) for n, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def swap(match: re.Match[str]) -> str:
        found = env.get(match[1])
        if not found:
            bad.append(f"{'.'.join(where)}: environment variable {match[1]} is not set")
            return ""
        used.append((where, found))
        return found

    return _VAR.sub(swap, value)


def _location(loc: tuple[int | str, ...]) -> str:
    parts = list(loc)
    # A notifier's errors are located under its kind too (the discriminated union): drop it.
    if len(parts) > 2 and parts[0] == "notifiers" and parts[2] in KINDS:
        del parts[2]
    return ".".join(str(p) for p in parts) or "file"


def _located(exc: ValidationError, unset: set[str]) -> list[str]:
    """Each validation error as `location: message`, in the file's words; none where an unset
    variable was already reported (it is said once, not twice)."""
    found: list[str] = []
    for err in exc.errors(include_input=False, include_url=False):
        loc = tuple(err["loc"][:-1] if err["loc"][-1] == "[key]" else err["loc"])
        if _location(loc) not in unset:
            found.append(f"{_location(loc)}: {_message(err)}")
    return found


def _message(err: ErrorDetails) -> str:
    """What one validation error says, for the operator."""
    if err["type"] == "extra_forbidden":
        return "unknown key"
    if err["type"] == "union_tag_invalid":
        return f"kind must be one of {', '.join(KINDS)}"
    if err["type"] == "string_pattern_mismatch" and err["loc"][-1] == "[key]":
        return "a name is letters, digits, '.', '_' and '-' (at most 64)"
    if err["type"] == "string_pattern_mismatch" and err["loc"][0] == "people":
        return "not a Slack user ID (U… or W…, as in the member's profile)"
    return err["msg"].removeprefix("Value error, ")


def parse(
    text: str, *, source: str = "NOTIFIERS_FILE", env: Mapping[str, str] | None = None
) -> OperatorFile:
    """Validate the file's text; raise OperatorError with every problem found."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "file"
        raise OperatorError(source, [f"{where}: not valid YAML"]) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise OperatorError(source, ["file: must be a mapping with `notifiers:` (and `people:`)"])
    problems: list[str] = []
    used: list[tuple[tuple[str, ...], str]] = []
    data = _expand(data, (), os.environ if env is None else env, problems, used)
    unset = {p.partition(": ")[0] for p in problems}
    try:
        found = OperatorFile.model_validate(data)
    except ValidationError as exc:
        problems += _located(exc, unset)
    if problems:
        raise OperatorError(source, problems) from None
    # A URL's `${VAR}` (a Teams or Slack hook's key in its path) is a secret on its own too.
    found._url_parts = [value for where, value in used if where[-1] in _URL_FIELDS]
    return found


def load(path: Path, *, env: Mapping[str, str] | None = None) -> OperatorFile:
    """Read and validate the file at `path` (NOTIFIERS_FILE)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise OperatorError(str(path), [f"file: cannot read: {reason}"]) from None
    return parse(text, source=str(path), env=env)
