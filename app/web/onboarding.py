"""The front page: registering the App through GitHub's manifest flow, then a status page."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import html
import json
import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import yaml
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from app import __version__
from app.github.port import API_VERSION, USER_AGENT
from app.logs import HIDE_MANIFEST_CODE
from app.settings import Settings
from app.web.envfile import quote_value, save_env

log = logging.getLogger(__name__)

CALLBACK_PATH = "/setup/callback"
DEFAULT_NAME = "incident-app"
MAX_STATES = 256  # what the old store of issued states held; no store is left to flood
STATE_COOKIE = "incident_app_setup"
STATE_TTL = 3600  # seconds: GitHub's manifest code itself lives an hour

MANIFEST_PATH = Path(__file__).resolve().parents[2] / "app.yml"
# The same manifest as app.yml, for installs that do not carry the repository's root files.
# tests/web/test_onboarding.py checks the two stay identical.
EMBEDDED_MANIFEST: dict[str, Any] = {
    "name": "incident-app",
    "description": "Runs the incident-response runbook on GitHub issues — roles, checklists,"
    " deadlines, escalations and post-incident reviews.",
    "url": "https://github.com/apps/incident-app",
    "hook_attributes": {"url": "https://example.com/api/github/webhooks", "active": True},
    "redirect_url": "https://example.com/setup/callback",
    "public": False,
    "default_events": ["issues", "issue_comment", "pull_request"],
    "default_permissions": {
        "issues": "write",
        "pull_requests": "write",
        "contents": "write",
        "metadata": "read",
    },
}

# What the conversion answer holds → the setting it becomes in .env.
CREDENTIALS = {
    "id": "APP_ID",
    "pem": "PRIVATE_KEY",
    "webhook_secret": "WEBHOOK_SECRET",
    "client_id": "GITHUB_CLIENT_ID",
    "client_secret": "GITHUB_CLIENT_SECRET",
}

STYLE = (
    "body{font:16px/1.5 system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem;"
    "color:#1f2328}code{background:#f6f8fa;padding:0 .2em;word-break:break-all}"
    "dt{font-weight:600}dd{margin:0 0 .5rem 0}"
    "button{font:inherit;padding:.5rem 1rem;border-radius:6px;border:1px solid #1a7f37;"
    "background:#1f883d;color:#fff;cursor:pointer}button:focus{outline:3px solid #0969da}"
)


# --- the manifest ---------------------------------------------------------------------


def manifest_template() -> dict[str, Any]:
    """app.yml from the repository root, else the identical embedded copy."""
    try:
        data = yaml.safe_load(MANIFEST_PATH.read_text(encoding="utf-8"))
    except OSError:
        return copy.deepcopy(EMBEDDED_MANIFEST)
    if not isinstance(data, dict):
        raise ValueError(f"{MANIFEST_PATH}: the manifest must be a mapping")
    return data


def build_manifest(
    template: Mapping[str, Any], *, public_url: str, webhook_path: str, name: str | None = None
) -> dict[str, Any]:
    """The manifest GitHub gets: the template with this server's URLs."""
    manifest = copy.deepcopy(dict(template))
    manifest["name"] = name or manifest.get("name") or DEFAULT_NAME
    manifest["url"] = public_url
    manifest["hook_attributes"] = {
        **manifest.get("hook_attributes", {}),
        "url": public_url + webhook_path,
    }
    manifest["redirect_url"] = public_url + CALLBACK_PATH
    return manifest


def web_url(api_url: str) -> str:
    """GitHub's web host for an API root: api.github.com → github.com, HOST/api/v3 → HOST."""
    url = httpx.URL(api_url.rstrip("/"))
    path = url.path.rstrip("/")
    if path.endswith("/api/v3"):
        path = path.removesuffix("/api/v3")
    elif path in ("", "/") and url.host.startswith("api."):
        url = url.copy_with(host=url.host.removeprefix("api."))
    return str(url.copy_with(path=path or "/", query=None)).rstrip("/")


