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
# Modules that exist to reach files: never in the core, which is handed text, not paths.
FILE_MODULES = {
    "pathlib",
    "io",
    "importlib.resources",
    "importlib_resources",
    "tempfile",
    "shutil",
    "glob",
    "fileinput",
}
# Calls that open a file: `open(...)`, `io.open(...)`, `os.open(...)`, `Path(...).read_text()` …
FILE_CALLS = {"open", "read_text", "read_bytes", "write_text", "write_bytes", "iterdir"}


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


def file_access(path: Path) -> list[str]:
    """What in `path` reaches files: imports of FILE_MODULES (and `from importlib import
    resources`), and calls of FILE_CALLS, as `line: what`."""
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [f"{node.module}.{alias.name}" for alias in node.names]  # resources too
        elif isinstance(node, ast.Call):
            func = node.func
            called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if called in FILE_CALLS:
                found.append(f"{node.lineno}: {called}(...)")
        found += [
            f"{node.lineno}: import {name}"
            for name in names
            if any(name == m or name.startswith(f"{m}.") for m in FILE_MODULES)
        ]
    return sorted(found, key=lambda line: int(line.split(":")[0]))


def room_of(module: str) -> str | None:
    """`app.core.runbook` → `core`; `app.settings` → `settings`; outside app → None."""
    parts = module.split(".")
    return parts[1] if parts[0] == "app" and len(parts) > 1 else None


# Sub-packages too (app/core/policy/…): a room is the first folder below app/.
MODULES = sorted(p for room in ALLOWED for p in (APP / room).rglob("*.py"))
CORE = sorted((APP / "core").rglob("*.py"))


def name(path: Path) -> str:
    return path.relative_to(APP).as_posix()


@pytest.mark.parametrize("path", MODULES, ids=name)
def test_each_room_imports_only_what_it_may(path: Path) -> None:
    room = path.relative_to(APP).parts[0]
    wrong = [m for m in imports(path) if room_of(m) is not None and room_of(m) not in ALLOWED[room]]
    assert wrong == [], f"app/{name(path)} may not import {wrong}"


@pytest.mark.parametrize("path", CORE, ids=name)
def test_the_core_does_no_io(path: Path) -> None:
    used = [m for m in imports(path) if m.split(".")[0] in IO_LIBRARIES or m in IO_LIBRARIES]
    assert used == [], f"app/{name(path)} imports {used}"


@pytest.mark.parametrize("path", CORE, ids=name)
def test_the_core_reads_no_files(path: Path) -> None:
    assert file_access(path) == [], f"app/{name(path)} reaches files"


def test_the_walk_reaches_sub_packages() -> None:
    assert APP / "core" / "policy" / "layers.py" in CORE


def test_every_module_lives_in_a_room_or_on_the_top_floor() -> None:
    top = {p.name for p in APP.glob("*.py")}
    assert top == {"__init__.py", "__main__.py", "doctor.py", "logs.py", "settings.py"}
    # The only package beside the rooms is the command line (app/cli/), on the top floor.
    packages = {p.relative_to(APP).parts[0] for p in APP.rglob("*.py")} - top
    assert packages == {*ALLOWED, "cli"}


def test_the_command_line_package_is_the_top_floor() -> None:
    # Its modules are `app.cli.…`: room `cli`, which no room may import.
    assert room_of("app.cli.parser") == "cli"
    assert all("cli" not in allowed for allowed in ALLOWED.values())
    assert (APP / "cli" / "__init__.py").is_file()


def test_the_rule_catches_a_wrong_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import httpx\nfrom app.web import server\nfrom app import cli\n")
    assert [room_of(m) for m in imports(bad)] == [None, "web", "cli"]


def test_the_rule_catches_file_access(tmp_path: Path) -> None:
    # The shape of the old app/core/policy.py's bundled_text(), which read config/ itself.
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from importlib.resources import files\n"
        "from importlib import resources\n"
        "from pathlib import Path\n"
        "import io\n"
        "def bundled_text():\n"
        "    checkout = Path(__file__).parent / 'incident.yml'\n"
        "    if checkout.is_file():\n"
        "        return checkout.read_text()\n"
        "    with open('x') as f:\n"
        "        return f.read()\n"
        "    return (files('app.bundled') / 'incident.yml').read_text()\n"
    )
    assert file_access(bad) == [
        "1: import importlib.resources.files",
        "2: import importlib.resources",
        "3: import pathlib.Path",
        "4: import io",
        "8: read_text(...)",
        "9: open(...)",
        "11: read_text(...)",
    ]
