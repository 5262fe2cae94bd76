"""GET /oncall/{owner}/{repo}/{token}.ics: a repository's on-call schedule as an iCalendar
feed people subscribe to (docs/user-guide/oncall.md). The token is the only credential
(calendar clients send no headers): a wrong one, an unknown repository or one without
rotations all answer the same 404, so the URL reveals nothing to a guesser."""

from __future__ import annotations

import logging
from datetime import timedelta

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from app.core.oncall import tokens, views
from app.github.errors import GitHubError
from app.web.services import Services

log = logging.getLogger(__name__)

BEHIND = timedelta(days=7)
AHEAD = timedelta(days=28)
# Calendar clients refresh every few hours whatever they are told; an hour is asked.
CACHE = "public, max-age=900"
NOT_FOUND = "no such feed"


class Feed:
    def __init__(self, services: Services, secret: str) -> None:
        self.s = services
        self._secret = secret

    async def ics(self, request: Request) -> Response:
        owner, name = request.path_params["owner"], request.path_params["repo"]
        repo = f"{owner}/{name}"
        if not tokens.valid(self._secret, repo, request.path_params["token"]):
            return PlainTextResponse(NOT_FOUND, status_code=404)
        s = self.s
        if s.installations is None:
            return PlainTextResponse("no GitHub App credentials", status_code=503)
        try:
            installation = await s.installations.find(owner, name)
            if installation is None:
                return PlainTextResponse(NOT_FOUND, status_code=404)
            gh = s.clients(installation)
            policy = (await s.reconciler.config.load(gh, owner, name)).policy
            if not policy.rotations:
                return PlainTextResponse(NOT_FOUND, status_code=404)
            now = s.now()
            record = await s.reconciler.oncall.record(gh, repo, policy, now)
        except GitHubError as exc:
            log.warning("on-call feed %s: %s", repo, exc)
            return PlainTextResponse("GitHub did not answer; try again later", status_code=503)
        turns = views.turns(policy, now - BEHIND, now + AHEAD, record, whole=True)
        return Response(
            views.ics(f"On call: {repo}", turns, now),
            media_type="text/calendar; charset=utf-8",
            headers={"Cache-Control": CACHE},
        )


def oncall_routes(services: Services) -> list[Route]:
    """The feed route, only when ONCALL_FEED_SECRET is set."""
    secret = services.settings.oncall_feed_secret
    if secret is None or not secret.get_secret_value():
        return []
    feed = Feed(services, secret.get_secret_value())
    return [Route("/oncall/{owner}/{repo}/{token}.ics", feed.ics, methods=["GET"])]
