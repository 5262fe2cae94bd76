"""Setup mode: the page that registers the App through GitHub's manifest flow, and the
redirect back that saves its credentials."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from app.logs import HIDE_MANIFEST_CODE
from app.settings import Settings
from app.web.envfile import save_env
from app.web.exchange import STATE_TTL, ExchangeFailed, States, exchange
from app.web.layout import escape, page
from app.web.manifest import (
    CALLBACK_PATH,
    DEFAULT_NAME,
    build_manifest,
    manifest_template,
    new_app_url,
    web_url,
)

log = logging.getLogger(__name__)

STATE_COOKIE = "incident_app_setup"


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
        owner = f"the organisation <strong>{escape(org)}</strong>" if org else "your GitHub account"
        permissions = ", ".join(
            f"{name.replace('_', ' ')}: {level}"
            for name, level in manifest.get("default_permissions", {}).items()
        )
        body = f"""
<h1>Set up incident-app</h1>
<p>This server has no GitHub App credentials yet. The button below takes you to GitHub to
create a GitHub App owned by {owner}. GitHub then sends you back here, and the App's
credentials are saved to <code>{escape(self.settings.env_file_path)}</code> on this server.</p>
<h2>What will be created</h2>
<dl>
<dt>Name</dt><dd>{escape(manifest["name"])} (you can change it on GitHub)</dd>
<dt>Webhook URL</dt><dd><code>{escape(manifest["hook_attributes"]["url"])}</code></dd>
<dt>Events</dt><dd>{escape(", ".join(manifest.get("default_events", [])))}</dd>
<dt>Permissions</dt><dd>{escape(permissions)}</dd>
<dt>Return address</dt><dd><code>{escape(manifest["redirect_url"])}</code></dd>
</dl>
<form method="post" action="{escape(action)}">
<input type="hidden" name="manifest" value="{escape(json.dumps(manifest))}">
<button type="submit">Create the GitHub App on GitHub</button>
</form>
<p>GitHub must be able to reach the webhook URL. If <code>{escape(public)}</code> is not this
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
        try:
            exchanged = await exchange(code, self.settings, transport=self._transport)
        except ExchangeFailed as exc:
            return _problem(exc.status, exc.message)
        if self.created is not None:  # another callback finished while this one waited
            return _already(self.created)
        return self._saved(*exchanged)

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
    body = (
        f'<h1>Setup did not finish</h1><p>{escape(message)}</p><p><a href="/">Start again</a></p>'
    )
    return page("incident-app: setup did not finish", body, status=status)


def _already(created: Created) -> HTMLResponse:
    body = (
        f"<h1>Setup is finished</h1><p>This server already registered the GitHub App "
        f"<strong>{escape(created.name)}</strong> and saved its credentials; it registers no "
        "other. Restart <code>incident-app serve</code> to use them.</p>"
    )
    return page("incident-app: setup is finished", body, status=409)


def _restart(created: Created, *, saved_to: Path | None = None) -> str:
    saved = (
        f" Its credentials are saved to <code>{escape(saved_to.resolve())}</code>, "
        "readable only by you."
        if saved_to is not None
        else ""
    )
    return f"""
<h1>GitHub App created</h1>
<p>The GitHub App <strong>{escape(created.name)}</strong> is registered.{saved}</p>
<ol>
<li><a href="{escape(created.install_url)}">Install it on your repositories</a>.</li>
<li>Restart <code>incident-app serve</code> so it uses the new credentials.</li>
</ol>
"""
