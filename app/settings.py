"""Process settings from the environment and `.env`, with Probot's variable names."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

from dotenv import dotenv_values
from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_API_URL = "https://api.github.com"


class Settings(BaseSettings):
    """Everything the process reads from its environment; built once by the app factory."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    app_id: int | None = Field(default=None, description="The GitHub App's numeric ID.")
    private_key: SecretStr | None = Field(
        default=None, description="The App's PEM private key; literal `\\n` escapes allowed."
    )
    private_key_path: Path | None = Field(
        default=None, description="A file holding the PEM private key (instead of PRIVATE_KEY)."
    )
    webhook_secret: SecretStr | None = Field(
        default=None, description="The secret GitHub signs deliveries with."
    )
    host: str = Field(default="0.0.0.0", description="Address the server binds.")
    port: int = Field(default=3000, description="Port the server listens on.")
    webhook_path: str = Field(default="/api/github/webhooks", description="Webhook route.")
    github_api_url: str = Field(
        default=DEFAULT_API_URL,
        description="REST API root; GitHub Enterprise Server: https://HOST/api/v3.",
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="Bearer token GET /metrics and the status page GET / require; unset: open.",
    )
    cron_secret: SecretStr | None = Field(
        default=None, description="Bearer token POST /cron/tick requires; unset disables it."
    )
    log_level: str = Field(default="INFO", description="Python log level name.")
    log_format: Literal["json", "pretty"] = Field(default="pretty", description="Log format.")
    coalesce_seconds: float = Field(
        default=0.5,
        description="How long work for an issue waits for more deliveries of the same burst.",
    )
    http_timeout: float = Field(default=10.0, description="Seconds per GitHub HTTP request.")
    shutdown_grace_seconds: float = Field(
        default=10.0, description="On SIGTERM, how long queued work may still run."
    )
    write_interval: float = Field(
        default=1.0,
        description="Seconds between one installation's content-creating requests "
        "(GitHub's secondary rate limits).",
    )
    max_rate_limit_wait: float = Field(
        default=30.0,
        description="A rate limit that resets later than this is not waited out in a request: "
        "the work is left for the next tick.",
    )
    max_actions_per_run: int = Field(
        default=30, description="Cap on GitHub writes one reconciliation of one issue may make."
    )
    redis_url: SecretStr | None = Field(
        default=None,
        description="Cluster mode: redis:// or rediss:// URL (add ?cluster=1 for Redis Cluster) "
        "where replicas share issue locks, delivery GUIDs, write pacing and the tick; unset: "
        "one process, nothing shared.",
    )
    sweep_minutes: float = Field(
        default=60.0,
        description="How often the server sweeps by itself (missed webhooks, new reviews); "
        "0: never (only POST /cron/tick or `incident-app tick` sweep, and deadlines wait for "
        "them).",
    )
    lock_ttl_seconds: float = Field(
        default=30.0,
        description="Cluster mode: how long an issue's lock outlives a replica that stopped "
        "renewing it (renewed every third of this while working).",
    )
    alerts_token: SecretStr | None = Field(
        default=None,
        description="Serves POST /alerts/{alertmanager,grafana,generic}/{owner}/{repo}: monitoring "
        "sends it as `Authorization: Bearer <token>` or as the basic-auth password; unset: no "
        "alert endpoints.",
    )
    oncall_feed_secret: SecretStr | None = Field(
        default=None,
        description="Serves GET /oncall/{owner}/{repo}/{token}.ics, the on-call calendar people "
        "subscribe to: each repository's token is an HMAC of its name under this secret "
        "(`incident-app oncall --repo o/r --feed-url` prints the URL); unset: no feeds. "
        "Changing it revokes every feed URL.",
    )
    notifiers_file: Path | None = Field(
        default=None,
        description="The operator's YAML file of named notifiers (Slack, PagerDuty, signed "
        "webhooks) that repositories choose by name in `notify:`; values may be ${ENV_VAR}.",
    )
    slack_api_url: str = Field(
        default="https://slack.com/api/",
        description="Slack's Web API base URL (for proxies and tests).",
    )
    pagerduty_events_url: str = Field(
        default="https://events.pagerduty.com",
        description="PagerDuty's Events API base URL; events go to <this>/v2/enqueue.",
    )
    app_name: str | None = Field(
        default=None,
        description="The App's name: proposed by the setup page, shown on the status page.",
    )
    public_url: str | None = Field(
        default=None,
        description="This server's address as GitHub reaches it, e.g. https://incidents.example.com;"
        " the setup page builds the webhook and redirect URLs from it (default: the request's).",
    )
    gh_org: str | None = Field(
        default=None,
        description="Register the App for this organisation instead of the user's account.",
    )
    env_file_path: Path = Field(
        default=Path(".env"), description="Where the setup page saves the App's credentials."
    )

    @model_validator(mode="after")
    def _normalise(self) -> Settings:
        self.github_api_url = self.github_api_url.rstrip("/")
        if not self.webhook_path.startswith("/"):
            self.webhook_path = "/" + self.webhook_path
        if self.public_url is not None:
            self.public_url = self.public_url.strip().rstrip("/") or None
        if self.public_url and not self.public_url.startswith(("https://", "http://")):
            raise ValueError("PUBLIC_URL must start with https:// (or http://)")
        return self

    def environment(self) -> dict[str, str]:
        """The variables `${NAME}` in NOTIFIERS_FILE may name: `.env`'s, with the process
        environment over them (as for the settings themselves)."""
        found: dict[str, str] = {}
        dotenv = self.model_config.get("env_file")
        if isinstance(dotenv, str) and Path(dotenv).is_file():
            found = {k: v for k, v in dotenv_values(dotenv).items() if v is not None}
        return {**found, **os.environ}

    def private_key_pem(self) -> str | None:
        """Return the PEM text from PRIVATE_KEY (with `\\n` escapes undone) or PRIVATE_KEY_PATH."""
        if self.private_key is not None and self.private_key.get_secret_value().strip():
            return self.private_key.get_secret_value().replace("\\n", "\n")
        if self.private_key_path is not None:
            return self.private_key_path.read_text()
        return None

    def secrets(self) -> list[str]:
        """Every secret value this process holds, in each form a log line could show it: the
        tokens, and the private key whole, with `\\n` escapes, and line by line."""
        found = [
            s.get_secret_value()
            for s in (
                self.private_key,
                self.webhook_secret,
                self.cron_secret,
                self.metrics_token,
                self.redis_url,
                self.alerts_token,
                self.oncall_feed_secret,
            )
            if s is not None
        ]
        if self.redis_url is not None:
            # The URL whole, and its password alone (a client's error may show either).
            password = urlsplit(self.redis_url.get_secret_value()).password
            found += [unquote(password), password] if password else []
        try:
            pem = self.private_key_pem()
        except OSError:  # an unreadable key file is reported where the key is used
            pem = None
        if pem:
            found += [pem, pem.replace("\n", "\\n")]
            found += [line.strip() for line in pem.splitlines() if "-----" not in line]
        return [s for s in found if s.strip()]

    @property
    def has_credentials(self) -> bool:
        """True when the app can authenticate to GitHub as itself."""
        return self.app_id is not None and (
            self.private_key is not None or self.private_key_path is not None
        )
