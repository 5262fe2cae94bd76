"""Hostile repository configs: no reading other repositories, no repeating their text, no
writing outside the repository, nothing `check-config` accepts that planning cannot use."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest

from app.cli import main
from app.core import markers
from tests.conftest import CRON_SECRET, REPO, T0, Harness, delivery_for, marked
from tests.e2e.test_pir import say
from tests.factories import ROSTER_IC

pytestmark = pytest.mark.anyio

REPO_CFG = (REPO.lower(), ".github/incident.yml")
ORG_CFG = ("codertocat/.github", ".github/incident.yml")
SECRET = "hunter2-db-password"
SECRET_FILE = f"calendar:\n  timezone: {SECRET}\n{SECRET}: 1\n"
ROSTER = ROSTER_IC
EXTENDS_RULE = "may name only this repository or the organisation's .github repository (same owner)"


async def declare(harness: Harness, *labels: str) -> None:
    harness.github.add_issue(labels=labels or ("incident", "sev:P1"))
    await harness.deliver("issues", delivery_for(harness.github, "issues.opened-incident-p0.json"))


def reads(harness: Harness) -> list[str]:
    return [p for m, p, _ in harness.github.requests if "/contents/" in p and m == "GET"]


def report(harness: Harness) -> str:
    (found,) = marked(harness.github.posted_comments(), markers.ConfigProblem)
    return found


def nothing_secret_said(harness: Harness) -> None:
    for body in harness.github.posted_comments():
        assert SECRET not in body


async def tick(harness: Harness, minutes: float) -> None:
    harness.clock.now = T0 + timedelta(minutes=minutes)
    response = await harness.client.post(
        "/cron/tick", headers={"Authorization": f"Bearer {CRON_SECRET}"}
    )
    assert response.status_code == 200


# --- _extends: this repository or the organisation's .github, nothing else -------------------


@pytest.mark.parametrize(
    "value",
    [
        "other/private-repo:deploy/prod.yml",
        "Codertocat/private-repo:deploy/prod.yml",
        "private-repo",
        "other/.github",
        "other/Hello-World",
    ],
)
async def test_extends_of_another_repository_reads_nothing_and_says_the_rule(
    harness: Harness, value: str
) -> None:
    github = harness.github
    github.files[REPO_CFG] = f"_extends: {value}\n"
    for repo in ("other/private-repo", "codertocat/private-repo", "other/.github"):
        for path in ("deploy/prod.yml", ".github/incident.yml"):
            github.files[(repo, path)] = SECRET_FILE
    github.files[("other/hello-world", ".github/incident.yml")] = SECRET_FILE
    await declare(harness)
    # The repository's config, then the organisation's as the lookup's fallback: no more.
    assert reads(harness) == [
        f"/repos/{REPO}/contents/.github/incident.yml",
        "/repos/Codertocat/.github/contents/.github/incident.yml",
    ]
    text = report(harness)
    assert f"| `{REPO}:.github/incident.yml` | `_extends` |" in text
    assert EXTENDS_RULE in text
    nothing_secret_said(harness)
    assert any('"k":"brief"' in c for c in github.posted_comments())


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        (".github:../private-repo/deploy/prod.yml", "no . or .. segment"),
        ("Hello-World:../../private-repo/contents/x.yml", "no . or .. segment"),
        (".github:/deploy/prod.yml", "no leading /"),
        (".github:deploy\\\\prod.yml", "no backslash"),
        ("https://evil.example/x.yml", "not a URL"),
        ("..", "must be [owner/]repository[:path]"),
    ],
)
async def test_extends_paths_stay_inside_the_repository(
    harness: Harness, value: str, rule: str
) -> None:
    harness.github.files[REPO_CFG] = f'_extends: "{value}"\n'
    await declare(harness)
    assert reads(harness) == [
        f"/repos/{REPO}/contents/.github/incident.yml",
        "/repos/Codertocat/.github/contents/.github/incident.yml",
    ]
    assert rule in report(harness)


@pytest.mark.parametrize(
    ("value", "where"),
    [
        ("Hello-World:ops/incident-base.yml", (REPO.lower(), "ops/incident-base.yml")),
        ("Codertocat/Hello-World:ops/base.yml", (REPO.lower(), "ops/base.yml")),
        (".github:policies/incident.yml", ("codertocat/.github", "policies/incident.yml")),
        ("codertocat/.github", ORG_CFG),
    ],
)
async def test_extends_within_the_repository_or_the_organisations_github(
    harness: Harness, value: str, where: tuple[str, str]
) -> None:
    harness.github.files[REPO_CFG] = f"_extends: {value}\n"
    harness.github.files[where] = "roster:\n  release_manager.rohan-patel: base-ic\n"
    await declare(harness)
    assert harness.github.issue().assignees == ["base-ic"]
    assert not marked(harness.github.posted_comments(), markers.ConfigProblem)


# --- problems in the organisation's files: counted, never quoted ------------------------------


@pytest.mark.parametrize(
    ("repo_cfg", "org_files"),
    [
        ("_extends: .github\n", {ORG_CFG: SECRET_FILE}),
        (None, {ORG_CFG: SECRET_FILE}),
        (
            None,
            {
                ORG_CFG: "_extends: .github:secret-base.yml\n",
                ("codertocat/.github", "secret-base.yml"): SECRET_FILE,
            },
        ),
        (
            "_extends: .github\n",
            {
                ORG_CFG: "_extends: .github:secret-base.yml\n",
                ("codertocat/.github", "secret-base.yml"): SECRET_FILE,
            },
        ),
    ],
    ids=["extended", "fallback", "fallback-chain", "extended-chain"],
)
async def test_problems_of_the_organisations_config_are_counted_not_shown(
    harness: Harness, repo_cfg: str | None, org_files: dict[tuple[str, str], str]
) -> None:
    if repo_cfg is not None:
        harness.github.files[REPO_CFG] = repo_cfg
    harness.github.files.update(org_files)
    await declare(harness)
    text = report(harness)
    assert (
        "| `Codertocat/.github:.github/incident.yml` | `file` | 2 problem(s); details are not "
        "shown here: run incident-app check-config on that file |"
    ) in text
    assert "timezone" not in text and "secret-base" not in text
    nothing_secret_said(harness)
    assert any('"k":"brief"' in c for c in harness.github.posted_comments())


@pytest.mark.parametrize(
    "org_file",
    [
        "roster:\n  hunter2-db-password: 'not a login'\n",
        "roles:\n  hunter2-db-password: {members: []}\n",
        "severities:\n  P1:\n    respond_within: hunter2-db-password\n",
        "pir:\n  path: ../hunter2-db-password\n",
        "pir:\n  label: 'hunter2-db-password,x'\n",
    ],
)
async def test_the_repositorys_own_problems_are_shown_beside_the_organisations_count(
    harness: Harness, org_file: str
) -> None:
    harness.github.files[REPO_CFG] = (
        "_extends: .github\nroster:\n  release_manager.rohan-patel: rohan\n"
        "severities:\n  P2:\n    respond_within: soon\n"
    )
    harness.github.files[ORG_CFG] = org_file
    await declare(harness)
    text = report(harness)
    assert (
        f"| `{REPO}:.github/incident.yml` | `severities.P2.respond_within` | 'soon' is not a "
        "duration"
    ) in text
    assert "| `Codertocat/.github:.github/incident.yml` | `file` | 1 problem(s);" in text
    nothing_secret_said(harness)


@pytest.mark.parametrize(
    "org_file",
    [
        "roster: {a: *hunter2-db-password}\n",
        'roles:\n  incident_commander: {title: "\\uD800 hunter2-db-password"}\n',
        "hunter2-db-password: [\n",
    ],
)
async def test_an_unreadable_organisation_config_is_counted_not_shown(
    harness: Harness, org_file: str
) -> None:
    harness.github.files[REPO_CFG] = "_extends: .github\n" + ROSTER
    harness.github.files[ORG_CFG] = org_file
    await declare(harness)
    assert "| `Codertocat/.github:.github/incident.yml` | `file` | 1 problem(s);" in report(harness)
    nothing_secret_said(harness)


async def test_the_repository_overriding_a_bad_organisation_value_is_fine(
    harness: Harness,
) -> None:
    harness.github.files[REPO_CFG] = "_extends: .github\ncalendar:\n  timezone: Europe/Berlin\n"
    harness.github.files[ORG_CFG] = (
        f"calendar:\n  timezone: {SECRET}\nroster:\n  release_manager.rohan-patel: org-ic\n"
    )
    await declare(harness)
    assert harness.github.issue().assignees == ["org-ic"]
    assert not marked(harness.github.posted_comments(), markers.ConfigProblem)


async def test_a_cycle_through_the_organisations_config_names_no_file_of_it(
    harness: Harness,
) -> None:
    harness.github.files[REPO_CFG] = "_extends: .github\n"
    harness.github.files[ORG_CFG] = "_extends: .github:hunter2-db-password.yml\n"
    harness.github.files[("codertocat/.github", "hunter2-db-password.yml")] = "_extends: .github\n"
    await declare(harness)
    assert "cycle" in report(harness)
    nothing_secret_said(harness)


async def test_a_missing_file_named_by_the_organisations_config_is_not_named(
    harness: Harness,
) -> None:
    harness.github.files[ORG_CFG] = "_extends: .github:hunter2-db-password.yml\n"
    await declare(harness)
    assert "names a file that does not exist" in report(harness)
    nothing_secret_said(harness)


async def test_a_missing_file_named_by_the_repository_is_named(harness: Harness) -> None:
    harness.github.files[REPO_CFG] = "_extends: .github:base/incident.yml\n"
    await declare(harness)
    assert "Codertocat/.github:base/incident.yml does not exist" in report(harness)


async def test_configs_are_parsed_off_the_event_loop(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    import app.github.config

    threads: list[bool] = []
    parse = app.github.config.parse_yaml

    def spy(text: str, *, source: str) -> object:
        threads.append(threading.current_thread() is threading.main_thread())
        return parse(text, source=source)

    monkeypatch.setattr(app.github.config, "parse_yaml", spy)
    harness.github.files[REPO_CFG] = "_extends: .github\n"
    harness.github.files[ORG_CFG] = ROSTER
    await declare(harness)
    assert threads == [False, False]
    assert harness.github.issue().assignees == ["rohan"]


# --- the review's folder: inside this repository ---------------------------------------------


async def test_a_review_path_out_of_the_repository_is_refused_and_the_default_used(
    harness: Harness,
) -> None:
    github = harness.github
    github.files[REPO_CFG] = ROSTER + "pir:\n  path: ../../victim/contents/docs\n  label: 'a,b'\n"
    github.add_issue(labels=("incident", "sev:P1"))
    await harness.deliver("issues", delivery_for(github, "issues.opened-incident-p0.json"))
    await say(harness, 5, "/status resolved")
    puts = [p for m, p, _ in github.writes if m == "PUT"]
    assert len(puts) == 1
    assert puts[0].startswith(f"/repos/{REPO}/contents/ops/docs/incidents/2019-05-15-1-")
    assert github.issue(2).labels == ["pir"]
    text = report(harness)
    assert "| `pir.path` | must be a relative folder in this repository" in text
    assert "| `pir.label` | must be a GitHub label: 1 to 50 characters, no commas |" in text


# --- everything check-config accepts can be planned -------------------------------------------

UNPLANNABLE = [
    ("severities:\n  P0:\n    update_every: 0m\n", "severities.P0.update_every"),
    ("severities:\n  P0:\n    respond_within: 0m\n", "severities.P0.respond_within"),
    ("calendar:\n  working_hours: '99:99-00:00'\n", "calendar.working_hours"),
    ("calendar:\n  working_hours: '17:00-09:00'\n", "calendar.working_hours"),
    ("severities:\n  P0:\n    escalate_after: 99999999w\n", "severities.P0.escalate_after"),
    ("severities:\n  P0:\n    respond_within: 999999bd\n", "severities.P0.respond_within"),
    (
        "calendar:\n  holidays_country: US\n  holidays_subdivision: XX\n",
        "calendar.holidays_subdivision",
    ),
    ("escalation_chain: []\n", "escalation_chain"),
]


@pytest.mark.parametrize(("config", "key"), UNPLANNABLE)
async def test_an_unplannable_config_is_reported_and_the_incident_runs_on_the_default(
    harness: Harness, config: str, key: str
) -> None:
    harness.github.files[REPO_CFG] = ROSTER + config
    await declare(harness, "incident", "sev:P0")
    for minutes in (1, 16, 31, 61, 60 * 24 * 400):
        await tick(harness, minutes)
    comments = harness.github.posted_comments()
    assert any('"k":"brief"' in c for c in comments)
    assert f"`{key}" in report(harness)
    assert marked(comments, markers.Reminder)  # the bundled P0: every 30 minutes


@pytest.mark.parametrize(("config", "key"), UNPLANNABLE)
def test_check_config_refuses_what_planning_cannot_use(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], config: str, key: str
) -> None:
    path = tmp_path / "incident.yml"
    path.write_text(config)
    assert main(["check-config", str(path)]) == 1
    assert f"{path}: {key}" in capsys.readouterr().out


def test_check_config_shows_the_operator_every_detail_of_their_own_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "incident.yml"
    path.write_text(f"calendar:\n  timezone: {SECRET}\npir:\n  path: ../x\n")
    assert main(["check-config", str(path)]) == 1
    out = capsys.readouterr().out
    assert f"{path}: calendar.timezone: unknown timezone '{SECRET}'" in out
    assert f"{path}: pir.path: must be a relative folder" in out
    assert "2 problem(s)" in out
