"""Problems of config files, each located: `ConfigIssue`, `ConfigError`, what issues may show,
and validation that reports every problem at its field path."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from app.core.policy.fields import Loc, _Problems
from app.core.policy.models import Policy

HIDDEN = "details are not shown here: run incident-app check-config on that file"


@dataclass(frozen=True)
class ConfigIssue:
    """One problem of a config file, with where it is.

    A `foreign` problem was found in a file outside the repository the incident is in (its
    organisation's `.github`): its location and message may repeat that file's text, which
    must not appear on the repository's issues. `str()` and `public_text()` leave it out;
    `public_problems` counts such problems per file instead.
    """

    source: str
    location: str
    message: str
    foreign: bool = False

    def public_text(self) -> str:
        """`location: message`, or for a foreign problem only that its details are withheld."""
        return HIDDEN if self.foreign else f"{self.location}: {self.message}"

    def detail(self) -> str:
        """Every detail, for the operator's own terminal or file, never for an issue."""
        return f"{self.source}: {self.location}: {self.message}"

    def __str__(self) -> str:
        return f"{self.source}: {self.public_text()}"


def public_problems(problems: Iterable[ConfigIssue]) -> tuple[ConfigIssue, ...]:
    """The problems as an issue may show them: the repository's own in full, then one row per
    other file that only counts its problems (`file`, `N problem(s); details are not shown
    here …`). Duplicates go; the rows it returns are not foreign, so it can be applied again."""
    own: list[ConfigIssue] = []
    counts: dict[str, int] = {}
    for problem in dict.fromkeys(problems):
        if problem.foreign:
            counts[problem.source] = counts.get(problem.source, 0) + 1
        else:
            own.append(problem)
    hidden = [ConfigIssue(src, "file", f"{n} problem(s); {HIDDEN}") for src, n in counts.items()]
    return (*own, *hidden)


class ConfigError(Exception):
    """A config file that cannot be used; carries every problem found."""

    def __init__(self, problems: list[ConfigIssue]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


class _Invalid(Exception):
    def __init__(self, found: list[tuple[Loc, str]]) -> None:
        super().__init__(found)
        self.found = found


def _model(data: dict[str, Any]) -> Policy:
    """`Policy.model_validate`, raising every problem as (location, message)."""
    try:
        return Policy.model_validate(data)
    except UnicodeError:
        raise _Invalid([((), "text that is not valid Unicode")]) from None
    except ValidationError as exc:
        found: list[tuple[Loc, str]] = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            inner = (err.get("ctx") or {}).get("error")
            if isinstance(inner, _Problems):
                found += [(loc + sub, message) for sub, message in inner.found]
                continue
            message = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                message = "unknown key"
            found.append((loc, message))
        raise _Invalid(found) from None


def _where(loc: Loc) -> str:
    return ".".join(str(part) for part in loc) or "file"


def validate(data: dict[str, Any], *, source: str) -> Policy:
    """Build a Policy from merged data, or raise ConfigError listing every problem."""
    try:
        return _model(data)
    except _Invalid as exc:
        raise ConfigError([ConfigIssue(source, _where(loc), m) for loc, m in exc.found]) from None
