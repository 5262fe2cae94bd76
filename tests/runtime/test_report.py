"""The monthly review (runbook "Monthly: review recent incidents", "monthly review of action
item progress"): numbers against the targets, per severity, action items, recurrences, charts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.cli import main

HERE = Path(__file__).resolve().parents[1]  # tests/: golden/ and month/
GOLDEN = HERE / "golden" / "monthly-review.md"
ARGS = ["report", "--offline", str(HERE / "month"), "--repo", "Codertocat/Hello-World"]
MAY = ["--since", "2019-05-01", "--app-id", "424242"]


def test_the_review_of_a_recorded_month(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*ARGS, *MAY]) == 0
    review = capsys.readouterr().out
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.write_text(review)
    assert review == GOLDEN.read_text(), "rerun with UPDATE_GOLDEN=1 and review it"
    # What the runbook asks of it, read off the page:
    assert "| P1 | 2019-05-09 09:00 | 1h 10m | 1h 00m | missed |" in review
    assert "| P1 | 1 | 1h 10m | 1h 10m | 3h 00m | 3h 00m | 0% |" in review
    assert "| immediate | 2 | 1 | 1 |" in review and "Overdue: #11" in review
    assert "- #4 repeats #2" in review  # the same `component:search`
    assert "Drill" not in review  # drills are kept out of every number
    assert "pie title Incidents by severity" in review and "xychart-beta" in review


def test_the_review_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    assert main([*ARGS, *MAY, "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["month"] == "2019-05"
    assert [i["number"] for i in data["incidents"]] == [1, 2, 3, 4]


def test_another_month_has_no_incidents(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*ARGS, "--since", "2019-06-01", "--app-id", "424242"]) == 0
    assert "No incidents this month." in capsys.readouterr().out


def test_without_credentials_or_a_recording_it_says_what_it_needs(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    for name in ("APP_ID", "PRIVATE_KEY", "PRIVATE_KEY_PATH"):
        monkeypatch.delenv(name, raising=False)
    assert main(["report", "--repo", "Codertocat/Hello-World"]) == 2
    assert "needs APP_ID and PRIVATE_KEY, or --offline DIR" in capsys.readouterr().err
