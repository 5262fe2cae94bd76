"""The one GitHub double (respx, at the HTTP layer), a movable clock, and delivery helpers."""

from __future__ import annotations

import base64
import copy
import hashlib
import itertools
import json
import logging
import re
import shlex
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
import respx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from app.core import markers
from app.settings import Settings
from app.web.server import create_app
from app.web.webhooks import sign

# The SMTP server of the email notifier's tests: fixtures `certificates`, `smtp`.
pytest_plugins = ["tests.smtp"]

WEBHOOKS = Path(__file__).resolve().parent.parent / "webhooks"
APP_ID = 424242
APP_SLUG = "incident-app"
INSTALLATION_ID = 1234567
SECRET = "wh-secret-for-tests"
CRON_SECRET = "cron-secret-for-tests"
API = "https://api.github.com"
REPO = "Codertocat/Hello-World"
T0 = datetime(2019, 5, 15, 15, 20, 18, tzinfo=UTC)


def marked(bodies: list[str], kind: type[markers.Marker]) -> list[str]:
    """The bodies that carry a marker of `kind` (read through the protocol, never as text)."""
    return [b for b in bodies if any(isinstance(m, kind) for m in markers.parse(b))]


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ts(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def load(name: str) -> dict[str, Any]:
    """A recorded delivery from webhooks/."""
    data: dict[str, Any] = json.loads((WEBHOOKS / name).read_text())
    return data


def new_private_key() -> str:
    """A fresh RSA key in PEM, as GitHub hands an App."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def make_settings(private_key: str) -> Settings:
    """The app's settings in tests and benchmarks: no .env, no waiting."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        app_id=APP_ID,
        private_key=private_key,
        webhook_secret=SECRET,
        cron_secret=CRON_SECRET,
        coalesce_seconds=0,
        write_interval=0,
    )


@pytest.fixture(scope="session")
def private_key() -> str:
    pem = new_private_key()
    # Every line of the key's body is a secret the logs must never show.
    SECRETS.extend(line for line in pem.splitlines() if not line.startswith("-----"))
    return pem


# --- every log line of the whole suite, checked for secrets at the end ------------------

SECRETS: list[str] = [SECRET, CRON_SECRET, "ghs_test", "m-token-123"]


