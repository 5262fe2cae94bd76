"""The GitHub App manifest setup mode sends: app.yml with this server's URLs, and where on
GitHub it goes."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import yaml

CALLBACK_PATH = "/setup/callback"
DEFAULT_NAME = "incident-app"

MANIFEST_PATH = Path(__file__).resolve().parents[2] / "app.yml"
# The same manifest as app.yml, for installs that do not carry the repository's root files.
# tests/web/test_manifest.py checks the two stay identical.
EMBEDDED_MANIFEST: dict[str, Any] = {
    "name": "incident-app",
    "description": "Runs the incident-response runbook on GitHub issues — roles, checklists,"
    " deadlines, escalations and post-incident reviews.",
    "url": "https://github.com/apps/incident-app",
    "hook_attributes": {"url": "https://example.com/api/github/webhooks", "active": True},
    "redirect_url": "https://example.com/setup/callback",
    "public": False,
    "default_events": ["issues", "issue_comment", "pull_request"],
    "default_permissions": {
        "issues": "write",
        "pull_requests": "write",
        "contents": "write",
        "metadata": "read",
    },
}


def manifest_template() -> dict[str, Any]:
    """app.yml from the repository root, else the identical embedded copy."""
    try:
        data = yaml.safe_load(MANIFEST_PATH.read_text(encoding="utf-8"))
    except OSError:
        return copy.deepcopy(EMBEDDED_MANIFEST)
    if not isinstance(data, dict):
        raise ValueError(f"{MANIFEST_PATH}: the manifest must be a mapping")
    return data


def build_manifest(
    template: Mapping[str, Any], *, public_url: str, webhook_path: str, name: str | None = None
) -> dict[str, Any]:
    """The manifest GitHub gets: the template with this server's URLs."""
    manifest = copy.deepcopy(dict(template))
    manifest["name"] = name or manifest.get("name") or DEFAULT_NAME
    manifest["url"] = public_url
    manifest["hook_attributes"] = {
        **manifest.get("hook_attributes", {}),
        "url": public_url + webhook_path,
    }
    manifest["redirect_url"] = public_url + CALLBACK_PATH
    return manifest


def web_url(api_url: str) -> str:
    """GitHub's web host for an API root: api.github.com → github.com, HOST/api/v3 → HOST."""
    url = httpx.URL(api_url.rstrip("/"))
    path = url.path.rstrip("/")
    if path.endswith("/api/v3"):
        path = path.removesuffix("/api/v3")
    elif path in ("", "/") and url.host.startswith("api."):
        url = url.copy_with(host=url.host.removeprefix("api."))
    return str(url.copy_with(path=path or "/", query=None)).rstrip("/")


def new_app_url(*, api_url: str, state: str, org: str | None = None) -> str:
    """GitHub's "new app from a manifest" page for the user, or for an organisation."""
    owner = f"/organizations/{quote(org, safe='')}" if org else ""
    return f"{web_url(api_url)}{owner}/settings/apps/new?state={quote(state, safe='')}"
