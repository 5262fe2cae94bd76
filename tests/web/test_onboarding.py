"""Setup mode: the manifest page, GitHub's redirect back, the .env it writes, the status page."""

from __future__ import annotations

import html
import json
import logging
import re
import stat
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from app.settings import Settings
from app.web.exchange import MAX_STATES
from app.web.manifest import EMBEDDED_MANIFEST
from app.web.server import create_app
from tests.conftest import CRON_SECRET, T0, Clock, Harness

pytestmark = pytest.mark.anyio

PUBLIC = "https://incidents.example.com"
CONVERSIONS = "https://api.github.com/app-manifests/the-code/conversions"
CLIENT_SECRET = "client-secret-3f9a8b7c6d"
NEW_WEBHOOK_SECRET = "webhook-secret-1e2d3c4b5a"


def unconfigured(tmp_path: Path, **values: Any) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        env_file_path=tmp_path / ".env",
        **values,
    )


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(unconfigured(tmp_path, public_url=PUBLIC)) as c:
        yield c


def _client(settings: Settings, **options: Any) -> httpx.AsyncClient:
    app = create_app(settings, **options)
    return browser(app)


def browser(app: Any) -> httpx.AsyncClient:
    """A client with a cookie jar of its own: one person's browser."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


def form_of(page: str) -> tuple[str, dict[str, Any]]:
    """The setup form's action and the manifest it posts."""
    action = re.search(r'<form method="post" action="([^"]+)">', page)
    manifest = re.search(r'<input type="hidden" name="manifest" value="([^"]+)">', page)
    assert action and manifest, page
    return html.unescape(action[1]), json.loads(html.unescape(manifest[1]))


def state_of(action: str) -> str:
    return httpx.URL(action).params["state"]


def converted(private_key: str) -> dict[str, Any]:
    """GitHub's answer to the code exchange (trimmed)."""
    return {
        "id": 98765,
        "slug": "incident-app-acme",
        "name": "incident-app (acme)",
        "html_url": "https://github.com/apps/incident-app-acme",
        "owner": {"login": "acme"},
        "client_id": "Iv1.0123456789abcdef",
        "client_secret": CLIENT_SECRET,
        "webhook_secret": NEW_WEBHOOK_SECRET,
        "pem": private_key,
    }


# --- the manifest ---------------------------------------------------------------------


async def test_the_page_posts_the_manifest_with_this_servers_urls(tmp_path: Path) -> None:
    settings = unconfigured(tmp_path, public_url=PUBLIC + "/", webhook_path="/hooks/github")
    async with _client(settings) as client:
        response = await client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    action, manifest = form_of(response.text)
    assert action == f"https://github.com/settings/apps/new?state={state_of(action)}"
    assert manifest == {
        "name": "incident-app",
        "description": EMBEDDED_MANIFEST["description"],
        "url": PUBLIC,
        "hook_attributes": {"url": f"{PUBLIC}/hooks/github", "active": True},
        "redirect_url": f"{PUBLIC}/setup/callback",
        "public": False,
        "default_events": ["issues", "issue_comment", "pull_request"],
        "default_permissions": {
            "issues": "write",
            "pull_requests": "write",
            "contents": "write",
            "metadata": "read",
        },
    }
    # It says what will be created, and works without scripts.
    assert "<script" not in response.text
    for text in ("issues, issue_comment", "pull requests: write", "metadata: read"):
        assert text in response.text
    assert f"{PUBLIC}/hooks/github" in response.text


async def test_without_a_public_url_the_requests_address_is_used(tmp_path: Path) -> None:
    async with _client(unconfigured(tmp_path)) as client:
        response = await client.get("/", headers={"host": "203.0.113.7:3000"})
    _, manifest = form_of(response.text)
    assert manifest["hook_attributes"]["url"] == "http://203.0.113.7:3000/api/github/webhooks"
    assert manifest["redirect_url"] == "http://203.0.113.7:3000/setup/callback"


async def test_an_organisation_gets_the_organisation_form(tmp_path: Path) -> None:
    async with _client(unconfigured(tmp_path, public_url=PUBLIC, gh_org="acme")) as client:
        response = await client.get("/")
    action, _ = form_of(response.text)
    assert action.startswith("https://github.com/organizations/acme/settings/apps/new?state=")
    assert "the organisation <strong>acme</strong>" in response.text


