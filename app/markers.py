"""Hidden markers in the app's own comments, so a later plan sees what was already said."""

from __future__ import annotations

import json
import re
from typing import Any

PREFIX = "incident-app"
_RE = re.compile(r"<!--\s*incident-app\s+(\{.*?\})\s*-->", re.S)


def render(kind: str, **fields: Any) -> str:
    """An HTML comment GitHub does not show: `<!-- incident-app {"k": "brief", …} -->`."""
    payload = {"k": kind, **{k: v for k, v in fields.items() if v is not None}}
    return f"<!-- {PREFIX} {json.dumps(payload, sort_keys=True, separators=(',', ':'))} -->"


def parse(body: str | None) -> list[dict[str, Any]]:
    """Every marker in a body, each a dict with at least `k`."""
    found: list[dict[str, Any]] = []
    for match in _RE.finditer(body or ""):
        try:
            data = json.loads(match[1])
        except ValueError:
            continue
        if isinstance(data, dict) and isinstance(data.get("k"), str):
            found.append(data)
    return found
