"""The layout keeps the design: the core does no I/O and each room imports only downwards.

docs/architecture.md draws the rooms; this test keeps the drawing true.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parent.parent / "app"

# Who may import whom (docs/architecture.md, "Who may import whom").
# `__version__` is the package's own; `settings` and `logs` are plain leaves of the top floor.
ALLOWED = {
    "core": {"core", "__version__"},
    "github": {"core", "github", "settings", "__version__"},
    "notify": {"core", "notify", "settings", "__version__"},
    "runtime": {"core", "github", "notify", "runtime", "settings", "__version__"},
    "web": {"core", "github", "notify", "runtime", "web", "settings", "logs", "__version__"},
}
# Libraries that do I/O, or exist for it: never in the core.
IO_LIBRARIES = {
    "httpx",
    "githubkit",
    "starlette",
    "uvicorn",
    "orjson",
    "prometheus_client",
    "redis",
    "slack_sdk",
    "socket",
    "asyncio",
    "subprocess",
    "urllib.request",
}


def imports(path: Path) -> list[str]:
    """Every module `path` imports, absolute."""
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "app":
                found += [f"app.{alias.name}" for alias in node.names]
            else:
                found.append(node.module)
    return found


def room_of(module: str) -> str | None:
    """`app.core.runbook` → `core`; `app.settings` → `settings`; outside app → None."""
    parts = module.split(".")
    return parts[1] if parts[0] == "app" and len(parts) > 1 else None


# A room's packages (app/core/runbook/) belong to the room.
MODULES = sorted(p for room in ALLOWED for p in (APP / room).rglob("*.py"))


def shown(path: Path) -> str:
    return path.relative_to(APP).as_posix()


@pytest.mark.parametrize("path", MODULES, ids=shown)
def test_each_room_imports_only_what_it_may(path: Path) -> None:
    room = path.relative_to(APP).parts[0]
    wrong = [m for m in imports(path) if room_of(m) is not None and room_of(m) not in ALLOWED[room]]
    assert wrong == [], f"app/{shown(path)} may not import {wrong}"


@pytest.mark.parametrize("path", sorted((APP / "core").rglob("*.py")), ids=shown)
def test_the_core_does_no_io(path: Path) -> None:
    used = [m for m in imports(path) if m.split(".")[0] in IO_LIBRARIES or m in IO_LIBRARIES]
    assert used == [], f"app/{shown(path)} imports {used}"


def test_every_module_lives_in_a_room_or_on_the_top_floor() -> None:
    top = {p.name for p in APP.glob("*.py")}
    assert top == {"__init__.py", "__main__.py", "cli.py", "doctor.py", "logs.py", "settings.py"}


def test_the_rule_catches_a_wrong_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import httpx\nfrom app.web import server\nfrom app import cli\n")
    assert [room_of(m) for m in imports(bad)] == [None, "web", "cli"]
