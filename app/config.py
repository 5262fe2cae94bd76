"""Finding a repository's policy on GitHub: repo, then the org's `.github`, then bundled."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from app.github import GitHubError, GitHubPort
from app.policy import (
    CONFIG_PATH,
    MAX_EXTENDS_DEPTH,
    ConfigError,
    ConfigIssue,
    Policy,
    bundled_policy,
    parse_extends,
    parse_yaml,
    policy_from_layers,
)

RAW = {"Accept": "application/vnd.github.raw+json"}


@dataclass(frozen=True)
class Resolved:
    """The policy to use, where it came from, and the problems to report on the issue."""

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
    gh: GitHubPort, owner: str, repo: str, path: str, text: str
) -> list[tuple[str, dict[str, Any]]]:
    """The file and everything it `_extends`, base first."""
    source = f"{owner}/{repo}:{path}"
    chain: list[tuple[str, dict[str, Any]]] = []
    seen: set[str] = set()
    while True:
        if source.lower() in seen:
            raise ConfigError([ConfigIssue(source, "_extends", "extends itself (a cycle)")])
        if len(seen) >= MAX_EXTENDS_DEPTH:
            raise ConfigError(
                [ConfigIssue(source, "_extends", f"more than {MAX_EXTENDS_DEPTH} levels")]
            )
        seen.add(source.lower())
        data = parse_yaml(text, source=source)
        chain.insert(0, (source, data))
        if "_extends" not in data:
            return chain
        owner, repo, path = parse_extends(data["_extends"], owner=owner, source=source)
        found = await read_file(gh, owner, repo, path)
        if found is None:
            raise ConfigError([ConfigIssue(source, "_extends", f"{owner}/{repo}:{path} not found")])
        source, text = f"{owner}/{repo}:{path}", found


class ConfigLoader:
    """Resolves and briefly caches each repository's policy; remembers the last good one."""

    def __init__(self, *, ttl: float = 60.0, clock: Callable[[], float] = time.monotonic):
        self._ttl = ttl
        self._clock = clock
        self._cache: dict[str, tuple[float, Resolved]] = {}
        self._last_good: dict[str, Resolved] = {}

    async def load(self, gh: GitHubPort, owner: str, repo: str) -> Resolved:
        key = f"{owner}/{repo}".lower()
        hit = self._cache.get(key)
        if hit and self._clock() - hit[0] < self._ttl:
            return hit[1]
        resolved = await self._resolve(gh, owner, repo, key)
        self._cache[key] = (self._clock(), resolved)
        return resolved

    async def _resolve(self, gh: GitHubPort, owner: str, repo: str, key: str) -> Resolved:
        problems: list[ConfigIssue] = []
        candidates = [(owner, repo)] + ([(owner, ".github")] if repo != ".github" else [])
        for cand_owner, cand_repo in candidates:
            try:
                text = await read_file(gh, cand_owner, cand_repo, CONFIG_PATH)
            except GitHubError as exc:
                if exc.status in (401, 403):  # no access to the org's .github: not an error
                    continue
                raise
            if text is None:
                continue
            source = f"{cand_owner}/{cand_repo}:{CONFIG_PATH}"
            try:
                layers = await _layers(gh, cand_owner, cand_repo, CONFIG_PATH, text)
                resolved = Resolved(policy_from_layers(layers), source, tuple(problems))
            except ConfigError as exc:
                problems.extend(exc.problems)
                last = self._last_good.get(key)
                if last is not None:
                    return Resolved(last.policy, last.source, tuple(problems))
                continue  # fall back to the next place in the lookup order
            if not problems:
                self._last_good[key] = resolved
            return resolved
        return Resolved(bundled_policy(), "bundled config", tuple(problems))
