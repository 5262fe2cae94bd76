"""The public status site, end to end over the GitHub double (issue 24): a P1's public
updates reach the Pages branch, its internal ones never; resolution updates the site; a
redelivery, a second run or a tick makes no second commit; two repositories share a site."""

from __future__ import annotations

import copy
import json
from typing import Any

import feedparser
import pytest

from app.core import markers
from tests.conftest import (
    CRON_SECRET,
    INSTALLATION_ID,
    REPO,
    Harness,
    comment_payload,
    delivery_for,
    marked,
)
from tests.factories import ROSTER

pytestmark = pytest.mark.anyio

SITE_REPO = "Codertocat/status"
BRANCH = "gh-pages"
SITE = f"statuspage: {{repository: {SITE_REPO}, branch: {BRANCH}}}\n"
SITE_CONFIG = "site:\n  title: Acme status\n  components: [API, Checkout]\n"
INTERNAL = "db-7 primary ran out of disk; rohan is failing over"
PUBLIC = "Some customers cannot check out. We have found the cause and are fixing it."
OTHER = "Codertocat/Billing"


def arrange(harness: Harness, repo: str = REPO) -> None:
    github = harness.github
    github.files[(repo.lower(), ".github/incident.yml")] = ROSTER + SITE
    github.files[(SITE_REPO.lower(), ".github/incident.yml")] = SITE_CONFIG


async def declared(harness: Harness, repo: str = REPO) -> None:
    arrange(harness, repo)
    harness.github.add_issue(labels=("incident", "sev:P1"), repo=repo)
    payload = delivery_for_repo(harness, "issues.opened-incident-p0.json", repo)
    await harness.deliver("issues", payload, delivery=f"open-{repo}")
    harness.clock.advance(minutes=5)


def delivery_for_repo(harness: Harness, name: str, repo: str) -> dict[str, Any]:
    payload = delivery_for(harness.github, name) if repo == REPO else _other(harness, name, repo)
    return payload


def _other(harness: Harness, name: str, repo: str) -> dict[str, Any]:
    from tests.conftest import load

    payload = copy.deepcopy(load(name))
    payload["issue"].update(harness.github.issue(1, repo).json(harness.github.api))
    owner, short = repo.split("/")
    payload["repository"] = {
        **payload["repository"],
        "name": short,
        "full_name": repo,
        "owner": {**payload["repository"]["owner"], "login": owner},
    }
    payload["installation"] = {"id": INSTALLATION_ID}
    return payload


async def say(
    harness: Harness, body: str, *, repo: str = REPO, by: str = "alice"
) -> dict[str, Any]:
    github = harness.github
    github.permissions[(repo.lower(), by)] = "write"
    item = github.comment(1, body, at=harness.clock.now, by=by, repo=repo, association="MEMBER")
    payload = (
        comment_payload(harness, item) if repo == REPO else _comment_other(harness, item, repo)
    )
    await harness.deliver("issue_comment", payload, delivery=f"c-{item['id']}")
    harness.clock.advance(minutes=2)
    return item


def _comment_other(harness: Harness, item: dict[str, Any], repo: str) -> dict[str, Any]:
    payload = _other(harness, "issue_comment.created.json", repo)
    payload["comment"] = {
        k: v for k, v in item.items() if k not in ("event", "actor") and not k.startswith("_")
    }
    return payload


def site(harness: Harness) -> dict[str, str]:
    return harness.github.git_files(SITE_REPO, BRANCH)


def commits(harness: Harness) -> int:
    return len(harness.github.git_log(SITE_REPO, BRANCH))


async def tick(harness: Harness) -> None:
    response = await harness.client.post(
        "/cron/tick", headers={"Authorization": f"Bearer {CRON_SECRET}"}
    )
    assert response.status_code == 200


