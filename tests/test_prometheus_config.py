"""deploy/prometheus/: the rules for the runbook's "Automated Monitoring Triggers" and the
Alertmanager route to the app, checked by Prometheus's own tools (Debian's `prometheus` and
`prometheus-alertmanager` packages; .ci/run installs them). Never skipped: a missing tool
fails with what to install.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

PROMETHEUS = Path(__file__).resolve().parent.parent / "deploy" / "prometheus"
RULES = PROMETHEUS / "incident-rules.yml"
RULE_TESTS = PROMETHEUS / "incident-rules.test.yml"
ALERTMANAGER = PROMETHEUS / "alertmanager.yml"

# The runbook's triggers ("Detection and Alerting" → "Automated Monitoring Triggers"): the
# rule for each, and the threshold its expression must compare against.
TRIGGERS = {
    "Response time >3s P95": ("HighResponseTimeP95", "> 3"),
    "error rate >5%": ("HighErrorRate", "> 0.05"),
    "CPU >80%": ("HighCPUUsage", "> 80"),
    "Memory >85%": ("HighMemoryUsage", "> 85"),
    "Disk >90%": ("HighDiskUsage", "> 90"),
    "Failed authentication >10/minute": ("FailedLoginsBurst", "* 60 > 10"),
    "slow query alerts >10s": ("SlowDatabaseQuery", "> 10"),
    "Provider API failures": ("ProviderAPIFailures", "> 0.05"),
}
SEVERITIES = {"critical", "high", "error", "warning", "info"}  # what the app maps to P0–P3


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(
            f"{name} is not installed: apt-get install prometheus prometheus-alertmanager "
            "(.ci/run does it)",
            pytrace=False,
        )
    return path


def run(*argv: str) -> str:
    done = subprocess.run(
        argv, cwd=PROMETHEUS, capture_output=True, text=True, timeout=60, check=False
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"{' '.join(argv)} failed:\n{output}"
    return output


def rules() -> dict[str, dict[str, Any]]:
    data = yaml.safe_load(RULES.read_text())
    return {
        rule["alert"]: rule
        for group in data["groups"]
        for rule in group["rules"]
        if "alert" in rule
    }


def test_promtool_checks_the_rules() -> None:
    output = run(tool("promtool"), "check", "rules", RULES.name)
    assert f"SUCCESS: {len(TRIGGERS)} rules found" in output


def test_each_rule_fires_just_above_its_threshold_and_not_just_below() -> None:
    output = run(tool("promtool"), "test", "rules", RULE_TESTS.name)
    assert "SUCCESS" in output
    tested = yaml.safe_load(RULE_TESTS.read_text())
    for case in tested["tests"]:
        assert {t["alertname"] for t in case["alert_rule_test"]} == set(rules()), case["name"]


def test_amtool_checks_the_alertmanager_config() -> None:
    output = run(tool("amtool"), "check-config", ALERTMANAGER.name)
    assert "SUCCESS" in output


def test_every_runbook_trigger_has_a_rule_at_its_threshold() -> None:
    found = rules()
    assert set(found) == {name for name, _ in TRIGGERS.values()}
    for trigger, (name, threshold) in TRIGGERS.items():
        expr = " ".join(found[name]["expr"].split())
        assert expr.endswith(threshold), f"{name} ({trigger}): {expr}"
    # The runbook's own words are quoted beside each rule.
    text = RULES.read_text()
    for trigger in TRIGGERS:
        assert trigger in text, trigger


def test_every_rule_has_a_severity_the_app_maps_and_the_annotations_it_shows() -> None:
    for name, rule in rules().items():
        assert rule["labels"]["severity"] in SEVERITIES, name
        annotations = rule["annotations"]
        assert {"summary", "description", "runbook_url"} <= set(annotations), name
        assert re.search(
            r"/ops/docs/incident-response-runbook\.md#[a-z0-9-]+$", annotations["runbook_url"]
        ), name
        assert rule.get("for"), f"{name} fires on a single evaluation"


def test_alertmanager_sends_every_group_to_the_app_with_its_token() -> None:
    config = yaml.safe_load(ALERTMANAGER.read_text())
    assert config["route"]["receiver"] == "incident-app"
    assert {"alertname", "service"} <= set(config["route"]["group_by"])
    [receiver] = [r for r in config["receivers"] if r["name"] == "incident-app"]
    [webhook] = receiver["webhook_configs"]
    assert re.fullmatch(r"https://[^/]+/alerts/alertmanager/[^/]+/[^/]+", webhook["url"])
    assert webhook["send_resolved"] is True
    auth = webhook["http_config"]["authorization"]
    assert auth.get("type", "Bearer") == "Bearer" and auth["credentials_file"]
