"""Finding a repository's policy on GitHub: repo, then the org's `.github`, then bundled."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import quote

from app.core import notify
from app.core.policy import (
    BUNDLED,
    CONFIG_PATH,
    MAX_EXTENDS_DEPTH,
    ConfigError,
    ConfigIssue,
    Layer,
    Policy,
    bundled,
    parse_extends,
    parse_yaml,
    policy_from_layers,
    public_problems,
    validate,
)
from app.core.policy import check_text as check_over
from app.github.cache import SingleFlight
from app.github.errors import GitHubError
from app.github.port import GitHubPort

RAW = {"Accept": "application/vnd.github.raw+json"}


def bundled_text() -> str:
    """The bundled default policy's YAML: config/ in a checkout, app.bundled once installed."""
    checkout = Path(__file__).resolve().parents[2] / "config" / "incident.yml"
    if checkout.is_file():
        return checkout.read_text(encoding="utf-8")
    return (files("app.bundled") / "incident.yml").read_text(encoding="utf-8")


@cache
def bundled_data() -> dict[str, Any]:
    """The bundled default, read and parsed once per process (callers merge over it, never
    mutate it)."""
    return bundled(bundled_text())


@cache
def bundled_policy() -> Policy:
    """The bundled default policy (the runbook's numbers); policies are frozen models."""
    return validate(bundled_data(), source=BUNDLED)


def check_text(text: str, *, source: str, repo: str | None = None) -> Policy:
    """Validate one config file on its own over the bundled default (`_extends` is checked, not
    followed; with `repo`, "owner/name", also whether it names a repository it may)."""
    return check_over(text, source=source, base=bundled_data(), repo=repo)


@dataclass(frozen=True)
class Resolved:
    """The policy to use, where it came from, and the problems to report on the issue: this
    repository's in full, other files' only counted (`public_problems`)."""

    policy: Policy
    source: str
    problems: tuple[ConfigIssue, ...] = ()


async def read_file(gh: GitHubPort, owner: str, repo: str, path: str) -> str | None:
    """A file's text from the default branch, or None when there is none."""
    reply = await gh.request(
        "GET",
        f"/repos/{owner}/{repo}/contents/{quote(path)}",
        headers=RAW,
        ok=(404,),
    )
    if reply.status == 404:
        return None
    if isinstance(reply.data, str):
        return reply.data
    if isinstance(reply.data, dict) and reply.data.get("encoding") == "base64":
        import base64

        return base64.b64decode(reply.data.get("content", "")).decode("utf-8", "replace")
    return None


async def _layers(
    gh: GitHubPort, *, owner: str, repo: str, at: tuple[str, str], text: str
) -> list[Layer]:
    """The config file `at` (repository, path) and everything it `_extends`, base first.

    `owner/repo` is the repository the incident is in: `_extends` may name only it and
    `owner/.github`. A file outside it is foreign, and so is every file a foreign one leads
    to: their problems are marked foreign (an issue shows only their count) and all go under
    the name of the first foreign file, a name this repository's file or the lookup order
    chose. Parsing runs in a thread, so a large file does not hold up the event loop.
    """
    home = repo.lower()
    here, path = at
    foreign = here.lower() != home
    source = f"{owner}/{here}:{path}"
    seen: set[str] = set()
    chain: list[Layer] = []
    while True:
        seen.add(f"{here}:{path}".lower())
        try:
            data = await asyncio.to_thread(parse_yaml, text, source=source)
        except ConfigError as exc:
            raise ConfigError([replace(p, foreign=foreign) for p in exc.problems]) from None
        chain.insert(0, Layer(source, data, foreign))
        if "_extends" not in data:
            return chain
        _, here, path = parse_extends(data["_extends"], owner=owner, repo=repo, source=source)
        target = f"{owner}/{here}:{path}"
        if f"{here}:{path}".lower() in seen:
            raise _extends_problem(source, "extends a file already in its chain (a cycle)")
        if len(seen) >= MAX_EXTENDS_DEPTH:
            raise _extends_problem(source, f"more than {MAX_EXTENDS_DEPTH} levels")
        try:
            found = await read_file(gh, owner, here, path)
        except GitHubError as exc:
            if exc.status not in (401, 403):
                raise
            found = None
        if found is None:
            missing = "names a file that does not exist" if foreign else f"{target} does not exist"
            raise _extends_problem(source, missing)
        if not foreign:  # the name came from this repository's own file
            source = target
        foreign = foreign or here.lower() != home
        text = found


def _extends_problem(source: str, message: str) -> ConfigError:
    return ConfigError([ConfigIssue(source, "_extends", message)])


class ConfigLoader:
    """Resolves and briefly caches each repository's policy; remembers the last good one."""

    def __init__(
        self,
        *,
        ttl: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        notifiers: frozenset[str] = frozenset(),
    ):
        self._ttl = ttl
        self._notifiers = notifiers  # the operator's (NOTIFIERS_FILE): `notify:` names these
        self._clock = clock
        self._cache: dict[str, tuple[float, Resolved]] = {}
        self._flights = SingleFlight()
        self._last_good: dict[str, Resolved] = {}

    async def load(self, gh: GitHubPort, owner: str, repo: str) -> Resolved:
        key = f"{owner}/{repo}".lower()
        hit = self._cache.get(key)
        if hit and self._clock() - hit[0] < self._ttl:
            return hit[1]
        return await self._flights.run(key, lambda: self._load(gh, owner, repo, key))

    async def _load(self, gh: GitHubPort, owner: str, repo: str, key: str) -> Resolved:
        resolved = await self._resolve(gh, owner, repo, key)
        if resolved.policy.notify:
            own = resolved.source.lower().startswith(f"{key}:")
            policy, unknown = notify.checked(
                resolved.policy, self._notifiers, resolved.source, foreign=not own
            )
            if unknown:
                problems = public_problems([*resolved.problems, *unknown])
                resolved = Resolved(policy, resolved.source, problems)
        self._cache[key] = (self._clock(), resolved)
        return resolved

    async def _resolve(self, gh: GitHubPort, owner: str, repo: str, key: str) -> Resolved:
        problems: list[ConfigIssue] = []
        candidates = [repo] + ([".github"] if repo.lower() != ".github" else [])
        for candidate in candidates:
            try:
                text = await read_file(gh, owner, candidate, CONFIG_PATH)
            except GitHubError as exc:
                if exc.status in (401, 403):  # no access to the org's .github: not an error
                    continue
                raise
            if text is None:
                continue
            source = f"{owner}/{candidate}:{CONFIG_PATH}"
            try:
                layers = await _layers(
                    gh, owner=owner, repo=repo, at=(candidate, CONFIG_PATH), text=text
                )
                policy = policy_from_layers(layers, base=bundled_data())
            except ConfigError as exc:
                problems.extend(exc.problems)
                last = self._last_good.get(key)
                if last is not None:
                    return Resolved(last.policy, last.source, public_problems(problems))
                continue  # fall back to the next place in the lookup order
            resolved = Resolved(policy, source, public_problems(problems))
            if not problems:
                self._last_good[key] = resolved
            return resolved
        return Resolved(bundled_policy(), BUNDLED, public_problems(problems))