async def test_public_updates_reach_the_site_and_internal_ones_never(harness: Harness) -> None:
    await declared(harness)
    await say(harness, f"/status mitigating {INTERNAL}")
    assert site(harness) == {}  # nothing public yet: the incident is not listed
    await say(harness, f"/public {PUBLIC}\n/component Checkout partial-outage")

    files = site(harness)
    [page] = [p for p in files if p.startswith("incidents/")]
    assert {"index.html", "feed.atom", "status.json", "history.json", ".nojekyll"} <= set(files)
    for path in ("index.html", page, "feed.atom", "status.json"):
        assert "cannot check out" in files[path]
        for internal in ("db-7", "rohan", "Hello-World", "Checkout returns 502"):
            assert internal not in files[path], (path, internal)
    assert "Partial outage" in files["index.html"]
    assert "<title>Acme status</title>" in files["index.html"]  # the status repository's title
    feed = feedparser.parse(files["feed.atom"])
    assert not feed.bozo and [e.summary for e in feed.entries] == [PUBLIC]
    summary = json.loads(files["status.json"])
    assert summary["status"]["indicator"] == "major"
    assert [i["incident_updates"][0]["body"] for i in summary["incidents"]] == [PUBLIC]
    # The issue says where the incident is published, under the same opaque id.
    [note] = marked(harness.github.posted_comments(), markers.PublicRecord)
    assert page in note
    assert commits(harness) == 1


async def test_resolution_updates_the_site_once(harness: Harness) -> None:
    await declared(harness)
    await say(harness, f"/public {PUBLIC}\n/component Checkout major-outage")
    assert commits(harness) == 1
    harness.clock.advance(minutes=30)
    await say(harness, "/status resolved failed over to db-8")

    files = site(harness)
    assert "All Systems Operational" in files["index.html"]
    assert "This incident has been resolved" in files["feed.atom"]
    [incident] = json.loads(files["history.json"])["incidents"]
    assert incident["resolved_at"] is not None
    assert json.loads(files["status.json"])["incidents"] == []
    assert "db-8" not in "".join(files.values())
    assert commits(harness) == 2


async def test_a_redelivery_a_rerun_or_a_tick_makes_no_second_commit(harness: Harness) -> None:
    await declared(harness)
    item = await say(harness, f"/public {PUBLIC}")
    assert commits(harness) == 1
    before = site(harness)
    await harness.deliver("issue_comment", comment_payload(harness, item), delivery="again")
    harness.app.state.reconciler.publisher._sites.clear()  # a fresh replica knows nothing
    await harness.deliver("issue_comment", comment_payload(harness, item), delivery="replica")
    await tick(harness)
    assert commits(harness) == 1
    assert site(harness) == before


async def test_changes_inside_a_minute_wait_for_the_next_tick(harness: Harness) -> None:
    await declared(harness)
    await say(harness, "/public We are investigating reports of failed payments.")
    harness.clock.advance(seconds=-100)  # the next comment comes 20 s after the commit
    await say(harness, "/public title Failed payments")
    assert commits(harness) == 1
    assert "Failed payments" not in site(harness)["index.html"]
    harness.clock.advance(minutes=1)
    await tick(harness)
    assert commits(harness) == 2
    assert "Failed payments" in site(harness)["index.html"]


async def test_two_repositories_share_one_site(harness: Harness) -> None:
    harness.github.repos[INSTALLATION_ID].append(OTHER)
    await declared(harness)
    await say(harness, "/public Checkout is slow.\n/component Checkout degraded")
    harness.clock.advance(minutes=2)
    await declared(harness, OTHER)
    await say(harness, "/public Invoices are delayed.\n/component API degraded", repo=OTHER)

    files = site(harness)
    assert len([p for p in files if p.startswith("incidents/")]) == 2
    assert "Checkout is slow." in files["index.html"]
    assert "Invoices are delayed." in files["index.html"]
    assert "Billing" not in "".join(files.values())


