"""The test suite's GitHub double (tests/conftest.py) served over HTTP in a process of its own,
with injected latency and an issue-search index that lags.

    python -m benchmarks.scale.github --port 8001 --repos 1000 --incidents 5 --latency 0.1

Seeds one installation of `--repos` repositories of `acme` (the roster in `acme/.github`)
and `--incidents` P0 incidents in the last repositories, labelled so that their 15-minute
response deadlines fall `--first` seconds after start and `--spacing` apart. Real time:
every timestamp is the wall clock. `GET /_bench` answers what the double saw (requests, the
app's comments with the moment each was posted) for the driver (benchmarks/scale/run.py).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import respx  # noqa: E402
import uvicorn  # noqa: E402

from app.core import markers  # noqa: E402
from tests.conftest import APP_BOT, GitHubDouble, iso  # noqa: E402

OWNER = "acme"
INSTALLATION = 1
ROSTER = """\
roster:
  release_manager.rohan-patel: rohan
  architect.morgan-lee: morgan
  team_lead.casey-brooks: casey
"""


class WallClock:
    """The double's clock: the wall clock (the app's is GitHub's time, the same)."""

    @property
    def now(self) -> datetime:
        return datetime.now(UTC)


class Served:
    """The double as a bare ASGI app: latency, the index lag, and the driver's view."""

    def __init__(self, double: GitHubDouble, *, latency: float, lag: float) -> None:
        self.double = double
        self.latency = latency
        self.lag = lag
        self.posted: list[dict[str, Any]] = []  # the app's comments: number, body, at
        self.deadlines: dict[str, float] = {}  # repository → its incident's deadline (epoch)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = [(k.decode(), v.decode()) for k, v in scope["headers"]]
        query = scope.get("query_string", b"").decode()
        url = f"http://github.test{scope['path']}" + (f"?{query}" if query else "")
        request = httpx.Request(scope["method"], url, headers=headers, content=body)
        if scope["path"] == "/_bench":
            response = self._report()
        else:
            await asyncio.sleep(self.latency)
            response = self._answer(request)
        await send(
            {
                "type": "http.response.start",
                "status": response.status_code,
                "headers": [
                    (k.encode(), v.encode())
                    for k, v in response.headers.items()
                    if k.lower() not in ("content-length", "content-encoding", "transfer-encoding")
                ]
                + [(b"content-length", str(len(response.content)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": response.content})

    def _answer(self, request: httpx.Request) -> httpx.Response:
        double = self.double
        if request.url.path == "/search/issues":
            # The index lags: an issue changed less than `lag` seconds ago is not found yet.
            cutoff = datetime.now(UTC) - timedelta(seconds=self.lag)
            double.unindexed = {
                key
                for key, issue in double.issues.items()
                if issue.timeline and issue.timeline[-1]["created_at"] > iso(cutoff)
            }
        before = {key: len(i.comments) for key, i in double.issues.items()}
        response = double._handle(request)
        for key, issue in double.issues.items():
            for item in issue.comments[before.get(key, 0) :]:
                if item["user"] == APP_BOT:
                    self.posted.append(
                        {"repo": key[0], "number": key[1], "body": item["body"], "at": time.time()}
                    )
        response.headers["date"] = datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")
        response.headers["x-ratelimit-remaining"] = "4000"  # not the suite's countdown
        return response

    def _report(self) -> httpx.Response:
        requests = [[m, p] for m, p, _ in self.double.requests]
        return httpx.Response(
            200, json={"requests": requests, "posted": self.posted, "deadlines": self.deadlines}
        )


def seed(
    double: GitHubDouble,
    *,
    repos: int,
    incidents: int,
    first: float,
    spacing: float,
    declared: bool = False,
) -> dict[str, float]:
    """The repositories and incidents (with `declared`, briefed by the app already: the
    start-up sweep writes nothing); each incident's repository → its deadline."""
    names = [f"{OWNER}/repo-{i:05d}" for i in range(repos)]
    double.repos = {INSTALLATION: names}
    double.installations = [INSTALLATION]
    double.files[(f"{OWNER}/.github", ".github/incident.yml")] = ROSTER
    now = datetime.now(UTC)
    deadlines: dict[str, float] = {}
    for n in range(incidents):
        labelled = now - timedelta(minutes=15) + timedelta(seconds=first + n * spacing)
        double.add_issue(
            1,
            labels=("incident", "sev:P0"),
            repo=names[-1 - n],
            created_at=labelled,
            title=f"Outage {n}",
        )
        if declared:
            issue = double.issue(1, repo=names[-1 - n])
            double.label(1, "status:investigating", at=labelled, repo=issue.repo, ours=True)
            issue.assignees = ["rohan", "morgan", "casey"]
            brief = markers.render(markers.Brief("P0", checklist="P0"))
            double.comment(1, f"Declared.\n{brief}", at=labelled, repo=issue.repo, ours=True)
        deadlines[names[-1 - n]] = (labelled + timedelta(minutes=15)).timestamp()
    return deadlines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--repos", type=int, default=100)
    parser.add_argument("--incidents", type=int, default=5)
    parser.add_argument("--latency", type=float, default=0.1, help="seconds per request")
    parser.add_argument("--lag", type=float, default=30.0, help="search index lag, seconds")
    parser.add_argument("--first", type=float, default=40.0, help="first deadline, s after start")
    parser.add_argument("--spacing", type=float, default=5.0, help="between deadlines, s")
    parser.add_argument("--declared", action="store_true", help="incidents briefed already")
    args = parser.parse_args(argv)
    double = GitHubDouble(respx.MockRouter(), WallClock(), api="http://github.test")  # type: ignore[arg-type]
    app = Served(double, latency=args.latency, lag=args.lag)
    app.deadlines = seed(
        double,
        repos=args.repos,
        incidents=args.incidents,
        first=args.first,
        spacing=args.spacing,
        declared=args.declared,
    )
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", lifespan="off")


if __name__ == "__main__":
    main()
