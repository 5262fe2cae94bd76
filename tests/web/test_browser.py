"""Setup mode in a real browser: headless Chromium, the real server, a local stand-in for GitHub.

The browser runs with JavaScript off, so this also shows the page works without it.
"""

from __future__ import annotations

import contextlib
import json
import socket
import stat
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

import uvicorn
from playwright.sync_api import expect, sync_playwright
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from app.settings import Settings
from app.web.server import create_app

# Debian's chromium (apt-get install chromium; .ci/run installs it), driven without a download.
CHROMIUM = Path("/usr/bin/chromium")

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
FAKE_PEM = "-----BEGIN RSA PRIVATE KEY-----\nZmFrZSBrZXk=\n-----END RSA PRIVATE KEY-----\n"
TIMEOUT_MS = 15_000


@contextlib.contextmanager
def serving(app: Any, sock: socket.socket) -> Iterator[None]:
    """Run an ASGI app with uvicorn on a bound loopback socket, in a thread; stop it after."""
    config = uvicorn.Config(
        app,
        log_config=None,
        access_log=False,
        ws="none",
        lifespan="on",
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:  # bounded wait for the server to come up
            assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
            time.sleep(0.02)
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        assert not thread.is_alive(), "server did not stop"


def loopback_socket() -> tuple[socket.socket, str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock, f"http://127.0.0.1:{sock.getsockname()[1]}"


@dataclass
class GitHubStandIn:
    """GitHub's "new app" form target and the code exchange, as the manifest flow uses them."""

    url: str
    app_url: str = ""
    manifests: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    exchanged: list[str] = field(default_factory=list)

    def asgi(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/settings/apps/new", self.new_app, methods=["POST"]),
                Route(
                    "/api/v3/app-manifests/{code}/conversions", self.conversions, methods=["POST"]
                ),
            ]
        )

    async def new_app(self, request: Request) -> Response:
        form = parse_qs((await request.body()).decode())
        state = request.query_params.get("state", "")
        manifest = json.loads(form["manifest"][0])
        self.manifests.append(manifest)
        expected = {
            "hook url": (manifest["hook_attributes"]["url"], f"{self.app_url}/api/github/webhooks"),
            "redirect url": (manifest["redirect_url"], f"{self.app_url}/setup/callback"),
            "events": (manifest["default_events"], ["issues", "issue_comment", "pull_request"]),
            "permissions": (
                manifest["default_permissions"],
                {
                    "issues": "write",
                    "pull_requests": "write",
                    "contents": "write",
                    "metadata": "read",
                },
            ),
            "state given": (len(state) >= 32, True),
        }
        self.problems += [f"{k}: {got!r}" for k, (got, want) in expected.items() if got != want]
        if self.problems:
            return PlainTextResponse("bad manifest: " + "; ".join(self.problems), 400)
        query = urlencode({"code": "abc", "state": state})
        return RedirectResponse(f"{manifest['redirect_url']}?{query}", status_code=302)

    async def conversions(self, request: Request) -> Response:
        code = request.path_params["code"]
        self.exchanged.append(code)
        if code != "abc":
            return JSONResponse({"message": "Not Found"}, status_code=404)
        return JSONResponse(
            {
                "id": 31337,
                "slug": "incident-app-test",
                "name": "incident-app-test",
                "html_url": f"{self.url}/apps/incident-app-test",
                "client_id": "Iv1.testclient",
                "client_secret": "browser-client-secret",
                "webhook_secret": "browser-webhook-secret",
                "pem": FAKE_PEM,
            },
            status_code=201,
        )


def test_setup_in_a_real_browser(tmp_path: Path) -> None:
    gh_sock, gh_url = loopback_socket()
    app_sock, app_url = loopback_socket()
    github = GitHubStandIn(gh_url, app_url)
    env = tmp_path / ".env"
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        public_url=app_url,
        github_api_url=f"{gh_url}/api/v3",
        env_file_path=env,
        http_timeout=5,
    )
    ARTIFACTS.mkdir(exist_ok=True)
    with (
        serving(github.asgi(), gh_sock),
        serving(create_app(settings), app_sock),
        sync_playwright() as pw,
    ):
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, timeout=TIMEOUT_MS)
        try:
            context = browser.new_context(java_script_enabled=False)
            page = context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            page.set_default_navigation_timeout(TIMEOUT_MS)

            page.goto(app_url + "/")
            expect(page).to_have_title("Set up incident-app")
            expect(page.get_by_role("heading", level=1)).to_have_text("Set up incident-app")
            submit = page.get_by_role("button", name="Create the GitHub App on GitHub")
            expect(submit).to_be_visible()
            expect(submit).to_be_enabled()
            assert page.locator("html").get_attribute("lang") == "en"
            page.screenshot(path=str(ARTIFACTS / "setup-page.png"), full_page=True)

            submit.click()
            page.wait_for_url(f"{app_url}/setup/callback?**")
            assert github.problems == []
            expect(page.get_by_role("heading", level=1)).to_have_text("GitHub App created")
            install = page.get_by_role("link", name="Install it on your repositories")
            expect(install).to_have_attribute(
                "href", f"{gh_url}/apps/incident-app-test/installations/new"
            )
            text = page.locator("main").inner_text()
            assert "Restart incident-app serve" in text
            for secret in ("browser-client-secret", "browser-webhook-secret", "ZmFrZSBrZXk="):
                assert secret not in page.content()
        finally:
            browser.close()

    assert len(github.manifests) == 1 and github.exchanged == ["abc"]
    assert stat.S_IMODE(env.stat().st_mode) == 0o600
    saved = Settings(_env_file=env)  # type: ignore[call-arg]
    assert saved.app_id == 31337
    assert saved.private_key_pem() == FAKE_PEM
    assert (
        saved.webhook_secret and saved.webhook_secret.get_secret_value() == "browser-webhook-secret"
    )
