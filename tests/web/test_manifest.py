"""The manifest setup mode sends: app.yml, its embedded copy, GitHub's web host."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from app.web import manifest

ROOT = Path(__file__).resolve().parents[2]


def test_the_embedded_manifest_is_app_yml() -> None:
    assert yaml.safe_load((ROOT / "app.yml").read_text()) == manifest.EMBEDDED_MANIFEST
    assert manifest.manifest_template() == manifest.EMBEDDED_MANIFEST


def test_without_app_yml_the_embedded_manifest_is_used(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(manifest, "MANIFEST_PATH", tmp_path / "missing.yml")
    assert manifest.manifest_template() == manifest.EMBEDDED_MANIFEST


@pytest.mark.parametrize(
    ("api", "web"),
    [
        ("https://api.github.com", "https://github.com"),
        ("https://ghe.example.com/api/v3", "https://ghe.example.com"),
        ("http://127.0.0.1:8080/api/v3/", "http://127.0.0.1:8080"),
        ("https://api.octo.ghe.com", "https://octo.ghe.com"),
    ],
)
def test_the_web_host_of_an_api_root(api: str, web: str) -> None:
    assert manifest.web_url(api) == web