async def test_a_stranger_cannot_publish(harness: Harness) -> None:
    await declared(harness)
    github = harness.github
    item = github.comment(1, "/public We were hacked lol", at=harness.clock.now, by="mallory")
    github.permissions[(REPO.lower(), "mallory")] = "read"
    await harness.deliver("issue_comment", comment_payload(harness, item), delivery="stranger")
    assert site(harness) == {}
    assert int(item["reactions"].get("+1", 0)) == 0


async def test_a_cname_the_branch_has_is_kept(harness: Harness) -> None:
    await declared(harness)
    await say(harness, f"/public {PUBLIC}")
    github = harness.github
    head = github.refs[(SITE_REPO, BRANCH)]
    tree = github.git_objects[head]["tree"]
    cname = github._store("blob", {"content": "status.acme.com\n"})
    entries = {**github.git_objects[tree]["entries"], "CNAME": cname}
    new_tree = github._store("tree", {"entries": entries})
    github.refs[(SITE_REPO, BRANCH)] = github._store(
        "commit",
        {"tree": new_tree, "parents": [head], "message": "CNAME", "date": "2019-05-15T15:00:00Z"},
    )
    harness.clock.advance(minutes=5)
    await say(harness, "/public resolved Checkout works again.")
    files = site(harness)
    assert files["CNAME"] == "status.acme.com\n"
    feed = files["feed.atom"]
    assert "https://status.acme.com/incidents/" in feed


async def _label(harness: Harness, name: str, by: str, remove: bool = False) -> None:
    from tests.conftest import user

    github = harness.github
    if remove:
        github.unlabel(1, name, at=harness.clock.now, by=by)
    else:
        github.label(1, name, at=harness.clock.now, by=by)
    action = "unlabeled" if remove else "labeled"
    payload = delivery_for(github, "issues.labeled-sev-p1.json", action=action)
    payload["label"] = {"name": name, "color": "ededed"}
    payload["sender"] = user(by)
    await harness.deliver("issues", payload, delivery=f"{action}-{name}-{harness.clock.now}")
    harness.clock.advance(minutes=1)


async def test_a_strangers_customer_facing_label_is_undone(harness: Harness) -> None:
    await declared(harness)
    harness.github.permissions[(REPO.lower(), "trudy")] = "triage"
    await _label(harness, "customer-facing", "trudy")
    assert "customer-facing" not in harness.github.issue().labels
    [reply] = marked(harness.github.posted_comments(), markers.Undone)
    assert "@trudy adding `customer-facing` was undone" in reply

    harness.github.permissions[(REPO.lower(), "alice")] = "write"
    await _label(harness, "customer-facing", "alice")
    assert "customer-facing" in harness.github.issue().labels
    harness.github.permissions[(REPO.lower(), "trudy")] = "triage"
    await _label(harness, "customer-facing", "trudy", remove=True)
    assert "customer-facing" in harness.github.issue().labels  # put back


async def test_a_branch_moved_meanwhile_is_read_again_and_kept(harness: Harness) -> None:
    await declared(harness)
    await say(harness, "/public We are investigating.")
    github = harness.github
    # Someone else commits to the branch while the app writes: its fast-forward is refused.
    head = github.refs[(SITE_REPO, BRANCH)]
    tree = github.git_objects[head]["tree"]
    readme = github._store("blob", {"content": "# status\n"})
    other_tree = github._store(
        "tree", {"entries": {**github.git_objects[tree]["entries"], "README.md": readme}}
    )
    other = github._store(
        "commit",
        {
            "tree": other_tree,
            "parents": [head],
            "message": "readme",
            "date": "2019-05-15T15:00:00Z",
        },
    )

    original = github._git_create

    def racing(kind: str, body: object) -> object:
        answer = original(kind, body)
        if kind == "commit" and github.refs[(SITE_REPO, BRANCH)] == head:
            github.refs[(SITE_REPO, BRANCH)] = other  # between the app's read and its update
        return answer

    github._git_create = racing  # type: ignore[method-assign]
    harness.clock.advance(minutes=5)
    await say(harness, "/public resolved Fixed.")

    files = site(harness)
    assert files["README.md"] == "# status\n"  # the other writer's file is kept
    assert "Fixed." in files["feed.atom"]
    log = github.git_log(SITE_REPO, BRANCH)
    assert [c["message"] for c in log][:2] == ["Update the status site", "readme"]
    updates = [r for r in github.requests if r[0] == "PATCH" and "/git/refs/" in r[1]]
    assert len(updates) == 2  # one refused (not a fast-forward), one after reading again


