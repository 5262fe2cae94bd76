"""GET /oncall/{owner}/{repo}/{token}.ics: the on-call feed people subscribe to, behind a
token derived per repository from ONCALL_FEED_SECRET (calendar clients send no headers)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from pydantic import SecretStr

from app.core.oncall.tokens import feed_path, feed_token
from app.notify.calendars import shifts
from app.settings import Settings
from app.web.server import create_app
from tests.conftest import REPO, SECRETS, Clock, GitHubDouble, Sleeps
from tests.e2e.test_oncall import CONFIG

pytestmark = pytest.mark.anyio

FEED_SECRET = "oncall-feed-secret-for-tests"
SECRETS.append(FEED_SECRET)


@pytest.fixture
async def client(
    settings: Settings, github: GitHubDouble, clock: Clock
) -> AsyncIterator[httpx.AsyncClient]:
    configured = settings.model_copy(update={"oncall_feed_secret": SecretStr(FEED_SECRET)})
    app = create_app(configured, now=clock, sleep=Sleeps())
    github.files[(REPO.lower(), ".github/incident.yml")] = CONFIG
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as found:
        yield found


async def test_the_feed_lists_who_is_on_call_turn_by_turn(
    client: httpx.AsyncClient, clock: Clock
) -> None:
    reply = await client.get(feed_path(FEED_SECRET, REPO))
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "text/calendar; charset=utf-8"
    read = shifts(reply.content, clock.now, clock.now + timedelta(days=2))
    assert [s.summary for s in read] == [
        "On call (primary): ken",  # until 18:00 Berlin today
        "On call (primary): ana",
        "On call (primary): ada",
    ]


@pytest.mark.parametrize(
    "path",
    [
        "/oncall/Codertocat/Hello-World/" + "0" * 32 + ".ics",  # a guess
        # another repository's token
        f"/oncall/{REPO}/{feed_token(FEED_SECRET, 'Codertocat/other')}.ics",
        feed_path("another-secret", REPO),
    ],
)
async def test_a_wrong_token_or_repository_is_a_plain_404(
    client: httpx.AsyncClient, github: GitHubDouble, path: str
) -> None:
    reply = await client.get(path)
    assert (reply.status_code, reply.text) == (404, "no such feed")
    assert github.requests == []  # the token is checked before anything is read


async def test_without_the_setting_there_is_no_feed(
    settings: Settings, github: GitHubDouble, clock: Clock
) -> None:
    app = create_app(settings, now=clock, sleep=Sleeps())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        reply = await c.get(feed_path(FEED_SECRET, REPO))
    assert reply.status_code == 404
    assert github.requests == []