class AllLogs(logging.Handler):
    """Keeps every formatted log line (tracebacks included) of the test session."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(self.format(record))
        except Exception:  # a record that cannot be formatted is no secret
            self.lines.append(str(record.msg))

    def leaks(self) -> list[tuple[str, str]]:
        return [
            (secret[:6] + "…", line[:200])
            for line in self.lines
            for secret in SECRETS
            if secret and secret in line
        ]


ALL_LOGS = AllLogs()
logging.getLogger().addHandler(ALL_LOGS)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    leaks = ALL_LOGS.leaks()
    print(f"\nlog lines checked for secrets: {len(ALL_LOGS.lines)}, leaks: {len(leaks)}")
    if leaks:
        for secret, line in leaks[:20]:
            print(f"SECRET {secret} IN LOG LINE: {line}")
        session.exitstatus = 1


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """`main()` configures the root logger (its stderr handler outlives a test's captured
    stream): put it back after every test, whatever the order they run in."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Clock:
    """The app's `now`: tests move it instead of sleeping."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock(T0 + timedelta(minutes=1))


def user(login: str, kind: str = "User") -> dict[str, Any]:
    return {"login": login, "id": abs(hash(login)) % 10**8, "type": kind}


APP_BOT = {"login": f"{APP_SLUG}[bot]", "id": 99, "type": "Bot"}
APP_INFO = {"id": APP_ID, "slug": APP_SLUG, "name": "incident-app"}


@dataclass
class IssueState:
    repo: str
    number: int
    title: str
    labels: list[str]
    assignees: list[str]
    state: str
    created_at: datetime
    author: str
    timeline: list[dict[str, Any]] = field(default_factory=list)
    closed_at: datetime | None = None
    body: str = ""
    ours: bool = False  # opened by the app

    def json(self, api: str) -> dict[str, Any]:
        return {
            "url": f"{api}/repos/{self.repo}/issues/{self.number}",
            "repository_url": f"{api}/repos/{self.repo}",
            "html_url": f"https://github.com/{self.repo}/issues/{self.number}",
            "number": self.number,
            "title": self.title,
            "user": user(self.author),
            "labels": [{"name": n, "color": "ededed"} for n in self.labels],
            "assignees": [user(a) for a in self.assignees],
            "assignee": user(self.assignees[0]) if self.assignees else None,
            "state": self.state,
            "comments": sum(1 for t in self.timeline if t["event"] == "commented"),
            "created_at": iso(self.created_at),
            "updated_at": iso(self.created_at),
            "closed_at": iso(self.closed_at) if self.closed_at else None,
            # GitHub's: the repository's owner is OWNER; anyone else here reads as NONE.
            "author_association": (
                "OWNER" if self.author.lower() == self.repo.split("/")[0].lower() else "NONE"
            ),
            "body": self.body,
            "performed_via_github_app": APP_INFO if self.ours else None,
        }

    @property
    def comments(self) -> list[dict[str, Any]]:
        return [t for t in self.timeline if t["event"] == "commented"]


@dataclass
class Failure:
    method: str
    pattern: re.Pattern[str]
    status: int
    times: int
    apply: bool  # do the write anyway, then fail (a 502 that hid a success)
    headers: dict[str, str]
    exception: type[Exception] | None = None


class GitHubDouble:
    """A small, stateful GitHub: issues, timelines, files and permissions, behind respx.

    Every request is recorded in `requests` as (method, path, json body).
    """

    def __init__(self, router: respx.MockRouter, clock: Clock, api: str = API) -> None:
        self.api = api
        self.clock = clock
        self.requests: list[tuple[str, str, Any]] = []
        self.issues: dict[tuple[str, int], IssueState] = {}
        self.files: dict[tuple[str, str], str] = {}
        self.permissions: dict[tuple[str, str], str] = {}
        self.private: dict[str, bool] = {}
        self.failures: list[Failure] = []
        self.statuses: list[int] = []
        self.installations = [INSTALLATION_ID]
        self.refs: dict[tuple[str, str], str] = {}
        self.branch_files: dict[tuple[str, str, str], str] = {}
        self.pulls: list[dict[str, Any]] = []
        self.protected: set[str] = set()
        self.deliveries: list[dict[str, Any]] = []
        self.redelivered: list[int] = []
        self.repos: dict[int, list[str]] = {INSTALLATION_ID: [REPO]}
        self.tokens_issued = 0
        # Issue search: issues not yet in the index (it lags webhooks), the most results a
        # query may have (GitHub: 1,000; more answers incomplete), searches that fail.
        self.unindexed: set[tuple[str, int]] = set()
        self.search_cap = 1000
        # Git objects by sha, as the Git Data API stores them: blobs, trees, commits.
        self.git_objects: dict[str, dict[str, Any]] = {}
        # Repositories without a single commit: GitHub's Git Data API answers 409 there.
        self.empty: set[str] = set()
        self.token_requests: list[str] = []  # the App JWT each token request carried
        self._ids = itertools.count(1000)
        prefix = re.escape(httpx.URL(api).path.rstrip("/"))
        router.route(host=httpx.URL(api).host, path__regex=rf"^{prefix}/.*").mock(
            side_effect=self._handle
        )
        self._prefix = httpx.URL(api).path.rstrip("/")

    # --- arranging ---

    def add_issue(
        self,
        number: int = 1,
        *,
        labels: tuple[str, ...] = (),
        repo: str = REPO,
        created_at: datetime = T0,
        author: str = "Codertocat",
        state: str = "open",
        title: str = "Checkout returns 502 for every user",
    ) -> IssueState:
        issue = IssueState(repo, number, title, [], [], state, created_at, author)
        self.issues[(repo, number)] = issue
        for label in labels:
            self.label(number, label, at=created_at, by=author, repo=repo)
        return issue

    def label(
        self,
        number: int,
        name: str,
        *,
        at: datetime,
        by: str = "Codertocat",
        repo: str = REPO,
        ours: bool = False,
    ) -> None:
        issue = self.issues[(repo, number)]
        if name not in issue.labels:
            issue.labels.append(name)
        issue.timeline.append(self._event("labeled", at, by, ours, label={"name": name}))

    def unlabel(self, number: int, name: str, *, at: datetime, by: str = "Codertocat") -> None:
        issue = self.issues[(REPO, number)]
        issue.labels.remove(name)
        issue.timeline.append(self._event("unlabeled", at, by, False, label={"name": name}))

    def comment(
        self,
        number: int,
        body: str,
        *,
        at: datetime,
        by: str = "Codertocat",
        association: str = "OWNER",
        repo: str = REPO,
        ours: bool = False,
        bot: bool = False,
    ) -> dict[str, Any]:
        issue = self.issues[(repo, number)]
        cid = next(self._ids)
        item = {
            "event": "commented",
            "id": cid,
            "node_id": f"IC_{cid}",
            "url": f"{self.api}/repos/{repo}/issues/comments/{cid}",
            "html_url": f"https://github.com/{repo}/issues/{number}#issuecomment-{cid}",
            "issue_url": f"{self.api}/repos/{repo}/issues/{number}",
            "body": body,
            "user": APP_BOT if ours else user(by, "Bot" if bot else "User"),
            "actor": APP_BOT if ours else user(by, "Bot" if bot else "User"),
            "created_at": iso(at),
            "updated_at": iso(at),
            "author_association": "NONE" if ours else association,
            "performed_via_github_app": APP_INFO if ours else None,
            "reactions": {"total_count": 0, "+1": 0},
        }
        issue.timeline.append(item)
        return item

    def close(self, number: int, *, at: datetime, by: str = "Codertocat") -> None:
        issue = self.issues[(REPO, number)]
        issue.state, issue.closed_at = "closed", at
        issue.timeline.append(self._event("closed", at, by, False))

    def reopen(self, number: int, *, at: datetime, by: str = "Codertocat") -> None:
        issue = self.issues[(REPO, number)]
        issue.state, issue.closed_at = "open", None
        issue.timeline.append(self._event("reopened", at, by, False))

    def edit(self, comment: dict[str, Any], body: str, *, at: datetime) -> None:
        """A person edits their comment: GitHub keeps `created_at`, moves `updated_at`."""
        comment["body"], comment["updated_at"] = body, iso(at)

    def react(self, comment: dict[str, Any], login: str, content: str = "+1") -> None:
        """A person reacts to a comment."""
        reactors = comment.setdefault("_reactors", {}).setdefault(content, set())
        reactors.add(login)
        comment["reactions"][content] = len(reactors)

    def fail(
        self,
        method: str,
        pattern: str,
        status: int = 0,
        *,
        times: int = 1,
        apply: bool = False,
        headers: dict[str, str] | None = None,
        exception: type[Exception] | None = None,
    ) -> None:
        """Make the next `times` matching requests answer `status` (or raise `exception`)."""
        self.failures.append(
            Failure(method, re.compile(pattern), status, times, apply, headers or {}, exception)
        )

    def _event(self, kind: str, at: datetime, by: str, ours: bool, **extra: Any) -> dict[str, Any]:
        eid = next(self._ids)
        return {
            "id": eid,
            "event": kind,
            "actor": APP_BOT if ours else user(by),
            "created_at": iso(at),
            "performed_via_github_app": APP_INFO if ours else None,
            **extra,
        }

    # --- observing ---

    @property
    def writes(self) -> list[tuple[str, str, Any]]:
        return [r for r in self.requests if r[0] != "GET" and "/access_tokens" not in r[1]]

    def posted_comments(self, number: int = 1, repo: str = REPO) -> list[str]:
        return [c["body"] for c in self.issues[(repo, number)].comments if c["user"] == APP_BOT]

    def issue(self, number: int = 1, repo: str = REPO) -> IssueState:
        return self.issues[(repo, number)]

    # --- serving ---

    def _handle(self, request: httpx.Request) -> httpx.Response:
        path = unquote(request.url.path)[len(self._prefix) :]
        body = json.loads(request.content) if request.content else None
        self.requests.append((request.method, path, body))
        if path.endswith("/access_tokens"):
            self.token_requests.append(request.headers["authorization"].removeprefix("Bearer "))
        response = self._faulty(request, path, body) or self._serve(
            request.method, path, body, request
        )
        # Conditional reads, as GitHub answers them: a matching ETag gets an empty 304.
        if request.method == "GET" and response.status_code == 200:
            etag = '"' + hashlib.sha1(response.content).hexdigest() + '"'
            response.headers["etag"] = etag
            if request.headers.get("if-none-match") == etag:
                response = httpx.Response(304, headers={"etag": etag})
        self.statuses.append(response.status_code)
        if not path.startswith("/app") and "x-ratelimit-remaining" not in response.headers:
            response.headers["x-ratelimit-remaining"] = str(4999 - len(self.requests))
        return response

    def _faulty(self, request: httpx.Request, path: str, body: Any) -> httpx.Response | None:
        for failure in self.failures:
            if failure.times and failure.method == request.method and failure.pattern.search(path):
                failure.times -= 1
                if failure.apply:
                    self._serve(request.method, path, body, request)
                if failure.exception is not None:
                    raise failure.exception("injected", request=request)  # type: ignore[call-arg]
                return httpx.Response(
                    failure.status, json={"message": "injected failure"}, headers=failure.headers
                )
        return None

    def git_files(self, repo: str, branch: str) -> dict[str, str]:
        """The files of a branch written through the Git Data API, by path."""
        head = self.refs.get((repo, branch))
        if head is None:
            return {}
        tree = self.git_objects[self.git_objects[head]["tree"]]["entries"]
        return {path: self.git_objects[sha]["content"] for path, sha in tree.items()}

    def git_log(self, repo: str, branch: str) -> list[dict[str, Any]]:
        """The branch's commits, newest first."""
        found, sha = [], self.refs.get((repo, branch))
        while sha is not None and sha in self.git_objects:
            found.append(self.git_objects[sha])
            parents = self.git_objects[sha]["parents"]
            sha = parents[0] if parents else None
        return found

    def _store(self, kind: str, data: dict[str, Any]) -> str:
        raw = (
            data["content"].encode()
            if kind == "blob"
            else json.dumps(data, sort_keys=True).encode()
        )
        sha = hashlib.sha1(b"%s %d\x00" % (kind.encode(), len(raw)) + raw).hexdigest()
        self.git_objects[sha] = {"type": kind, **data}
        return sha

    def _commit_json(self, sha: str) -> dict[str, Any]:
        item = self.git_objects[sha]
        return {
            "sha": sha,
            "tree": {"sha": item["tree"]},
            "parents": [{"sha": p} for p in item["parents"]],
            "message": item["message"],
            "author": {"name": APP_SLUG, "date": item["date"]},
            "committer": {"name": "GitHub", "date": item["date"]},
        }

    def _ancestors(self, sha: str) -> set[str]:
        seen, todo = set(), [sha]
        while todo:
            current = todo.pop()
            if current in seen or current not in self.git_objects:
                continue
            seen.add(current)
            todo += self.git_objects[current].get("parents", [])
        return seen

    def _git(
        self, method: str, path: str, body: Any, request: httpx.Request
    ) -> httpx.Response | None:
        """The Git Data API: blobs, trees, commits, and updating a branch (fast-forward)."""
        m = re.fullmatch(r"/repos/([^/]+/[^/]+)/git/.*", path)
        if m is not None and m[1] in self.empty:
            return httpx.Response(409, json={"message": "Git Repository is empty."})
        m = re.fullmatch(r"/repos/([^/]+/[^/]+)/contents/(.+)", path)
        if m is not None and m[1] in self.empty and method == "PUT":
            return self._first_commit(m[1], m[2], body)
        m = re.fullmatch(r"/repos/([^/]+/[^/]+)/git/(blobs|trees|commits)(?:/([0-9a-f]+))?", path)
        if m is not None:
            kind, sha = m[2][:-1], m[3]
            if method == "POST" and sha is None:
                return self._git_create(kind, body)
            item = self.git_objects.get(sha or "")
            if method != "GET" or item is None or item["type"] != kind:
                return httpx.Response(404, json={"message": "Not Found"})
            if kind == "blob":
                if "raw" in request.headers.get("accept", ""):
                    return httpx.Response(200, text=item["content"])
                encoded = base64.b64encode(item["content"].encode()).decode()
                return httpx.Response(
                    200, json={"sha": sha, "content": encoded, "encoding": "base64"}
                )
            if kind == "tree":
                entries = [
                    {"path": p, "mode": "100644", "type": "blob", "sha": b}
                    for p, b in sorted(item["entries"].items())
                ]
                return httpx.Response(200, json={"sha": sha, "tree": entries, "truncated": False})
            return httpx.Response(200, json=self._commit_json(sha or ""))
        m = re.fullmatch(r"/repos/([^/]+/[^/]+)/git/refs/heads/(.+)", path)
        if m is not None and method == "PATCH":
            current = self.refs.get((m[1], m[2]))
            if current is None:
                return httpx.Response(422, json={"message": "Reference does not exist"})
            if not body.get("force") and current not in self._ancestors(body["sha"]):
                return httpx.Response(422, json={"message": "Update is not a fast forward"})
            self.refs[(m[1], m[2])] = body["sha"]
            return httpx.Response(
                200, json={"ref": f"refs/heads/{m[2]}", "object": {"sha": body["sha"]}}
            )
        return None

    def _first_commit(self, repo: str, path: str, body: Any) -> httpx.Response:
        """The contents API on an empty repository: its first commit, on the branch named
        (GitHub makes it the repository's first branch)."""
        blob = self._store("blob", {"content": base64.b64decode(body["content"]).decode()})
        tree = self._store("tree", {"entries": {path: blob}})
        sha = self._store(
            "commit",
            {"tree": tree, "parents": [], "message": body["message"], "date": iso(self.clock.now)},
        )
        self.refs[(repo, body["branch"])] = sha
        self.empty.discard(repo)
        return httpx.Response(201, json={"content": {"path": path}, "commit": {"sha": sha}})

    def _git_create(self, kind: str, body: Any) -> httpx.Response:
        if kind == "blob":
            sha = self._store("blob", {"content": body["content"]})
            return httpx.Response(201, json={"sha": sha})
        if kind == "tree":
            base = body.get("base_tree")
            entries = dict(self.git_objects[base]["entries"]) if base else {}
            for entry in body["tree"]:
                entries[entry["path"]] = entry.get("sha") or self._store(
                    "blob", {"content": entry["content"]}
                )
            sha = self._store("tree", {"entries": entries})
            return httpx.Response(201, json={"sha": sha})
        sha = self._store(
            "commit",
            {
                "tree": body["tree"],
                "parents": list(body["parents"]),
                "message": body["message"],
                "date": iso(self.clock.now),
            },
        )
        return httpx.Response(201, json=self._commit_json(sha))

    def _serve(self, method: str, path: str, body: Any, request: httpx.Request) -> httpx.Response:
        now = self.clock.now
        if (git := self._git(method, path, body, request)) is not None:
            return git
        if method == "POST" and (
            m := re.fullmatch(r"/app/installations/(\d+)/access_tokens", path)
        ):
            self.tokens_issued += 1
            return httpx.Response(
                # githubkit judges expiry by the wall clock, not the test's clock.
                201,
                json={
                    "token": f"ghs_test{m[1]}",
                    "expires_at": iso(datetime.now(UTC) + timedelta(hours=1)),
                },
            )
        if method == "GET" and path == "/app/hook/deliveries":
            cursor = int(request.url.params.get("cursor", 0))
            per_page = int(request.url.params.get("per_page", 30))
            chunk = self.deliveries[cursor : cursor + per_page]
            headers = {}
            if cursor + per_page < len(self.deliveries):
                nxt = request.url.copy_set_param("cursor", cursor + per_page)
                headers["link"] = f'<{nxt}>; rel="next"'
            return httpx.Response(200, json=chunk, headers=headers)
        if method == "POST" and (m := re.fullmatch(r"/app/hook/deliveries/(\d+)/attempts", path)):
            self.redelivered.append(int(m[1]))
            return httpx.Response(202, json={})
        if method == "GET" and path == "/app/installations":
            items = [
                {"id": i, "account": user((self.repos.get(i) or ["Codertocat/"])[0].split("/")[0])}
                for i in self.installations
            ]
            return self._page(items, request)
        if method == "GET" and path == "/installation/repositories":
            token = request.headers.get("authorization", "").removeprefix("token ghs_test")
            names = self.repos.get(int(token or 0), [])
            repos = [self._repo_json(n) for n in names]
            page = self._page(repos, request)
            return httpx.Response(
                page.status_code,
                headers=page.headers,
                json={"total_count": len(repos), "repositories": json.loads(page.content)},
            )
        if method == "GET" and path == "/search/issues":
            return self._search(request)
        if method == "GET" and (m := re.fullmatch(r"/repos/([^/]+/[^/]+)/issues", path)):
            wanted = set(filter(None, request.url.params.get("labels", "").split(",")))
            state = request.url.params.get("state", "open")
            found = [
                i.json(self.api)
                for (r, _), i in sorted(self.issues.items())
                if r == m[1] and (state == "all" or i.state == state) and wanted <= set(i.labels)
            ]
            return self._page(found, request)
        if method == "POST" and (m := re.fullmatch(r"/repos/([^/]+/[^/]+)/issues", path)):
            number = max([n for (r, n) in self.issues if r == m[1]] + [0]) + 1
            issue = IssueState(
                m[1],
                number,
                body["title"],
                list(body.get("labels", [])),
                list(body.get("assignees", [])),
                "open",
                now,
                APP_BOT["login"],
                body=body.get("body", ""),
                ours=True,
            )
            self.issues[(m[1], number)] = issue
            return httpx.Response(201, json=issue.json(self.api))
        if m := re.fullmatch(r"/repos/([^/]+/[^/]+)/git/ref/heads/(.+)", path):
            default = m[2] in ("main", "master")  # the recorded payloads' default is master
            sha = self.refs.get((m[1], m[2])) or ("sha-main" if default else None)
            if sha is None:
                return httpx.Response(404, json={"message": "Not Found"})
            return httpx.Response(200, json={"ref": f"refs/heads/{m[2]}", "object": {"sha": sha}})
        if method == "POST" and (m := re.fullmatch(r"/repos/([^/]+/[^/]+)/git/refs", path)):
            if m[1] in self.protected:
                return httpx.Response(
                    403, json={"message": "Resource not accessible by integration"}
                )
            name = body["ref"].removeprefix("refs/heads/")
            if (m[1], name) in self.refs:
                return httpx.Response(422, json={"message": "Reference already exists"})
            self.refs[(m[1], name)] = body["sha"]
            return httpx.Response(201, json={"ref": body["ref"], "object": {"sha": body["sha"]}})
        if (m := re.fullmatch(r"/repos/([^/]+/[^/]+)/contents/(.+)", path)) and (
            method == "PUT" or "ref" in request.url.params
        ):
            branch = body["branch"] if method == "PUT" else request.url.params["ref"]
            key = (m[1], branch, m[2])
            if method == "GET":
                if key not in self.branch_files:
                    return httpx.Response(404, json={"message": "Not Found"})
                return httpx.Response(200, json={"path": m[2], "sha": "f1"})
            if m[1] in self.protected:
                return httpx.Response(
                    403, json={"message": "Resource not accessible by integration"}
                )
            if key in self.branch_files:
                return httpx.Response(422, json={"message": "sha wasn't supplied"})
            self.branch_files[key] = base64.b64decode(body["content"]).decode()
            return httpx.Response(201, json={"content": {"path": m[2]}})
        if method == "GET" and (m := re.fullmatch(r"/repos/([^/]+/[^/]+)/pulls/(\d+)", path)):
            pull = next(
                (p for p in self.pulls if p["repo"] == m[1] and p["number"] == int(m[2])), None
            )
            if pull is None:
                return httpx.Response(404, json={"message": "Not Found"})
            return httpx.Response(200, json={k: v for k, v in pull.items() if k != "repo"})
        if m := re.fullmatch(r"/repos/([^/]+/[^/]+)/pulls", path):
            if method == "GET":
                head = request.url.params.get("head", "")
                found = [
                    p
                    for p in self.pulls
                    if p["repo"] == m[1] and f"{m[1].split('/')[0]}:{p['head']}" == head
                ]
                return httpx.Response(200, json=[{"number": p["number"]} for p in found])
            number = max([n for (r, n) in self.issues if r == m[1]] + [0]) + 1
            self.issues[(m[1], number)] = IssueState(
                m[1],
                number,
                body["title"],
                [],
                [],
                "open",
                now,
                APP_BOT["login"],
                body=body["body"],
            )
            self.pulls.append({"repo": m[1], "number": number, **body})
            return httpx.Response(201, json={"number": number, **body})
        if m := re.fullmatch(r"/repos/([^/]+/[^/]+)/contents/(.+)", path):
            text = self.files.get((m[1].lower(), m[2]))
            if text is None:
                return httpx.Response(404, json={"message": "Not Found"})
            return httpx.Response(200, text=text, headers={"content-type": "text/plain"})
        if m := re.fullmatch(r"/repos/([^/]+/[^/]+)/collaborators/([^/]+)/permission", path):
            perm = self.permissions.get((m[1].lower(), m[2].lower()))
            if perm is None and m[1].split("/")[0].lower() == m[2].lower():
                perm = "admin"  # a user's own repository: GitHub answers admin for its owner
            if perm is None:
                return httpx.Response(404, json={"message": "Not Found"})
            return httpx.Response(200, json={"permission": perm, "user": user(m[2])})
        if method == "GET" and (m := re.fullmatch(r"/repos/([^/]+/[^/]+)/installation", path)):
            found = [i for i, names in self.repos.items() if m[1].lower() in map(str.lower, names)]
            if not found:
                return httpx.Response(404, json={"message": "Not Found"})
            return httpx.Response(200, json={"id": found[0], "app_id": APP_ID})
        if m := re.fullmatch(r"/repos/([^/]+)/([^/]+)", path):
            return httpx.Response(200, json=self._repo_json(f"{m[1]}/{m[2]}"))
        if m := re.fullmatch(r"/repos/([^/]+/[^/]+)/issues/comments/(\d+)/reactions", path):
            item = self._find_comment(int(m[2]))
            if item is None:
                return httpx.Response(404, json={"message": "Not Found"})
            if method == "GET":
                wanted = request.url.params.get("content")
                found = [
                    {
                        "id": i,
                        "content": content,
                        "user": APP_BOT if login == APP_SLUG else user(login),
                    }
                    for content, logins in item.get("_reactors", {}).items()
                    if wanted in (None, content)
                    for i, login in enumerate(sorted(logins))
                ]
                return self._page(found, request)
            content = body["content"]
            reactors = item.setdefault("_reactors", {}).setdefault(content, set())
            status = 200 if APP_SLUG in reactors else 201
            reactors.add(APP_SLUG)
            item["reactions"][content] = len(reactors)
            return httpx.Response(status, json={"id": 1, "content": content})
        m = re.fullmatch(r"/repos/([^/]+/[^/]+)/issues/comments/(\d+)", path)
        if m and method == "PATCH":
            item = self._find_comment(int(m[2]))
            if item is None:
                return httpx.Response(404, json={"message": "Not Found"})
            item["body"], item["updated_at"] = body["body"], iso(now)
            return httpx.Response(200, json={k: v for k, v in item.items() if k != "event"})
        if m and method == "DELETE":
            for issue in self.issues.values():
                issue.timeline = [
                    t
                    for t in issue.timeline
                    if t.get("id") != int(m[2]) or t["event"] != "commented"
                ]
            return httpx.Response(204)
        if method == "GET" and (m := re.fullmatch(r"/repos/([^/]+/[^/]+)/issues/events", path)):
            # The repository's issue events, newest first, each with its issue (as GitHub's
            # "List issue events for a repository" answers).
            found = sorted(
                (
                    {**t, "issue": i.json(self.api)}
                    for (r, _), i in self.issues.items()
                    if r == m[1]
                    for t in i.timeline
                    if t["event"] != "commented"
                ),
                key=lambda t: (t["created_at"], t["id"]),
                reverse=True,
            )
            return self._page(found, request)
        m = re.fullmatch(r"/repos/([^/]+/[^/]+)/issues/(\d+)(/.*)?", path)
        if m is None or (m[1], int(m[2])) not in self.issues:
            return httpx.Response(404, json={"message": "Not Found"})
        issue, rest = self.issues[(m[1], int(m[2]))], m[3] or ""
        if method == "GET" and rest == "":
            return httpx.Response(200, json=issue.json(self.api))
        if method == "GET" and rest == "/comments":
            return self._page(
                [{k: v for k, v in c.items() if k != "event"} for c in issue.comments], request
            )
        if method == "GET" and rest == "/timeline":
            return self._page(issue.timeline, request)
        if method == "POST" and rest == "/labels":
            for name in body["labels"]:
                if name not in issue.labels:
                    self.label(issue.number, name, at=now, repo=issue.repo, ours=True)
            return httpx.Response(200, json=[{"name": n} for n in issue.labels])
        if method == "DELETE" and rest.startswith("/labels/"):
            name = rest[len("/labels/") :]
            if name not in issue.labels:
                return httpx.Response(404, json={"message": "Label does not exist"})
            issue.labels.remove(name)
            issue.timeline.append(self._event("unlabeled", now, "", True, label={"name": name}))
            return httpx.Response(200, json=[{"name": n} for n in issue.labels])
        if rest == "/assignees":
            for login in body["assignees"]:
                if method == "POST" and login not in issue.assignees:
                    issue.assignees.append(login)
                    issue.timeline.append(
                        self._event("assigned", now, "", True, assignee=user(login))
                    )
                if method == "DELETE" and login in issue.assignees:
                    issue.assignees.remove(login)
            return httpx.Response(201, json=issue.json(self.api))
        if method == "POST" and rest == "/comments":
            item = self.comment(issue.number, body["body"], at=now, repo=issue.repo, ours=True)
            out = {k: v for k, v in item.items() if k != "event"}
            return httpx.Response(201, json=out)
        if method == "PATCH" and rest == "":
            if body.get("state") and body["state"] != issue.state:
                issue.state = body["state"]
                issue.closed_at = now if issue.state == "closed" else None
                kind = "closed" if issue.state == "closed" else "reopened"
                issue.timeline.append(self._event(kind, now, "", True))
            return httpx.Response(200, json=issue.json(self.api))
        return httpx.Response(404, json={"message": f"double does not serve {method} {path}"})

    def _search(self, request: httpx.Request) -> httpx.Response:
        """`GET /search/issues` as GitHub answers it: `total_count`, `incomplete_results` and
        a page of `items` (issues with a `score`), for the qualifiers the app sends."""
        terms = shlex.split(request.url.params.get("q", ""))
        # An installation's token finds only what the installation may see.
        token = request.headers.get("authorization", "").removeprefix("token ghs_test")
        visible = {n.lower() for n in self.repos.get(int(token or 0), [])}
        found = [
            issue.json(self.api) | {"score": 1.0}
            for key, issue in sorted(self.issues.items())
            if key not in self.unindexed
            and issue.repo.lower() in visible
            and all(self._matches(issue, t) for t in terms)
        ]
        per_page = int(request.url.params.get("per_page", 30))
        page = int(request.url.params.get("page", 1))
        served = found[: self.search_cap]
        return httpx.Response(
            200,
            json={
                "total_count": len(found),
                "incomplete_results": False,
                "items": served[(page - 1) * per_page : page * per_page],
            },
        )

    @staticmethod
    def _matches(issue: IssueState, term: str) -> bool:
        name, _, value = term.partition(":")
        updated = max([issue.created_at, *(_ts(t["created_at"]) for t in issue.timeline)])
        checks: dict[str, Callable[[], bool]] = {
            "is": lambda: value == "issue" or issue.state == value,
            "label": lambda: value in issue.labels,
            "user": lambda: issue.repo.split("/")[0].lower() == value.lower(),
            "org": lambda: issue.repo.split("/")[0].lower() == value.lower(),
            "repo": lambda: issue.repo.lower() == value.lower(),
            "updated": lambda: updated >= _ts(value.removeprefix(">=")),
        }
        check = checks.get(name)
        assert check is not None, f"the double does not search by {term!r}"
        return check()

    def _repo_json(self, full: str) -> dict[str, Any]:
        owner, name = full.split("/")
        open_issues = sum(1 for (r, _), i in self.issues.items() if r == full and i.state == "open")
        return {
            "name": name,
            "full_name": full,
            "owner": user(owner),
            "has_issues": True,
            "private": self.private.get(full, False),
            "default_branch": "main",
            "open_issues_count": open_issues,
        }

    def _page(self, items: list[dict[str, Any]], request: httpx.Request) -> httpx.Response:
        per_page = int(request.url.params.get("per_page", 30))
        page = int(request.url.params.get("page", 1))
        chunk = items[(page - 1) * per_page : page * per_page]
        headers = {}
        if page * per_page < len(items):
            headers["link"] = f'<{request.url.copy_set_param("page", page + 1)}>; rel="next"'
        clean = [{k: v for k, v in x.items() if not k.startswith("_")} for x in chunk]
        return httpx.Response(200, json=clean, headers=headers)

    def _find_comment(self, cid: int) -> dict[str, Any] | None:
        for issue in self.issues.values():
            for item in issue.comments:
                if item["id"] == cid:
                    return item
        return None