async def test_public_update_reminders_come_once_per_window_on_the_tick(harness: Harness) -> None:
    await declared(harness)  # P1: a public update is due every 2 hours
    harness.clock.advance(hours=2)
    await tick(harness)
    await tick(harness)
    reminders = marked(harness.github.posted_comments(), markers.PublicReminder)
    assert len(reminders) == 1
    assert "a public update was due" in reminders[0]
    await say(harness, "/public We are investigating.")
    harness.clock.advance(hours=1)
    await tick(harness)
    assert len(marked(harness.github.posted_comments(), markers.PublicReminder)) == 1
    harness.clock.advance(hours=1)
    await tick(harness)
    assert len(marked(harness.github.posted_comments(), markers.PublicReminder)) == 2


async def test_another_owners_status_repository_is_never_written(harness: Harness) -> None:
    github = harness.github
    github.files[(REPO.lower(), ".github/incident.yml")] = (
        ROSTER + "statuspage: {repository: acme/status, branch: gh-pages}\n"
    )
    github.add_issue(labels=("incident", "sev:P1"))
    await harness.deliver("issues", delivery_for(github, "issues.opened-incident-p0.json"))
    harness.clock.advance(minutes=5)
    item = await say(harness, f"/public {PUBLIC}")
    assert int(item["reactions"].get("+1", 0)) == 1  # the command itself is handled
    assert not [r for r in github.requests if "/repos/acme/status" in r[1]]


async def test_an_empty_status_repository_gets_its_first_commit(harness: Harness) -> None:
    harness.github.empty.add(SITE_REPO)  # created without a README: not one commit
    await declared(harness)
    await say(harness, f"/public {PUBLIC}")

    files = site(harness)
    assert PUBLIC in files["index.html"]
    assert files[".nojekyll"] == ""
    assert [c["message"] for c in harness.github.git_log(SITE_REPO, BRANCH)] == [
        "Update the status site",
        "Start the status site",
    ]
    await say(harness, "/public resolved Checkout works again.")
    assert commits(harness) == 3


async def test_a_change_waiting_for_its_minute_is_not_lost_by_a_restart(harness: Harness) -> None:
    await declared(harness)
    await say(harness, f"/public {PUBLIC}")
    harness.clock.advance(seconds=-100)  # the resolution comes 20 s after the commit: it waits
    await say(harness, "/status resolved failed over to db-8")
    harness.github.issue().state = "closed"
    assert commits(harness) == 1
    harness.app.state.reconciler.publisher._sites.clear()  # restarted: what waited is gone
    harness.clock.advance(minutes=1)
    await tick(harness)  # reads the incident again (closed lately) from GitHub's record
    assert commits(harness) == 2
    assert "All Systems Operational" in site(harness)["index.html"]


async def test_a_component_the_site_does_not_list_never_reaches_it(harness: Harness) -> None:
    await declared(harness)
    item = await say(
        harness, f"/public {PUBLIC}\n/component db-7 major-outage\n/component checkout degraded"
    )

    files = site(harness)
    for path, text in files.items():
        assert "db-7" not in text, path  # history.json included: Pages serves it too
    assert "Degraded performance" in files["index.html"]
    summary = json.loads(files["status.json"])
    assert [c["name"] for c in summary["components"]] == ["API", "Checkout"]
    before = len(harness.github.requests)
    await harness.deliver("issue_comment", comment_payload(harness, item), delivery="again")
    assert not [r for r in harness.github.requests[before:] if SITE_REPO in r[1]]
    assert commits(harness) == 1