async def test_enterprise_server_posts_to_its_own_web_host(tmp_path: Path) -> None:
    settings = unconfigured(
        tmp_path, public_url=PUBLIC, github_api_url="https://ghe.example.com/api/v3/"
    )
    async with _client(settings) as client:
        response = await client.get("/")
    action, _ = form_of(response.text)
    assert action.startswith("https://ghe.example.com/settings/apps/new?state=")


async def test_every_page_load_hands_out_a_fresh_state(client: httpx.AsyncClient) -> None:
    first, _ = form_of((await client.get("/")).text)
    second, _ = form_of((await client.get("/")).text)
    assert state_of(first) != state_of(second)
    assert len(state_of(first)) >= 32


# --- the callback ---------------------------------------------------------------------


@pytest.mark.parametrize("query", ["?code=the-code", "?code=the-code&state=forged", ""])
async def test_a_missing_or_wrong_state_is_refused_and_writes_nothing(
    client: httpx.AsyncClient, tmp_path: Path, private_key: str, query: str
) -> None:
    await client.get("/")  # a state exists, just not the one given
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        exchange = router.post(CONVERSIONS).respond(201, json=converted(private_key))
        response = await client.get("/setup/callback" + query)
    assert response.status_code == 400
    assert "Start again" in response.text
    assert not exchange.called
    assert list(tmp_path.iterdir()) == []


async def test_a_state_works_once(
    client: httpx.AsyncClient, tmp_path: Path, private_key: str
) -> None:
    state = state_of(form_of((await client.get("/")).text)[0])
    callback = f"/setup/callback?code=the-code&state={state}"
    with respx.mock(assert_all_mocked=True) as router:
        exchange = router.post(CONVERSIONS).respond(404, json={"message": "Not Found"})
        assert (await client.get(callback)).status_code == 502
        exchange.return_value = httpx.Response(201, json=converted(private_key))
        again = await client.get(callback)
    assert again.status_code == 400
    assert "already used" in again.text
    assert exchange.call_count == 1
    assert not (tmp_path / ".env").exists()


async def test_the_credentials_are_merged_into_env_readable_by_the_owner_only(
    client: httpx.AsyncClient, tmp_path: Path, private_key: str, caplog: pytest.LogCaptureFixture
) -> None:
    env = tmp_path / ".env"
    env.write_text(
        "# my settings\n"
        "LOG_LEVEL=DEBUG\n"
        "APP_ID=1\n"
        'PRIVATE_KEY="-----BEGIN RSA PRIVATE KEY-----\n'
        "b2xkIGtleQ==\n"
        '-----END RSA PRIVATE KEY-----"\n'
        "export WEBHOOK_SECRET=old-secret\n"
        "CRON_SECRET=keep-me-please\n"
    )
    env.chmod(0o644)
    state = state_of(form_of((await client.get("/")).text)[0])
    caplog.set_level(logging.DEBUG)
    with respx.mock(assert_all_mocked=True) as router:
        exchange = router.post(CONVERSIONS).respond(201, json=converted(private_key))
        response = await client.get(f"/setup/callback?code=the-code&state={state}")

    assert response.status_code == 200
    request = exchange.calls.last.request
    assert "authorization" not in request.headers
    assert stat.S_IMODE(env.stat().st_mode) == 0o600
    text = env.read_text()
    lines = text.splitlines()
    assert lines[:2] == ["# my settings", "LOG_LEVEL=DEBUG"]
    assert "CRON_SECRET=keep-me-please" in lines
    assert "APP_ID=98765" in lines
    assert f'WEBHOOK_SECRET="{NEW_WEBHOOK_SECRET}"' in lines
    assert f'GITHUB_CLIENT_SECRET="{CLIENT_SECRET}"' in lines
    assert 'GITHUB_CLIENT_ID="Iv1.0123456789abcdef"' in lines
    assert "old-secret" not in text and "b2xkIGtleQ==" not in text
    (key_line,) = [line for line in lines if line.startswith("PRIVATE_KEY=")]
    assert key_line.startswith('PRIVATE_KEY="-----BEGIN PRIVATE KEY-----\\n')
    # The next start reads exactly these credentials back.
    saved = Settings(_env_file=env)  # type: ignore[call-arg]
    assert saved.has_credentials and saved.app_id == 98765
    assert saved.private_key_pem() == private_key
    assert saved.webhook_secret and saved.webhook_secret.get_secret_value() == NEW_WEBHOOK_SECRET
    assert saved.cron_secret and saved.cron_secret.get_secret_value() == "keep-me-please"
    # Nothing secret on the page or in the logs.
    key_body = private_key.splitlines()[1]
    for secret in (CLIENT_SECRET, NEW_WEBHOOK_SECRET, key_body):
        assert secret not in response.text
        assert secret not in caplog.text


