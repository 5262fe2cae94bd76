"""Checks of single config values: how a value is quoted back, paths, labels and logins."""

from __future__ import annotations

import re

MAX_PATH = 200

LOGIN_RE = re.compile(r"^@?[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")
TEAM_RE = re.compile(r"^@[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")


def _shown(value: object, limit: int = 40) -> str:
    """A value as an error message repeats it: quoted, and cut short."""
    text = str(value)
    return f"'{text[:limit]}…'" if len(text) > limit else f"'{text}'"


# --- paths and labels -----------------------------------------------------------------

_SEGMENT_RE = re.compile(r"^[A-Za-z0-9._-]+$")


def path_problem(path: str) -> str | None:
    """Why `path` is no plain relative path inside a repository, or None when it is one.

    GitHub's API takes it as part of a URL, and httpx resolves `..`: a path that could leave
    the repository (`../../victim/contents/x`) must never be sent.
    """
    if "://" in path or re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", path):
        return "not a URL"
    if "\\" in path:
        return "no backslash"
    if path.startswith("/"):
        return "no leading /"
    if len(path) > MAX_PATH:
        return f"at most {MAX_PATH} characters"
    segments = path.split("/")
    if any(s in (".", "..") for s in segments):
        return "no . or .. segment"
    if any(not s for s in segments):
        return "no empty segment (//)"
    if not all(_SEGMENT_RE.match(s) for s in segments):
        return "only letters, digits, '.', '_' and '-' between the slashes"
    return None


def _folder(value: str) -> str:
    folder = value.removesuffix("/") or value  # a trailing slash is harmless
    problem = path_problem(folder)
    if problem:
        raise ValueError(
            f"must be a relative folder in this repository such as ops/docs/incidents: {problem}"
        )
    return folder


def _label(value: str) -> str:
    label = value.strip()
    if not 0 < len(label) <= 50 or "," in label or not label.isprintable():
        raise ValueError("must be a GitHub label: 1 to 50 characters, no commas")
    return label


def _login(value: str) -> str:
    if not LOGIN_RE.match(value):
        raise ValueError(f"{_shown(value)} is not a GitHub login")
    return value.lstrip("@")


Loc = tuple[str | int, ...]  # where in the config, as pydantic names it


class _Problems(ValueError):
    """Problems a model validator found, each at its own location below the model's."""

    def __init__(self, found: list[tuple[Loc, str]]) -> None:
        super().__init__("; ".join(f"{'.'.join(map(str, loc))}: {msg}" for loc, msg in found))
        self.found = found