def new_app_url(*, api_url: str, state: str, org: str | None = None) -> str:
    """GitHub's "new app from a manifest" page for the user, or for an organisation."""
    owner = f"/organizations/{quote(org, safe='')}" if org else ""
    return f"{web_url(api_url)}{owner}/settings/apps/new?state={quote(state, safe='')}"


# --- the round trip -------------------------------------------------------------------


class States:
    """The `state` of the manifest round trip, bound to the browser that asked for it.

    Nothing is stored per page load: the browser gets a cookie `<issued>.<nonce>` and GitHub
    carries `state` = HMAC(this process's key, cookie) there and back. A state is good once,
    for an hour, with its own cookie; the nonces used are remembered until they would have
    expired anyway, so no one can push them out.
    """

    def __init__(self, *, ttl: int = STATE_TTL) -> None:
        self._ttl = ttl
        self._key = secrets.token_bytes(32)
        self._used: dict[str, int] = {}  # nonce → when its cookie expires, in use order

    def _sign(self, cookie: str) -> str:
        mac = hmac.new(self._key, cookie.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()

    def issue(self, now: int) -> tuple[str, str]:
        """A fresh (state, cookie) pair."""
        cookie = f"{now}.{secrets.token_urlsafe(24)}"
        return self._sign(cookie), cookie

    def take(self, state: str | None, cookie: str | None, now: int) -> str | None:
        """None, once, for a state this process issued with this cookie; else why not."""
        if not state or not cookie:
            return "the link or this browser's setup cookie is missing"
        if not hmac.compare_digest(self._sign(cookie), state):
            return (
                "it was not issued to this browser, or this browser opened a newer setup "
                "page since, or the server restarted"
            )
        issued, _, nonce = cookie.partition(".")
        expires = int(issued) + self._ttl if issued.isdigit() else 0
        if expires <= now:
            return "it expired (a setup link works for an hour)"
        while self._used:
            oldest = next(iter(self._used))
            if self._used[oldest] > now:
                break
            del self._used[oldest]
        if nonce in self._used:
            return "it was already used"
        self._used[nonce] = expires
        return None

    def drop_all(self) -> None:
        """No state issued so far is good any more."""
        self._key = secrets.token_bytes(32)
        self._used.clear()


def env_values(app: Mapping[str, Any]) -> dict[str, str]:
    """The .env lines of a conversion answer; raises KeyError when one is missing."""
    values = {}
    for field, key in CREDENTIALS.items():
        raw = app[field]
        if raw is None or raw == "":
            raise KeyError(field)
        values[key] = str(raw) if key == "APP_ID" else quote_value(str(raw))
    return values


# --- pages ----------------------------------------------------------------------------


def page(title: str, body: str, *, status: int = 200) -> HTMLResponse:
    """A small self-contained HTML page (no scripts, no external resources)."""
    text = (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>\n"
    )
    return HTMLResponse(text, status_code=status, headers={"Cache-Control": "no-store"})


def _e(value: object) -> str:
    return html.escape(str(value))


@dataclass(frozen=True)
class Created:
    """The App registered from this page, until the process restarts with its credentials."""

    name: str
    install_url: str


class Setup:
    """Setup mode: the page that posts the manifest to GitHub, and GitHub's redirect back."""

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings = settings
        self.states = States()
        self.created: Created | None = None
        self._transport = transport
        self._now = now
        # httpx logs each request's URL at INFO, and the code exchange's URL holds the code.
        logging.getLogger("httpx").addFilter(HIDE_MANIFEST_CODE)

    def _seconds(self) -> int:
        return int(self._now().timestamp())

    def public_url(self, request: Request) -> str:
        return self.settings.public_url or f"{request.url.scheme}://{request.url.netloc}"

    async def form(self, request: Request) -> Response:
        """GET /: what will be created, and the button that sends the manifest to GitHub."""
        if self.created is not None:
            return page("incident-app: restart to finish", _restart(self.created))
        public = self.public_url(request)
        manifest = build_manifest(
            manifest_template(),
            public_url=public,
            webhook_path=self.settings.webhook_path,
            name=self.settings.app_name,
        )
        org = self.settings.gh_org
        state, cookie = self.states.issue(self._seconds())
        action = new_app_url(api_url=self.settings.github_api_url, state=state, org=org)
        owner = f"the organisation <strong>{_e(org)}</strong>" if org else "your GitHub account"
        permissions = ", ".join(
            f"{name.replace('_', ' ')}: {level}"
            for name, level in manifest.get("default_permissions", {}).items()
        )
        body = f"""
<h1>Set up incident-app</h1>
<p>This server has no GitHub App credentials yet. The button below takes you to GitHub to
create a GitHub App owned by {owner}. GitHub then sends you back here, and the App's
credentials are saved to <code>{_e(self.settings.env_file_path)}</code> on this server.</p>
<h2>What will be created</h2>
<dl>
<dt>Name</dt><dd>{_e(manifest["name"])} (you can change it on GitHub)</dd>
<dt>Webhook URL</dt><dd><code>{_e(manifest["hook_attributes"]["url"])}</code></dd>
<dt>Events</dt><dd>{_e(", ".join(manifest.get("default_events", [])))}</dd>
<dt>Permissions</dt><dd>{_e(permissions)}</dd>
<dt>Return address</dt><dd><code>{_e(manifest["redirect_url"])}</code></dd>
</dl>
<form method="post" action="{_e(action)}">
<input type="hidden" name="manifest" value="{_e(json.dumps(manifest))}">
<button type="submit">Create the GitHub App on GitHub</button>
</form>
<p>GitHub must be able to reach the webhook URL. If <code>{_e(public)}</code> is not this
server's public address, restart it with
<code>incident-app serve --public-url https://your.host</code>.</p>
"""
        response = page("Set up incident-app", body)
        # GitHub sends the browser back with a top-level GET: a Lax cookie goes along.
        response.set_cookie(
            STATE_COOKIE,
            cookie,
            max_age=STATE_TTL,
            path=CALLBACK_PATH,
            secure=request.url.scheme == "https",
            httponly=True,
            samesite="lax",
        )
        return response

    async def callback(self, request: Request) -> Response:
        """GET /setup/callback?code=…&state=…: swap the code for the credentials, save them.

        Only the browser that loaded the setup page may finish it, once, and only until an
        App is registered: after that every callback is refused without asking GitHub."""
        if self.created is not None:
            return _already(self.created)
        why = self.states.take(
            request.query_params.get("state"), request.cookies.get(STATE_COOKIE), self._seconds()
        )
        if why is not None:
            return _problem(
                400,
                f"This setup link is not valid here: {why}. Finish setup in the browser "
                "that opened this server's setup page.",
            )
        code = request.query_params.get("code", "")
        if not code:
            return _problem(400, "GitHub's answer has no code.")
        exchanged = await self._exchange(code)
        if isinstance(exchanged, Response):
            return exchanged
        if self.created is not None:  # another callback finished while this one waited
            return _already(self.created)
        return self._saved(*exchanged)

    async def _exchange(self, code: str) -> tuple[Any, dict[str, str]] | Response:
        """GitHub's answer to the code (the App, with its credentials) and the .env values
        it makes, or the page saying why there are none."""
        api = self.settings.github_api_url
        try:
            async with httpx.AsyncClient(
                timeout=httpx.Timeout(self.settings.http_timeout, connect=5.0),
                transport=self._transport,
            ) as client:
                reply = await client.post(
                    f"{api}/app-manifests/{quote(code, safe='')}/conversions",
                    headers={
                        "Accept": "application/vnd.github+json",
                        "X-GitHub-Api-Version": API_VERSION,
                        "User-Agent": USER_AGENT,
                    },
                )
        except httpx.HTTPError as exc:
            log.warning("setup: no answer from %s: %s", api, type(exc).__name__)
            return _problem(502, f"No answer from GitHub at {api} ({type(exc).__name__}).")
        if reply.status_code not in (200, 201):
            log.warning("setup: GitHub answered %s to the code exchange", reply.status_code)
            return _problem(
                502,
                f"GitHub refused the code ({reply.status_code}): a code works once, "
                "within an hour.",
            )
        try:
            data = reply.json()
            values = env_values(data)
        except (ValueError, KeyError, TypeError):
            return _problem(502, "GitHub's answer lacks the App's credentials.")
        return data, values

    def _saved(self, data: Any, values: dict[str, str]) -> Response:
        """The credentials written to the .env file, and the page saying what to do next."""
        api = self.settings.github_api_url
        path = self.settings.env_file_path
        try:
            save_env(path, values)
        except OSError as exc:
            log.error("setup: cannot write %s: %s", path, exc.strerror)
            return _problem(500, f"Cannot write {path}: {exc.strerror}.")
        name = str(data.get("name") or data.get("slug") or DEFAULT_NAME)
        html_url = str(data.get("html_url") or f"{web_url(api)}/apps/{data.get('slug', '')}")
        self.created = Created(name, html_url.rstrip("/") + "/installations/new")
        self.states.drop_all()
        log.info(
            "setup: registered GitHub App %s (id %s); credentials saved to %s",
            name,
            data["id"],
            path,
        )
        response = page("incident-app: App created", _restart(self.created, saved_to=path))
        response.delete_cookie(STATE_COOKIE, path=CALLBACK_PATH)
        return response


def _problem(status: int, message: str) -> HTMLResponse:
    body = f'<h1>Setup did not finish</h1><p>{_e(message)}</p><p><a href="/">Start again</a></p>'
    return page("incident-app: setup did not finish", body, status=status)


def _already(created: Created) -> HTMLResponse:
    body = (
        f"<h1>Setup is finished</h1><p>This server already registered the GitHub App "
        f"<strong>{_e(created.name)}</strong> and saved its credentials; it registers no "
        "other. Restart <code>incident-app serve</code> to use them.</p>"
    )
    return page("incident-app: setup is finished", body, status=409)


def _restart(created: Created, *, saved_to: Path | None = None) -> str:
    saved = (
        f" Its credentials are saved to <code>{_e(saved_to.resolve())}</code>, readable only by "
        "you."
        if saved_to is not None
        else ""
    )
    return f"""
<h1>GitHub App created</h1>
<p>The GitHub App <strong>{_e(created.name)}</strong> is registered.{saved}</p>
<ol>
<li><a href="{_e(created.install_url)}">Install it on your repositories</a>.</li>
<li>Restart <code>incident-app serve</code> so it uses the new credentials.</li>
</ol>
"""


def status_page(
    settings: Settings,
    *,
    deliveries: int,
    last_delivery_at: datetime | None,
    last_tick_at: datetime | None,
) -> HTMLResponse:
    """GET / once configured: what this process knows, without asking GitHub."""
    name = settings.app_name or DEFAULT_NAME

    def when(moment: datetime | None) -> str:
        if moment is None:
            return "none since start"
        return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")

    tick = "POST /cron/tick" if settings.cron_secret else "off (CRON_SECRET is not set)"
    body = f"""
<h1>{_e(name)}</h1>
<p>Running, with GitHub App credentials (App ID {_e(settings.app_id)}).</p>
<dl>
<dt>Version</dt><dd>{_e(__version__)}</dd>
<dt>Installations</dt><dd>unknown here: <code>incident-app doctor</code> lists them</dd>
<dt>Webhook deliveries received</dt><dd>{deliveries} since start</dd>
<dt>Last delivery</dt><dd>{_e(when(last_delivery_at))}</dd>
<dt>Last tick</dt><dd>{_e(when(last_tick_at))} — tick endpoint: {_e(tick)}</dd>
</dl>
"""
    return page(f"{name} status", body)