async def test_the_success_page_links_to_the_installation_page(
    client: httpx.AsyncClient, private_key: str
) -> None:
    state = state_of(form_of((await client.get("/")).text)[0])
    with respx.mock(assert_all_mocked=True) as router:
        router.post(CONVERSIONS).respond(201, json=converted(private_key))
        response = await client.get(f"/setup/callback?code=the-code&state={state}")
    assert '<a href="https://github.com/apps/incident-app-acme/installations/new">' in response.text
    assert "Restart <code>incident-app serve</code>" in response.text
    assert "incident-app (acme)" in response.text
    # The front page now says the same instead of offering to create a second App.
    again = await client.get("/")
    assert "installations/new" in again.text and "<form" not in again.text


async def test_the_manifest_code_is_in_no_log_line(
    client: httpx.AsyncClient, private_key: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    state = state_of(form_of((await client.get("/")).text)[0])
    with respx.mock(assert_all_mocked=True) as router:
        router.post(CONVERSIONS).respond(201, json=converted(private_key))
        response = await client.get(f"/setup/callback?code=the-code&state={state}")
    assert response.status_code == 200
    assert "/app-manifests/[redacted]/conversions" in caplog.text  # httpx's line, without it
    # (The test's own client logs the callback URL it asked for, as a browser's history would.)
    server_side = [
        r.getMessage() for r in caplog.records if "/setup/callback?" not in r.getMessage()
    ]
    assert not [line for line in server_side if "the-code" in line]


@pytest.mark.parametrize(
    "answer",
    [httpx.Response(404, json={"message": "Not Found"}), httpx.ConnectError("down")],
    ids=["expired code", "no network"],
)
async def test_a_failed_exchange_says_so_and_writes_nothing(
    client: httpx.AsyncClient, tmp_path: Path, answer: httpx.Response | Exception
) -> None:
    state = state_of(form_of((await client.get("/")).text)[0])
    with respx.mock(assert_all_mocked=True) as router:
        route = router.post(CONVERSIONS)
        if isinstance(answer, Exception):
            route.side_effect = answer
        else:
            route.return_value = answer
        response = await client.get(f"/setup/callback?code=the-code&state={state}")
    assert response.status_code == 502
    assert "Setup did not finish" in response.text
    assert list(tmp_path.iterdir()) == []


# --- who may finish setup -------------------------------------------------------------

OUTSIDER_CONVERSIONS = "https://api.github.com/app-manifests/outsider-code/conversions"


def outsiders_app(private_key: str) -> dict[str, Any]:
    return {
        **converted(private_key),
        "id": 666,
        "slug": "not-yours",
        "html_url": "https://github.com/apps/not-yours",
        "webhook_secret": "outsider-webhook-secret",
    }


async def test_after_setup_every_callback_is_refused(tmp_path: Path, private_key: str) -> None:
    app = create_app(unconfigured(tmp_path, public_url=PUBLIC))
    async with browser(app) as owner, browser(app) as outsider:
        theirs = state_of(form_of((await outsider.get("/")).text)[0])
        mine = state_of(form_of((await owner.get("/")).text)[0])
        spare = state_of(form_of((await owner.get("/")).text)[0])
        with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
            router.post(CONVERSIONS).respond(201, json=converted(private_key))
            takeover = router.post(OUTSIDER_CONVERSIONS).respond(
                201, json=outsiders_app(private_key)
            )
            done = await owner.get(f"/setup/callback?code=the-code&state={spare}")
            assert done.status_code == 200
            env = (tmp_path / ".env").read_bytes()
            late = await outsider.get(f"/setup/callback?code=outsider-code&state={theirs}")
            again = await owner.get(f"/setup/callback?code=outsider-code&state={mine}")
        front = await owner.get("/")
    for refused in (late, again):
        assert refused.status_code == 409
        assert "already registered" in refused.text and "incident-app (acme)" in refused.text
    assert not takeover.called
    assert (tmp_path / ".env").read_bytes() == env
    assert "APP_ID=98765" in env.decode().splitlines()
    assert "https://github.com/apps/incident-app-acme/installations/new" in front.text
    assert "not-yours" not in front.text


async def test_a_state_works_only_in_the_browser_that_asked_for_it(
    tmp_path: Path, private_key: str
) -> None:
    app = create_app(unconfigured(tmp_path, public_url=PUBLIC))
    async with browser(app) as owner, browser(app) as outsider:
        await outsider.get("/")  # the outsider holds a cookie of its own, too
        state = state_of(form_of((await owner.get("/")).text)[0])
        with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
            exchange = router.post(CONVERSIONS).respond(201, json=converted(private_key))
            stolen = await outsider.get(f"/setup/callback?code=the-code&state={state}")
            assert stolen.status_code == 400
            assert "this browser" in stolen.text
            assert not exchange.called and not (tmp_path / ".env").exists()
            # The owner's own round trip is not spoilt by the attempt.
            mine = await owner.get(f"/setup/callback?code=the-code&state={state}")
    assert mine.status_code == 200
    assert exchange.call_count == 1


async def test_the_state_cookie_is_httponly_samesite_lax_and_only_for_the_callback(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/")
    (cookie,) = response.headers.get_list("set-cookie")
    attributes = {a.strip().split("=")[0].lower(): a for a in cookie.split(";")[1:]}
    assert "httponly" in attributes
    assert attributes["samesite"].strip().lower() == "samesite=lax"
    assert attributes["path"].strip() == "Path=/setup/callback"
    assert "secure" not in attributes  # this request came over http
    assert state_of(form_of(response.text)[0]) not in cookie


async def test_page_loads_by_anyone_do_not_spoil_the_owners_state(
    tmp_path: Path, private_key: str
) -> None:
    app = create_app(unconfigured(tmp_path, public_url=PUBLIC))
    async with browser(app) as owner, browser(app) as crowd:
        state = state_of(form_of((await owner.get("/")).text)[0])
        for _ in range(MAX_STATES + 44):
            await crowd.get("/")
        with respx.mock(assert_all_mocked=True) as router:
            router.post(CONVERSIONS).respond(201, json=converted(private_key))
            response = await owner.get(f"/setup/callback?code=the-code&state={state}")
    assert response.status_code == 200


async def test_a_state_expires_after_an_hour(tmp_path: Path, private_key: str) -> None:
    clock = Clock(T0)
    async with _client(unconfigured(tmp_path, public_url=PUBLIC), now=clock) as client:
        state = state_of(form_of((await client.get("/")).text)[0])
        clock.advance(minutes=61)
        with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
            exchange = router.post(CONVERSIONS).respond(201, json=converted(private_key))
            response = await client.get(f"/setup/callback?code=the-code&state={state}")
    assert response.status_code == 400
    assert "expired" in response.text
    assert not exchange.called


# --- once configured ------------------------------------------------------------------


async def test_once_configured_the_setup_routes_are_gone(harness: Harness) -> None:
    response = await harness.client.get("/setup/callback?code=x&state=y")
    assert response.status_code == 404
    assert "<form" not in (await harness.client.get("/")).text


async def test_the_status_page_shows_what_the_app_knows(harness: Harness) -> None:
    page = (await harness.client.get("/")).text
    assert "<h1>incident-app</h1>" in page
    assert "0.1.0" in page
    assert "0 since start" in page
    assert page.count("none since start") == 2

    await harness.deliver("ping", {"zen": "Design for failure.", "hook_id": 1})
    tick = await harness.client.post(
        "/cron/tick", headers={"Authorization": f"Bearer {CRON_SECRET}"}
    )
    assert tick.status_code == 200

    page = (await harness.client.get("/")).text
    when = harness.clock.now.strftime("%Y-%m-%d %H:%M:%S UTC")
    assert "1 since start" in page
    assert page.count(when) == 2
    assert "none since start" not in page
    status = (await harness.client.get("/", headers={"accept": "application/json"})).json()
    assert status["deliveries"] == 1 and status["version"] == "0.1.0"


# --- the command line -----------------------------------------------------------------


def test_serve_options_reach_the_setup_page(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import uvicorn

    from app.cli import main

    monkeypatch.chdir(tmp_path)  # no .env
    for name in ("APP_ID", "PRIVATE_KEY", "PRIVATE_KEY_PATH", "PUBLIC_URL", "GH_ORG"):
        monkeypatch.delenv(name, raising=False)
    served: list[Any] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: served.append(app))
    assert main(["serve", "--public-url", PUBLIC + "/", "--org", "acme"]) == 0
    settings = served[0].state.settings
    assert (settings.public_url, settings.gh_org) == (PUBLIC, "acme")
    assert served[0].state.setup is not None


def test_a_public_url_without_a_scheme_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from app.cli import main

    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main(["serve", "--public-url", "incidents.example.com"])
    assert exit_.value.code == 2
    assert capsys.readouterr().err == (
        "error: settings: PUBLIC_URL must start with https:// (or http://)\n"
    )