@pytest.fixture
def github(clock: Clock) -> Iterator[GitHubDouble]:
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        yield GitHubDouble(router, clock)


@pytest.fixture
def settings(private_key: str) -> Settings:
    return make_settings(private_key)


class Sleeps:
    """The app's sleep: records how long it would have waited, and returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@dataclass
class Harness:
    """The ASGI app with its GitHub double: deliver webhooks and drain the work they queue."""

    app: Any
    client: httpx.AsyncClient
    github: GitHubDouble
    clock: Clock
    sleeps: Sleeps = field(default_factory=Sleeps)

    async def deliver(
        self,
        event: str,
        payload: dict[str, Any],
        *,
        delivery: str = "d-1",
        drain: bool = True,
        secret: str = SECRET,
    ) -> httpx.Response:
        body = json.dumps(payload).encode()
        response = await self.client.post(
            "/api/github/webhooks",
            content=body,
            headers={
                "X-GitHub-Event": event,
                "X-GitHub-Delivery": delivery,
                "X-Hub-Signature-256": sign(secret.encode(), body),
                "Content-Type": "application/json",
            },
        )
        if drain:
            await self.drain()
        return response

    async def drain(self) -> None:
        await self.app.state.queue.drain()


@pytest.fixture
async def harness(settings: Settings, github: GitHubDouble, clock: Clock) -> AsyncIterator[Harness]:
    sleeps = Sleeps()
    app = create_app(settings, now=clock, sleep=sleeps)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield Harness(app, client, github, clock, sleeps)


def delivery_for(
    github: GitHubDouble,
    name: str,
    *,
    number: int = 1,
    action: str | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """A recorded delivery whose issue matches the double's issue as it is now."""
    payload = copy.deepcopy(load(name))
    issue = github.issue(number)
    payload["issue"].update(issue.json(github.api))
    payload["issue"].update(overrides)
    if action:
        payload["action"] = action
    payload["installation"] = {"id": INSTALLATION_ID}
    return payload


def comment_payload(
    harness: Harness, item: dict[str, Any], action: str = "created", number: int = 1
) -> dict[str, Any]:
    """The `issue_comment` delivery GitHub sends for a comment the double holds."""
    payload = copy.deepcopy(load("issue_comment.created.json"))
    payload["action"] = action
    payload["issue"] = harness.github.issue(number).json(harness.github.api)
    payload["comment"] = {
        k: v for k, v in item.items() if k not in ("event", "actor") and not k.startswith("_")
    }
    payload["installation"] = {"id": INSTALLATION_ID}
    return payload


MakePayload = Callable[..., dict[str, Any]]
