"""Config layers: merging an `_extends` chain over the bundled default, naming the file each
problem comes from, and where `_extends` may point."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.core.policy.fields import Loc, path_problem
from app.core.policy.models import Policy
from app.core.policy.problems import ConfigError, ConfigIssue, _Invalid, _model, _where
from app.core.policy.yaml_guard import parse_yaml

CONFIG_PATH = ".github/incident.yml"
MAX_EXTENDS_DEPTH = 5
BUNDLED = "bundled config"  # the name the bundled default's problems go under
EXTENDS_RULE = (
    "may name only this repository or the organisation's .github repository (same owner), "
    "e.g. .github or .github:incident/base.yml"
)
_OWNER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}$")
_REPO_RE = re.compile(r"^[A-Za-z0-9._-]{1,100}$")


@dataclass(frozen=True)
class Layer:
    """One file of an `_extends` chain: its data, the name its problems are reported under,
    and whether it lies outside the repository the incident is in."""

    source: str
    data: dict[str, Any]
    foreign: bool = False


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Merge mappings recursively; everything else in `override` replaces `base`."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _givers(loc: Loc, layers: Sequence[Layer], merged: dict[str, Any]) -> list[Layer]:
    """The layers whose data makes up the merged value at `loc`, the top one first."""
    # Only mappings merge; the first list or scalar on the way is one layer's, whole.
    path: list[str | int] = []
    node: Any = merged
    for key in loc:
        if not isinstance(node, dict) or key not in node:
            break
        path.append(key)
        node = node[key]
    givers: list[Layer] = []
    for layer in reversed(layers):
        value: Any = layer.data
        state = "has"
        for key in path:
            if not isinstance(value, dict):
                state = "replaced"  # a scalar above `loc`, replaced by a mapping from above
                break
            if key not in value:
                state = "absent"
                break
            value = value[key]
        if state == "absent":
            continue
        if state == "replaced" or (givers and not isinstance(value, dict)):
            break
        givers.append(layer)
        if not isinstance(value, dict):
            break
    return givers


def _attributed(
    loc: Loc, message: str, layers: Sequence[Layer], merged: dict[str, Any]
) -> ConfigIssue:
    """A problem of the merged data, reported under the file its location's value comes from;
    foreign when any file outside the repository gave part of that value."""
    givers = _givers(loc, layers, merged)
    foreign = [layer for layer in givers if layer.foreign]
    shown = foreign[0] if foreign else givers[0] if givers else layers[-1] if layers else None
    source = shown.source if shown else BUNDLED
    return ConfigIssue(source, _where(loc), message, foreign=bool(foreign))


def bundled(text: str) -> dict[str, Any]:
    """The bundled default's data from its YAML text; the edge reads the file, once
    (`app.github.config.bundled_data`), and passes the data in as `base`."""
    return parse_yaml(text, source=BUNDLED)


def policy_from_layers(layers: Sequence[Layer], *, base: dict[str, Any]) -> Policy:
    """Merge config layers, base first, over `base` (the bundled default's data, see
    `bundled`), and validate; each problem names the layer its location's value comes from."""
    data = base
    for layer in layers:
        data = deep_merge(data, {k: v for k, v in layer.data.items() if k != "_extends"})
    try:
        return _model(data)
    except _Invalid as exc:
        problems = [_attributed(loc, m, layers, data) for loc, m in exc.found]
        raise ConfigError(problems) from None


def check_text(text: str, *, source: str, base: dict[str, Any], repo: str | None = None) -> Policy:
    """Validate one config file on its own over `base`, the bundled default's data (`_extends`
    is checked, not followed; with `repo`, "owner/name", also whether it names a repository it
    may)."""
    data = parse_yaml(text, source=source)
    problems: list[ConfigIssue] = []
    if "_extends" in data:
        owner, _, name = (repo or "").partition("/")
        try:
            parse_extends(data["_extends"], owner=owner or None, repo=name or None, source=source)
        except ConfigError as exc:
            problems += exc.problems
    try:
        policy = policy_from_layers([Layer(source, data)], base=base)
    except ConfigError as exc:
        problems += exc.problems
    if problems:
        raise ConfigError(problems)
    return policy


def parse_extends(
    value: Any, *, owner: str | None, repo: str | None, source: str
) -> tuple[str, str, str]:
    """`_extends` → (owner, repository, path) of the base file, for the repository `owner/repo`.

    The forms are `.github`, `repo`, `owner/repo`, each with an optional `:path`. Config is data
    about one repository, so only that repository and its organisation's `.github` may be
    named (Probot apps restrict `_extends` alike), by a plain relative path. Messages name the
    rule, never the value: it may come from the organisation's file.
    """

    def refuse(rule: str) -> ConfigError:
        return ConfigError([ConfigIssue(source, "_extends", rule)])

    if not isinstance(value, str) or not value.strip():
        raise refuse("must be text such as .github or .github:path/in/it.yml")
    target, _, path = value.strip().partition(":")
    if path.startswith("//"):
        raise refuse("must be [owner/]repository[:path], not a URL")
    ext_owner, slash, name = target.rpartition("/")
    if (
        not _REPO_RE.match(name)
        or name in (".", "..")
        or (slash and not _OWNER_RE.match(ext_owner))
    ):
        raise refuse("must be [owner/]repository[:path], e.g. .github or .github:incident/base.yml")
    other_owner = bool(ext_owner) and owner is not None and ext_owner.lower() != owner.lower()
    other_repo = repo is not None and name.lower() not in (".github", repo.lower())
    if other_owner or other_repo:
        raise refuse(EXTENDS_RULE)
    problem = path_problem(path) if path else None
    if problem:
        raise refuse(f"the path must be relative inside the repository: {problem}")
    return ext_owner or owner or "", name, path or CONFIG_PATH
