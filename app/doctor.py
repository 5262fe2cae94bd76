"""`incident-app doctor`: checks the settings, the App's access to GitHub, and repo configs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from app.core.policy import CONFIG_PATH, ConfigError
from app.github.client import AppClients
from app.github.config import ConfigLoader, check_text, read_file
from app.github.errors import GitHubError, Reply
from app.github.port import GitHubPort, paginate
from app.notify.attempts import SendError
from app.notify.calendars import probe
from app.notify.operator import (
    EmailNotifier,
    Notifier,
    OperatorError,
    SlackNotifier,
    StatuspageNotifier,
    WebhookNotifier,
    load,
)
from app.notify.slack import SCOPES, SlackApp
from app.settings import Settings

Verdict = Literal["ok", "warn", "FAIL"]
MAX_ALERT_REPOS = 100  # repositories per installation whose alert opt-in is checked


@dataclass(frozen=True)
class Check:
    """One line of the doctor's report; `details` are printed indented below it."""

    verdict: Verdict
    subject: str
    reason: str
    details: tuple[str, ...] = ()

    def lines(self) -> list[str]:
        return [
            f"{self.verdict:<5} {self.subject}: {self.reason}",
            *(f"        {d}" for d in self.details),
        ]


def key_problem(settings: Settings) -> str | None:
    """Why the private key is unusable, or None when it is an RSA private key."""
    try:
        pem = settings.private_key_pem()
    except OSError as exc:
        return f"cannot read PRIVATE_KEY_PATH {settings.private_key_path}: {exc.strerror}"
    if pem is None:
        return "neither PRIVATE_KEY nor PRIVATE_KEY_PATH is set"
    try:
        key = load_pem_private_key(pem.strip().encode(), password=None)
    except (ValueError, TypeError):
        return "not a PEM private key (expected -----BEGIN RSA PRIVATE KEY-----)"
    if not isinstance(key, rsa.RSAPrivateKey):
        return "not an RSA key: GitHub Apps sign with RSA"
    return None


def check_settings(settings: Settings) -> list[Check]:
    """The settings alone, without the network."""
    checks = [
        Check("ok", "APP_ID", str(settings.app_id))
        if settings.app_id is not None
        else Check("FAIL", "APP_ID", "not set")
    ]
    problem = key_problem(settings)
    checks.append(
        Check("FAIL", "private key", problem)
        if problem
        else Check("ok", "private key", "an RSA private key")
    )
    checks.append(
        Check("ok", "WEBHOOK_SECRET", "set")
        if settings.webhook_secret and settings.webhook_secret.get_secret_value()
        else Check("FAIL", "WEBHOOK_SECRET", "not set: every delivery would be refused")
    )
    checks.append(
        Check("ok", "CRON_SECRET", "set")
        if settings.cron_secret and settings.cron_secret.get_secret_value()
        else Check(
            "warn",
            "CRON_SECRET",
            "not set: POST /cron/tick is off, so run `incident-app tick` from cron",
        )
    )
    return checks


def _failure(exc: GitHubError, api_url: str) -> str:
    if exc.status == 0:
        return f"no answer from GitHub at {api_url} (network error or timeout)"
    return f"GitHub answered {exc}"


async def diagnose(
    settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None
) -> AsyncIterator[Check]:
    """Every check, in order, as soon as it is known."""
    settings_checks = check_settings(settings)
    for check in settings_checks:
        yield check
    async for check in check_notifiers(settings):
        yield check
    async for check in check_sent(settings, transport=transport):
        yield check
    if any(c.verdict == "FAIL" for c in settings_checks[:2]):
        yield Check("FAIL", "GitHub", "not tried: needs APP_ID and a usable private key")
        return
    api = settings.github_api_url
    clients = AppClients(settings, transport=transport)
    try:
        app = (await clients.app().request("GET", "/app")).data
    except GitHubError as exc:
        reason = _failure(exc, api)
        if exc.status == 401:
            reason = "GitHub refused the App's JWT (401): are APP_ID and the key the same App's?"
        yield Check("FAIL", "App authentication", reason)
        return
    app = app if isinstance(app, dict) else {}
    yield Check("ok", "App authentication", f"{app.get('name') or app.get('slug')} at {api}")
    try:
        installations = await paginate(clients.app(), "/app/installations")
    except GitHubError as exc:
        yield Check("FAIL", "installations", _failure(exc, api))
        return
    if not installations:
        where = f"{app['html_url']}/installations/new" if app.get("html_url") else "on GitHub"
        yield Check("warn", "installations", f"none yet: install the App {where}")
        return
    yield Check("ok", "installations", str(len(installations)))
    alerts = settings.alerts_token is not None and bool(settings.alerts_token.get_secret_value())
    for installation in installations:
        async for check in _installation(clients, installation, api, alerts=alerts):
            yield check


