"""Record the example deliveries under webhooks/ from @octokit/webhooks-examples.

Usage: ``python webhooks/record.py [path/to/api.github.com/index.json]``.
Without a path it runs ``npm pack @octokit/webhooks-examples`` in a temporary folder.
Each file is a real payload shape from the package; the incident variants change only
labels, bodies and timestamps, and add the ``installation`` GitHub sends to an App.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
INSTALLATION = {"id": 1234567, "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMTIzNDU2Nw=="}


def load_examples(index: Path | None) -> dict[str, list[dict[str, Any]]]:
    """Return the package's examples by event name."""
    if index is None:
        tmp = Path(tempfile.mkdtemp())
        subprocess.run(["npm", "pack", "@octokit/webhooks-examples"], cwd=tmp, check=True)
        (tgz,) = tmp.glob("*.tgz")
        with tarfile.open(tgz) as tar:
            tar.extractall(tmp, filter="data")
        index = tmp / "package" / "api.github.com" / "index.json"
    data = json.loads(index.read_text())
    return {entry["name"]: entry["examples"] for entry in data}


def first(examples: list[dict[str, Any]], action: str) -> dict[str, Any]:
    return copy.deepcopy(next(e for e in examples if e.get("action") == action))


def label(name: str, color: str = "b60205") -> dict[str, Any]:
    return {
        "id": abs(hash(name)) % 10**9,
        "node_id": "LA_kwDOCxFm2s8AAAAB",
        "url": f"https://api.github.com/repos/Codertocat/Hello-World/labels/{name}",
        "name": name,
        "color": color,
        "default": False,
        "description": None,
    }


def incident_issue(issue: dict[str, Any], labels: list[str], *, at: str) -> dict[str, Any]:
    issue = copy.deepcopy(issue)
    issue.update(
        title="Checkout returns 502 for every user",
        body="Payments fail since the 14:00 deploy.",
        labels=[label(n) for n in labels],
        assignee=None,
        assignees=[],
        milestone=None,
        comments=0,
        created_at="2019-05-15T15:20:18Z",
        updated_at=at,
        state="open",
        closed_at=None,
    )
    return issue


def build(examples: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Return file name → payload."""
    issues, comments = examples["issues"], examples["issue_comment"]
    out: dict[str, dict[str, Any]] = {"ping.json": copy.deepcopy(examples["ping"][0])}
    for action in ("opened", "labeled", "reopened", "edited"):
        with_install = [e for e in issues if e.get("action") == action and "installation" in e]
        payload = copy.deepcopy(with_install[0]) if with_install else first(issues, action)
        payload.setdefault("installation", INSTALLATION)
        out[f"issues.{action}.json"] = payload
    # The package has no `closed` example: GitHub sends the `reopened` shape with the
    # issue's state and closed_at set.
    closed_example = copy.deepcopy(out["issues.reopened.json"])
    closed_example["action"] = "closed"
    closed_example["issue"].update(state="closed", closed_at=closed_example["issue"]["updated_at"])
    out["issues.closed.json"] = closed_example
    out["issue_comment.created.json"] = first(comments, "created")
    out["issue_comment.edited.json"] = first(comments, "edited")
    for name in ("issue_comment.created.json", "issue_comment.edited.json"):
        out[name].setdefault("installation", INSTALLATION)

    opened = out["issues.opened.json"]
    t0 = "2019-05-15T15:20:18Z"
    p0 = copy.deepcopy(opened)
    p0["issue"] = incident_issue(opened["issue"], ["incident", "sev:P0"], at=t0)
    out["issues.opened-incident-p0.json"] = p0

    labeled = out["issues.labeled.json"]
    for variant, labels, added, at in (
        ("incident", ["incident"], "incident", "2019-05-15T15:25:00Z"),
        ("sev-p0", ["incident", "sev:P0"], "sev:P0", "2019-05-15T15:20:18Z"),
        ("sev-p1", ["sev:P1"], "sev:P1", "2019-05-15T15:25:00Z"),
        (
            "sev-p1-upgrade",
            ["incident", "sev:P2", "sev:P1", "status:investigating"],
            "sev:P1",
            "2019-05-15T16:00:00Z",
        ),
        ("bug", ["bug"], "bug", "2019-05-15T15:25:00Z"),
    ):
        payload = copy.deepcopy(labeled)
        payload["issue"] = incident_issue(labeled["issue"], labels, at=at)
        payload["label"] = label(added)
        out[f"issues.labeled-{variant}.json"] = payload

    closed = copy.deepcopy(out["issues.closed.json"])
    closed["issue"] = incident_issue(
        closed["issue"], ["incident", "sev:P1", "status:mitigating"], at="2019-05-15T17:00:00Z"
    )
    closed["issue"].update(state="closed", closed_at="2019-05-15T17:00:00Z", comments=3)
    out["issues.closed-incident.json"] = closed

    created = out["issue_comment.created.json"]
    for variant, body in (
        ("status-mitigating", "Rolled back the deploy.\n/status mitigating error rate falling"),
        ("ack", "/ack"),
        (
            "template",
            "🚨 INCIDENT UPDATE #1 - 15:40 UTC\nSeverity: P1\nStatus: Monitoring\n"
            "Impact: checkout errors below 1%\nETA: 16:30 UTC\nNext Update: 16:10 UTC\n"
            "Actions: watching dashboards",
        ),
    ):
        payload = copy.deepcopy(created)
        payload["issue"] = incident_issue(
            created["issue"],
            ["incident", "sev:P1", "status:investigating"],
            at="2019-05-15T15:40:00Z",
        )
        payload["issue"]["comments"] = 2
        payload["comment"].update(
            body=body, created_at="2019-05-15T15:40:00Z", updated_at="2019-05-15T15:40:00Z"
        )
        out[f"issue_comment.created-{variant}.json"] = payload

    # A review's pull request merged: its head is the review branch `pir/<incident>`.
    merged = first(examples["pull_request"], "closed")
    merged["pull_request"].update(
        merged=True, merged_at="2019-05-17T10:00:00Z", closed_at="2019-05-17T10:00:00Z"
    )
    merged["pull_request"]["head"]["ref"] = "pir/1"
    merged["installation"] = INSTALLATION
    out["pull_request.closed-merged-review.json"] = merged
    return out


def main(argv: list[str]) -> None:
    examples = load_examples(Path(argv[1]) if len(argv) > 1 else None)
    for name, payload in build(examples).items():
        (HERE / name).write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
        print("wrote", HERE / name)


if __name__ == "__main__":
    main(sys.argv)
