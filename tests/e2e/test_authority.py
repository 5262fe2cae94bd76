"""Only people with authority can page, silence or expose an incident (behaviour §8).

Each test is a finding of the round that tried the app as a triager would (GitHub's triage
role: can label, cannot write): it failed on the code before the fix. End to end over the
GitHub double, with a recording sink in place of the operator's notifiers.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from app.core import markers
from app.core.notify import Kind
from tests.conftest import (
    CRON_SECRET,
    REPO,
    Harness,
    comment_payload,
    delivery_for,
    marked,
    user,
)
from tests.e2e.test_notify_events import CONFIG, Recorder, notifying, recorder

__all__ = ["notifying", "recorder"]  # fixtures used below

pytestmark = pytest.mark.anyio

AUTH = {"Authorization": f"Bearer {CRON_SECRET}"}
TRIAGER = "trudy"


async def declare(
    h: Harness, *labels: str, author: str = "Codertocat", config: str = CONFIG
) -> None:
    h.github.files[(REPO.lower(), ".github/incident.yml")] = config
    h.github.add_issue(labels=labels or ("incident", "sev:P2"), author=author)
    payload = delivery_for(h.github, "issues.opened-incident-p0.json")
    payload["sender"] = user(author)
    payload["repository"]["private"] = h.github.private.get(REPO, False)
    await h.deliver("issues", payload, delivery="opened")
    h.clock.advance(minutes=1)


async def label(h: Harness, name: str, *, by: str = TRIAGER, remove: bool = False) -> None:
    """A person labels (or unlabels) the issue, and GitHub delivers it."""
    if by == TRIAGER:
        h.github.permissions[(REPO.lower(), TRIAGER)] = "triage"
    if remove:
        h.github.unlabel(1, name, at=h.clock.now, by=by)
    else:
        h.github.label(1, name, at=h.clock.now, by=by)
    action = "unlabeled" if remove else "labeled"
    payload = delivery_for(h.github, "issues.labeled-sev-p1.json", action=action)
    payload["label"] = {"name": name, "color": "ededed"}
    payload["sender"] = user(by)
    await h.deliver("issues", payload, delivery=f"{action}-{name}-{h.clock.now}")
    h.clock.advance(minutes=1)


async def say(h: Harness, body: str, *, by: str = "rohan", perm: str | None = None) -> Any:
    if perm is not None:
        h.github.permissions[(REPO.lower(), by)] = perm
    item = h.github.comment(1, body, at=h.clock.now, by=by, association="COLLABORATOR")
    await h.deliver("issue_comment", comment_payload(h, item), delivery=f"c-{item['id']}")
    h.clock.advance(minutes=1)
    return item


def undone(h: Harness) -> list[str]:
    return marked(h.github.posted_comments(), markers.Undone)


async def test_a_triagers_breach_label_is_put_back_and_pages_nobody(
    notifying: Harness, recorder: Recorder
) -> None:
    """Finding (high): a triager's `breach` made a P2 a P0, @-mentioned legal and the
    security officer, assigned the P0 roles and sent PagerDuty a P0 trigger."""
    h = notifying
    await declare(h)
    recorder.sent.clear()
    assignees = list(h.github.issue().assignees)

    await label(h, "breach")

    issue = h.github.issue()
    assert "breach" not in issue.labels  # put back
    assert "sev:P2" in issue.labels and "sev:P0" not in issue.labels
    assert issue.assignees == assignees
    assert marked(h.github.posted_comments(), markers.BreachNote) == []
    (reply,) = undone(h)
    assert f"@{TRIAGER} adding `breach` was undone" in reply
    assert "@rohan" in reply  # the incident commander, who may do it
    assert recorder.sent == []

    await label(h, "breach")  # again: put back again, no second reply
    assert "breach" not in h.github.issue().labels
    assert len(undone(h)) == 1


async def test_a_triagers_drill_label_is_put_back_and_the_incident_keeps_paging(
    notifying: Harness, recorder: Recorder
) -> None:
    """Finding (high): labelling a real P0 `drill` silenced every notifier, headed every
    comment as a drill and dropped management and legal."""
    h = notifying
    await declare(h, "incident", "sev:P0")
    recorder.sent.clear()

    await label(h, "drill")
    assert "drill" not in h.github.issue().labels
    (reply,) = undone(h)
    assert f"@{TRIAGER} adding `drill` was undone" in reply

    await say(h, "/ack")
    assert Kind.ACKNOWLEDGED in recorder.kinds()  # still paging
    assert not any("DRILL" in c for c in h.github.posted_comments())


async def test_a_drill_label_from_a_responder_still_makes_a_drill(
    notifying: Harness, recorder: Recorder
) -> None:
    """What the fix keeps: someone with write access may turn an incident into a drill."""
    h = notifying
    await declare(h, "incident", "sev:P0")
    recorder.sent.clear()
    h.github.permissions[(REPO.lower(), "alice")] = "write"
    await label(h, "drill", by="alice")
    await say(h, "/ack")

    assert "drill" in h.github.issue().labels
    assert undone(h) == []
    assert recorder.sent == []  # drills page nobody


async def test_a_triagers_removal_of_security_is_put_back(
    notifying: Harness, recorder: Recorder
) -> None:
    """Finding (medium): removing `security` published the review in the public repository."""
    h = notifying
    await declare(h, "incident", "sev:P1", "security")
    await label(h, "security", remove=True)

    assert "security" in h.github.issue().labels
    (reply,) = undone(h)
    assert f"@{TRIAGER} removing `security` was undone" in reply


async def test_security_is_sticky_a_responders_removal_keeps_the_review_private(
    notifying: Harness, recorder: Recorder
) -> None:
    """Sensitivity is sticky (as `breach` is): once a security incident, its review stays
    out of the public repository, and its Slack events stay confidential."""
    h = notifying
    await declare(h, "incident", "sev:P1", "security")
    h.github.permissions[(REPO.lower(), "alice")] = "write"
    await label(h, "security", by="alice", remove=True)
    assert "security" not in h.github.issue().labels  # a responder's removal stands
    recorder.sent.clear()

    await say(h, "/status resolved rotated the keys")
    await h.client.post("/cron/tick", headers=AUTH)

    github = h.github
    public = [w for w in github.writes if w[1].startswith(f"/repos/{REPO}/")]
    assert not any(p.endswith(("/git/refs", "/pulls")) or "/contents/" in p for _, p, _ in public)
    (review,) = [i for i in github.issues.values() if i.ours and "pir" in i.labels]
    assert "held privately" in review.title
    assert recorder.sent and all(e.confidential for e, _ in recorder.sent)


async def test_removing_incident_and_every_sev_label_puts_them_back_and_the_clock_runs(
    notifying: Harness, recorder: Recorder
) -> None:
    """Finding (medium): a triager removing `incident` and `sev:P0` silently ended a P0: no
    escalation, no reply, the page never resolved."""
    h = notifying
    await declare(h, "incident", "sev:P0")
    await label(h, "incident", remove=True)
    await label(h, "sev:P0", remove=True)

    issue = h.github.issue()
    assert {"incident", "sev:P0"} <= set(issue.labels)
    (reply,) = undone(h)
    assert f"@{TRIAGER} removing `incident` was undone" in reply

    recorder.sent.clear()
    h.clock.now += timedelta(minutes=20)  # past P0's 15-minute response
    await h.client.post("/cron/tick", headers=AUTH)
    assert marked(h.github.posted_comments(), markers.Escalation)
    assert Kind.ESCALATED in recorder.kinds()


async def test_a_missed_delabelling_is_healed_by_the_tick(
    notifying: Harness, recorder: Recorder
) -> None:
    """The webhook was missed: the tick's scan of the repository's issue events finds the
    briefed issue without labels and puts them back."""
    h = notifying
    await declare(h, "incident", "sev:P0")
    h.github.permissions[(REPO.lower(), TRIAGER)] = "triage"
    h.github.unlabel(1, "incident", at=h.clock.now, by=TRIAGER)
    h.github.unlabel(1, "sev:P0", at=h.clock.now, by=TRIAGER)  # and no delivery arrives

    await h.client.post("/cron/tick", headers=AUTH)

    assert {"incident", "sev:P0"} <= set(h.github.issue().labels)
    assert len(undone(h)) == 1


async def test_a_delabelled_issue_without_the_apps_brief_is_no_incident(
    notifying: Harness,
) -> None:
    """The other side: a person's issue that merely lost an incident label it never was
    briefed for is left alone, and costs no writes."""
    h = notifying
    h.github.files[(REPO.lower(), ".github/incident.yml")] = CONFIG
    h.github.add_issue(labels=("incident",), state="closed")
    h.github.issue().state = "open"
    h.github.comment(1, "not an incident after all", at=h.clock.now, by="alice")
    h.github.unlabel(1, "incident", at=h.clock.now, by="alice")
    payload = delivery_for(h.github, "issues.labeled-sev-p1.json", action="unlabeled")
    payload["label"] = {"name": "incident"}
    await h.deliver("issues", payload)
    await h.client.post("/cron/tick", headers=AUTH)
    assert h.github.writes == []


async def test_an_outsiders_p0_issue_form_pages_nobody_until_a_collaborator_acks(
    notifying: Harness, recorder: Recorder
) -> None:
    """Build 2: a declaration nobody with authority touched reaches only the incident
    commander on a public repository; the first command by a responder confirms it, and
    the deferred pages go out once."""
    h = notifying
    await declare(h, "incident", "sev:P0", author="outsider")

    (brief,) = marked(h.github.posted_comments(), markers.Brief)
    assert "Reported by `@outsider`, not yet confirmed" in brief
    assert "@rohan" in brief  # the incident commander
    assert "@morgan" not in brief.replace("`@morgan`", "")  # named, not pinged
    assert "Notifying everyone" not in brief
    assert h.github.issue().assignees == ["rohan"]
    assert recorder.sent == []

    # Its response clock runs from the label, and its escalations climb on GitHub.
    h.clock.now += timedelta(minutes=20)
    await h.client.post("/cron/tick", headers=AUTH)
    assert marked(h.github.posted_comments(), markers.Escalation)
    assert recorder.sent == []

    ack = await say(h, "/ack", by="alice", perm="write")
    (confirmed,) = marked(h.github.posted_comments(), markers.Confirmed)
    assert "confirmed** by @alice" in confirmed
    assert "@morgan" in confirmed and "Notifying everyone (P0)" in confirmed
    assert set(h.github.issue().assignees) >= {"rohan", "morgan"}
    assert recorder.kinds().count(Kind.DECLARED) == 1
    assert Kind.ACKNOWLEDGED in recorder.kinds()

    # Redelivered, late: nothing more.
    sent = len(recorder.sent)
    await h.deliver("issue_comment", comment_payload(h, ack), delivery=f"c-{ack['id']}")
    await h.client.post("/cron/tick", headers=AUTH)
    assert len(marked(h.github.posted_comments(), markers.Confirmed)) == 1
    assert len(recorder.sent) == sent


async def test_an_outsiders_declaration_pages_at_once_where_confirmation_is_off(
    notifying: Harness, recorder: Recorder
) -> None:
    """`declarations.confirm: never`, and a private repository under the default `public`."""
    await declare(
        notifying,
        "incident",
        "sev:P0",
        author="outsider",
        config=CONFIG + "declarations: {confirm: never}\n",
    )
    assert recorder.kinds() == [Kind.DECLARED]
    (brief,) = marked(notifying.github.posted_comments(), markers.Brief)
    assert "not yet confirmed" not in brief


async def test_on_a_private_repository_an_outsiders_declaration_pages(
    notifying: Harness, recorder: Recorder
) -> None:
    notifying.github.private[REPO] = True
    await declare(notifying, "incident", "sev:P0", author="outsider")
    assert recorder.kinds() == [Kind.DECLARED]


async def test_confirm_always_holds_a_private_repositorys_outsider_too(
    notifying: Harness, recorder: Recorder
) -> None:
    notifying.github.private[REPO] = True
    config = CONFIG + "declarations: {confirm: always}\n"
    await declare(notifying, "incident", "sev:P0", author="outsider", config=config)
    assert recorder.sent == []


@pytest.mark.parametrize(
    ("home", "private"),
    [("Codertocat/reviews", False), ("acme/reviews", True)],
    ids=["public-repository", "another-owner"],
)
async def test_a_private_repository_that_is_not_is_refused(
    notifying: Harness, home: str, private: bool
) -> None:
    """Finding (medium): `pir.private_repository` could name any repository of the
    installation, a public one included; the app wrote the review there."""
    h = notifying
    h.github.private[home] = private
    h.github.add_issue(99, repo=home, title="placeholder")
    config = CONFIG + f"pir: {{private_repository: {home}}}\n"
    await declare(h, "incident", "sev:P1", "security", config=config)
    await say(h, "/status resolved patched")
    await h.client.post("/cron/tick", headers=AUTH)

    writes_there = [w for w in h.github.writes if w[1].startswith(f"/repos/{home}/")]
    assert writes_there == []
    (review,) = [i for i in h.github.issues.values() if i.ours and "pir" in i.labels]
    assert review.repo == REPO and "held privately" in review.title
    (problem,) = marked(h.github.posted_comments(), markers.ConfigProblem)
    assert "pir.private_repository" in problem and "held privately" in problem


async def test_a_responder_dismissing_an_outsiders_report_pages_nobody(
    notifying: Harness, recorder: Recorder
) -> None:
    """Review finding: closing a spam declaration (or taking its labels off) counted as
    confirming it, and paged everyone. Dismissing is not confirming."""
    h = notifying
    await declare(h, "incident", "sev:P0", author="outsider")
    h.github.permissions[(REPO.lower(), "alice")] = "write"
    h.github.close(1, at=h.clock.now, by="alice")
    payload = delivery_for(h.github, "issues.labeled-sev-p1.json", action="closed")
    payload["sender"] = user("alice")
    await h.deliver("issues", payload, delivery="closed")
    await h.client.post("/cron/tick", headers=AUTH)

    assert h.github.issue().state == "closed"
    assert marked(h.github.posted_comments(), markers.Confirmed) == []
    assert h.github.issue().assignees == ["rohan"]
    assert recorder.sent == []


async def test_a_confirmation_stays_when_its_comment_is_edited(
    notifying: Harness, recorder: Recorder
) -> None:
    """Review finding: confirmation was recomputed each run, so editing the confirming
    `/ack` silently stopped every later page."""
    h = notifying
    await declare(h, "incident", "sev:P1", author="outsider")
    ack = await say(h, "/ack", by="alice", perm="write")
    assert recorder.kinds().count(Kind.DECLARED) == 1
    h.github.edit(ack, "/ack (edited)", at=h.clock.now)

    h.clock.now += timedelta(hours=30)
    await h.client.post("/cron/tick", headers=AUTH)
    assert Kind.ESCALATED in recorder.kinds()


async def test_a_responders_label_from_before_the_declaration_confirms_nothing(
    notifying: Harness, recorder: Recorder
) -> None:
    """Review finding: a maintainer's `question` label, then an outsider's `sev:P0`, went out
    confirmed: only what someone with authority does since the declaration counts."""
    h = notifying
    h.github.files[(REPO.lower(), ".github/incident.yml")] = CONFIG
    h.github.add_issue(author="outsider")
    h.github.permissions[(REPO.lower(), "alice")] = "write"
    h.github.label(1, "status:investigating", at=h.clock.now, by="alice")
    h.clock.advance(minutes=1)
    await label(h, "sev:P0", by="outsider")

    (brief,) = marked(h.github.posted_comments(), markers.Brief)
    assert "not yet confirmed" in brief
    assert recorder.sent == []


async def test_a_responders_own_incident_label_is_a_confirmed_declaration(
    notifying: Harness, recorder: Recorder
) -> None:
    """Found moving the tests: someone with write access who labels an outsider's issue only
    `incident` had touched it, yet the brief said "not yet confirmed"."""
    h = notifying
    h.github.files[(REPO.lower(), ".github/incident.yml")] = CONFIG
    h.github.add_issue(author="outsider")
    h.github.permissions[(REPO.lower(), "alice")] = "write"
    await label(h, "incident", by="alice")

    (brief,) = marked(h.github.posted_comments(), markers.Brief)
    assert "not yet confirmed" not in brief
    assert recorder.kinds() == [Kind.DECLARED]