async def _installation(
    clients: AppClients, installation: dict[str, Any], api: str, *, alerts: bool = False
) -> AsyncIterator[Check]:
    account = (installation.get("account") or {}).get("login", "?")
    subject = f"installation {installation.get('id')} ({account})"
    gh = _ReadOnce(clients.installation(int(installation["id"])))
    try:
        repos = await paginate(gh, "/installation/repositories", key="repositories")
    except GitHubError as exc:
        yield Check("FAIL", subject, _failure(exc, api))
        return
    yield Check("ok", subject, f"{len(repos)} repositor{'y' if len(repos) == 1 else 'ies'}")
    for repo in repos:
        yield await _repo_config(gh, str(repo.get("full_name", "?")), api)
    if alerts:
        yield await _alerts_refused(gh, subject, [str(r.get("full_name", "?")) for r in repos], api)


class _ReadOnce:
    """An installation's GitHubPort that sends each GET once: the config check and the alert
    check read the same files, and the organisation's `.github` config serves every repository
    without one."""

    def __init__(self, gh: GitHubPort) -> None:
        self._gh = gh
        self._seen: dict[str, Reply | GitHubError] = {}

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        ok: tuple[int, ...] = (),
        idempotent: bool | None = None,
    ) -> Reply:
        async def ask() -> Reply:
            return await self._gh.request(
                method,
                path,
                params=params,
                json=json,
                headers=headers,
                ok=ok,
                idempotent=idempotent,
            )

        if method != "GET":
            return await ask()
        key = repr((path, sorted((params or {}).items()), sorted((headers or {}).items()), ok))
        if key not in self._seen:
            try:
                self._seen[key] = await ask()
            except GitHubError as exc:
                self._seen[key] = exc
        found = self._seen[key]
        if isinstance(found, GitHubError):
            raise found
        return found


async def _alerts_refused(gh: GitHubPort, subject: str, names: list[str], api: str) -> Check:
    """The repositories that refuse alerts (403) for want of `alerts: {enabled: true}`, as the
    server decides it: the config loader's lookup (the repository's file, else the owner's
    `.github` one, `_extends` followed), each file read once, the first MAX_ALERT_REPOS only."""
    loader = ConfigLoader()
    refused: list[str] = []
    unread: list[str] = []
    checked = names[:MAX_ALERT_REPOS]
    for name in checked:
        owner, _, repo = name.partition("/")
        try:
            policy = (await loader.load(gh, owner, repo)).policy
        except GitHubError as exc:
            unread.append(f"{name}: cannot read its config: {_failure(exc, api)}")
            continue
        if not policy.alerts.enabled:
            refused.append(name)
    details = [*refused[:20]]
    if len(refused) > 20:
        details.append(f"… and {len(refused) - 20} more")
    details += unread[:5]
    if len(names) > len(checked):
        details.append(f"{len(names) - len(checked)} more repositories not checked")
    if not refused and not unread:
        return Check("ok", f"{subject} alerts", "every repository accepts alerts", tuple(details))
    return Check(
        "warn",
        f"{subject} alerts",
        f"{len(refused)} of {len(checked)} repositories refuse alerts (403) until "
        f"{CONFIG_PATH} (theirs or the owner's .github) says `alerts: {{enabled: true}}`",
        tuple(details),
    )


async def _repo_config(gh: GitHubPort, full_name: str, api: str) -> Check:
    subject = f"{full_name} {CONFIG_PATH}"
    owner, _, name = full_name.partition("/")
    try:
        text = await read_file(gh, owner, name, CONFIG_PATH)
    except GitHubError as exc:
        return Check("FAIL", subject, "cannot read: " + _failure(exc, api))
    if text is None:
        return Check("ok", subject, "none: the organisation's or the bundled default applies")
    try:
        policy = check_text(text, source=CONFIG_PATH, repo=full_name)
    except ConfigError as exc:
        return Check(
            "FAIL",
            subject,
            f"{len(exc.problems)} problem(s); incidents run on the fallback config",
            tuple(f"{p.location}: {p.message}" for p in exc.problems),
        )
    empty = policy.unstaffed()
    if empty:
        return Check("warn", subject, f"valid, but {len(empty)} role(s) reach nobody", tuple(empty))
    return Check("ok", subject, "valid")


