"""The `.env` file setup mode writes: values merged into what is there (multi-line quoted
values replaced whole, every other line kept), written whole, readable by its owner only."""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path

_KEY_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$")


def quote_value(value: str) -> str:
    """A double-quoted .env value on one line (python-dotenv undoes these escapes)."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return '"' + escaped + '"'


def _closes(text: str, quote_char: str) -> bool:
    """Whether `text` (after an opening quote) holds the closing one."""
    escaped = False
    for char in text:
        if escaped:
            escaped = False
        elif char == "\\" and quote_char == '"':
            escaped = True
        elif char == quote_char:
            return True
    return False


def merge_env(existing: str, values: Mapping[str, str]) -> str:
    """`existing` .env text with `values` set: their old lines (even multi-line quoted ones)
    replaced in place, new keys appended, every other line kept."""
    wanted = {key.upper(): key for key in values}
    out: list[str] = []
    written: set[str] = set()
    lines = existing.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        match = _KEY_LINE.match(line)
        if match is None or match[1].upper() not in wanted:
            out.append(line)
            continue
        value = match[2]
        if value[:1] in ("'", '"') and not _closes(value[1:], value[0]):
            while i < len(lines) and not _closes(lines[i], value[0]):
                i += 1
            i += 1  # the closing line goes too
        key = wanted[match[1].upper()]
        if key not in written:
            out.append(f"{key}={values[key]}")
            written.add(key)
    out.extend(f"{key}={values[key]}" for key in values if key not in written)
    return "\n".join(out) + "\n"


def save_env(path: Path, values: Mapping[str, str]) -> None:
    """Merge `values` into the .env at `path`, written whole and readable by the owner only."""
    try:
        existing = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        existing = ""
    text = merge_env(existing, values)
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
        os.chmod(temp, 0o600)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
