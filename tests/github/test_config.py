"""Where the policy comes from: repo, org `.github`, bundled; `_extends`; broken files."""

from __future__ import annotations

import pytest

from tests.conftest import REPO, Harness, delivery_for

pytestmark = pytest.mark.anyio

REPO_CFG = (REPO.lower(), ".github/incident.yml")
ORG_CFG = ("codertocat/.github", ".github/incident.yml")


async def declare(harness: Harness, *labels: str) -> None:
    harness.github.add_issue(labels=labels or ("incident", "sev:P1"))
    await harness.deliver("issues", delivery_for(harness.github, "issues.opened-incident-p0.json"))


async def test_seat_to_login_from_the_repository_config(harness: Harness) -> None:
    harness.github.files[REPO_CFG] = (
        "roster:\n  release_manager.rohan-patel: rp\n  architect.morgan-lee: ml\n"
    )
    await declare(harness)
    assert harness.github.issue().assignees == ["rp", "ml"]


async def test_the_organisations_config_when_the_repository_has_none(harness: Harness) -> None:
    harness.github.files[ORG_CFG] = "roster:\n  release_manager.rohan-patel: org-ic\n"
    await declare(harness)
    assert harness.github.issue().assignees == ["org-ic"]
    reads = [p for m, p, _ in harness.github.requests if "/contents/" in p]
    assert reads == [
        f"/repos/{REPO}/contents/.github/incident.yml",
        "/repos/Codertocat/.github/contents/.github/incident.yml",
    ]


async def test_the_repository_config_wins_over_the_organisations(harness: Harness) -> None:
    harness.github.files[REPO_CFG] = "roster:\n  release_manager.rohan-patel: repo-ic\n"
    harness.github.files[ORG_CFG] = "roster:\n  release_manager.rohan-patel: org-ic\n"
    await declare(harness)
    assert harness.github.issue().assignees == ["repo-ic"]


async def test_extends_merges_the_base_under_the_file(harness: Harness) -> None:
    harness.github.files[REPO_CFG] = "_extends: .github\nroster:\n  architect.morgan-lee: repo-tl\n"
    harness.github.files[ORG_CFG] = (
        "roster:\n  release_manager.rohan-patel: org-ic\n  architect.morgan-lee: org-tl\n"
    )
    await declare(harness)
    assert harness.github.issue().assignees == ["org-ic", "repo-tl"]


async def test_extends_a_file_of_the_repository_itself(harness: Harness) -> None:
    harness.github.files[REPO_CFG] = "_extends: Hello-World:incident/base.yml\n"
    harness.github.files[(REPO.lower(), "incident/base.yml")] = (
        "roster:\n  release_manager.rohan-patel: base-ic\n"
    )
    await declare(harness)
    assert harness.github.issue().assignees == ["base-ic"]


async def test_extends_another_repository_is_refused_and_nothing_read_from_it(
    harness: Harness,
) -> None:
    harness.github.files[REPO_CFG] = "_extends: acme/policies:incident/base.yml\n"
    harness.github.files[("acme/policies", "incident/base.yml")] = (
        "roster:\n  release_manager.rohan-patel: base-ic\n"
    )
    await declare(harness)
    assert harness.github.issue().assignees == []
    assert not any("acme" in p for _, p, _ in harness.github.requests)
    (report,) = [c for c in harness.github.posted_comments() if '"k":"config-error"' in c]
    assert (
        f"| `{REPO}:.github/incident.yml` | `_extends` | may name only this repository or the "
        "organisation's .github repository (same owner)"
    ) in report


async def test_cyclic_extends_is_reported_and_the_incident_still_handled(
    harness: Harness,
) -> None:
    harness.github.files[REPO_CFG] = "_extends: .github\n"
    harness.github.files[ORG_CFG] = "_extends: Hello-World\n"
    await declare(harness)
    comments = harness.github.posted_comments()
    assert any('"k":"brief"' in c for c in comments)
    (report,) = [c for c in comments if '"k":"config-error"' in c]
    assert "cycle" in report


async def test_broken_config_is_reported_once_and_the_bundled_policy_used(
    harness: Harness,
) -> None:
    harness.github.files[REPO_CFG] = "roster: {release_manager.rohan-patel: [oops]\n"
    await declare(harness)
    comments = harness.github.posted_comments()
    (report,) = [c for c in comments if '"k":"config-error"' in c]
    assert "| `Codertocat/Hello-World:.github/incident.yml` | `line 2, column 1` |" in report
    assert "check-config" in report
    assert any("P1 High incident declared" in c for c in comments)
    # Later runs for the same issue do not repeat the report.
    harness.clock.advance(minutes=5)
    harness.github.label(1, "sev:P0", at=harness.clock.now)
    await harness.deliver("issues", delivery_for(harness.github, "issues.labeled-sev-p0.json"))
    assert sum('"k":"config-error"' in c for c in harness.github.posted_comments()) == 1


async def test_a_broken_repository_config_falls_back_to_the_organisations(
    harness: Harness,
) -> None:
    harness.github.files[REPO_CFG] = "default_severity: P9\n"
    harness.github.files[ORG_CFG] = "roster:\n  release_manager.rohan-patel: org-ic\n"
    await declare(harness)
    assert harness.github.issue().assignees == ["org-ic"]
    assert sum('"k":"config-error"' in c for c in harness.github.posted_comments()) == 1


async def test_the_last_good_config_is_used_when_a_good_one_breaks(harness: Harness) -> None:
    harness.github.files[REPO_CFG] = "roster:\n  release_manager.rohan-patel: good-ic\n"
    await declare(harness)
    harness.github.files[REPO_CFG] = "roster: ["
    harness.app.state.reconciler.config._cache.clear()  # the brief cache expires
    harness.github.add_issue(2, labels=("incident", "sev:P2"))
    payload = delivery_for(harness.github, "issues.opened-incident-p0.json", number=2)
    await harness.deliver("issues", payload)
    assert harness.github.issue(2).assignees == ["good-ic"]