async def check_notifiers(settings: Settings) -> AsyncIterator[Check]:
    """NOTIFIERS_FILE: valid or not, each notifier's name and kind (never a secret), and
    whether Slack accepts each bot token (auth.test)."""
    if settings.notifiers_file is None:
        yield Check("ok", "NOTIFIERS_FILE", "not set: nobody outside GitHub is notified")
        return
    try:
        operator = load(settings.notifiers_file, env=settings.environment())
    except OperatorError as exc:
        yield Check(
            "FAIL",
            "NOTIFIERS_FILE",
            f"{exc.source}: {len(exc.problems)} problem(s); no notifier is used",
            tuple(exc.problems),
        )
        return
    yield Check(
        "ok",
        "NOTIFIERS_FILE",
        f"{settings.notifiers_file}: {len(operator.notifiers)} notifier(s), "
        f"{len(operator.people)} Slack user ID(s)",
    )
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="doctor-slack") as pool:
        for name, config in operator.notifiers.items():
            yield await _notifier(f"notifier {name}", config, settings, pool)
    if operator.calendars:
        for name, verdict, reason in await probe(operator.calendars, datetime.now(UTC)):
            yield Check(verdict, f"calendar {name}", reason)


async def _notifier(
    subject: str, config: Notifier, settings: Settings, pool: ThreadPoolExecutor
) -> Check:
    """One notifier's kind and target; a Slack bot token is asked whether Slack accepts it."""
    if isinstance(config, WebhookNotifier):
        host = urlsplit(config.url).hostname or "?"
        return Check("ok", subject, f"webhook to {host}, signed")
    if isinstance(config, StatuspageNotifier):
        return Check("ok", subject, f"statuspage page {config.page_id}: public updates only")
    if isinstance(config, EmailNotifier):
        host = f"{config.host}:{config.port}"
        return Check("ok", subject, f"email via {host}: public updates only")
    if not isinstance(config, SlackNotifier):
        return Check("ok", subject, "pagerduty: its first event checks the key")
    if config.bot_token is None:
        return Check("ok", subject, "slack incoming webhook: messages only, no channels")
    return await _slack_token(subject, config, settings, pool)


async def check_sent(
    settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None
) -> AsyncIterator[Check]:
    """What the running server (PUBLIC_URL) sent to the notifiers and the last failures, from
    its status page (with METRICS_TOKEN when set)."""
    if settings.notifiers_file is None or not settings.public_url:
        return
    headers = {"Accept": "application/json"}
    if settings.metrics_token is not None:
        headers["Authorization"] = f"Bearer {settings.metrics_token.get_secret_value()}"
    subject = "notifications sent"
    try:
        async with httpx.AsyncClient(transport=transport, timeout=settings.http_timeout) as http:
            answer = await http.get(settings.public_url + "/", headers=headers)
        status = answer.json() if answer.status_code == 200 else None
    except (httpx.HTTPError, ValueError) as exc:
        yield Check("warn", subject, f"{settings.public_url} did not answer: {type(exc).__name__}")
        return
    if answer.status_code == 401:
        yield Check("warn", subject, f"{settings.public_url}: 401, set METRICS_TOKEN here too")
        return
    found = status.get("notifications") if isinstance(status, dict) else None
    if not isinstance(found, dict):
        reason = f"{settings.public_url}: no notifiers there (is NOTIFIERS_FILE set on it?)"
        yield Check("warn", subject, reason)
        return
    counts = found.get("counts") or {}
    failures = [f for f in found.get("recent_failures") or [] if isinstance(f, dict)]
    summary = ", ".join(f"{counts.get(k, 0)} {k}" for k in ("sent", "retried", "failed"))
    details = tuple(
        f"{f.get('at', '?')} {f.get('notifier', '?')} {f.get('event', '?')}: {f.get('reason', '')}"
        for f in failures[-5:]
    )
    yield Check(
        "warn" if failures else "ok", subject, f"by {settings.public_url}: {summary}", details
    )


async def _slack_token(
    subject: str, config: SlackNotifier, settings: Settings, pool: ThreadPoolExecutor
) -> Check:
    app = SlackApp(
        config, people={}, api_url=settings.slack_api_url, timeout=settings.http_timeout, pool=pool
    )
    try:
        me = await app.whoami()
    except SendError as exc:
        return Check("FAIL", subject, f"slack bot token: {exc.reason}")
    works = (
        f"slack bot token works: {me.user} in {me.team}; announces in {config.channel}, "
        f"archives channels {_span(config.archive_after)} after the all-clear"
    )
    if me.scopes is None:
        return Check("warn", subject, f"{works}; Slack did not say the token's scopes")
    missing = [scope for scope in SCOPES if scope not in me.scopes]
    if missing:
        return Check(
            "FAIL",
            subject,
            f"slack bot token lacks {', '.join(missing)}: add them to the Slack app's bot "
            "token scopes and reinstall it (groups:* make confidential incidents' private "
            "channels)",
        )
    return Check("ok", subject, works)


def _span(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
