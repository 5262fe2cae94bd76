"""What the app tells the people outside GitHub, and when: one event per write on GitHub,
to the notifiers a repository's `notify:` names for the severity (docs/behaviour.md §10).

The notifiers themselves (Slack, PagerDuty, webhooks) are tested against their stand-ins in
tests/notify/test_notifiers.py; here a recording sink stands in for them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx
import pytest

from app.core import markers
from app.core.notify import Event, Kind
from app.settings import Settings
from app.web.server import create_app
from tests.conftest import (
    CRON_SECRET,
    REPO,
    GitHubDouble,
    Harness,
    Sleeps,
    comment_payload,
    delivery_for,
    marked,
)

pytestmark = pytest.mark.anyio

CONFIG = """\
roster:
  release_manager.rohan-patel: {login: rohan, slack: U0ROHAN1}
  architect.morgan-lee: morgan
  team_lead.casey-brooks: casey
notify:
  - {to: payments-slack, severities: [P0, P1]}
  - {to: payments-pager, severities: [P0]}
  - {to: everything}
"""


class Recorder:
    """The operator's notifiers, as the reconciler sees them: names, and a place to submit."""

    def __init__(self, names: Sequence[str] = ("payments-slack", "payments-pager", "everything")):
        self._names = frozenset(names)
        self.sent: list[tuple[Event, tuple[str, ...]]] = []

    def names(self) -> frozenset[str]:
        return self._names

    def submit(self, event: Event, to: Sequence[str]) -> None:
        self.sent.append((event, tuple(to)))

    def kinds(self) -> list[Kind]:
        return [e.kind for e, _ in self.sent]


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def notifying(
    settings: Settings, github: GitHubDouble, clock: Any, recorder: Recorder
) -> AsyncIterator[Harness]:
    app = create_app(settings, now=clock, sleep=Sleeps(), notifications=recorder)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield Harness(app, client, github, clock)


async def declare(h: Harness, *labels: str, config: str = CONFIG) -> None:
    h.github.files[(REPO.lower(), ".github/incident.yml")] = config
    h.github.add_issue(labels=labels or ("incident", "sev:P0"))
    await h.deliver("issues", delivery_for(h.github, "issues.opened-incident-p0.json"))
    h.clock.advance(minutes=1)


async def say(h: Harness, body: str, by: str = "rohan") -> dict[str, Any]:
    h.github.permissions[(REPO.lower(), by)] = "write"
    item = h.github.comment(1, body, at=h.clock.now, by=by)
    await h.deliver("issue_comment", comment_payload(h, item), delivery=f"c-{item['id']}")
    h.clock.advance(minutes=1)
    return item


async def test_a_declaration_is_one_event_to_each_notifier_the_severity_names(
    notifying: Harness, recorder: Recorder
) -> None:
    await declare(notifying)

    [(event, to)] = recorder.sent
    assert event.kind is Kind.DECLARED
    assert to == ("payments-slack", "payments-pager", "everything")
    assert event.incident == f"{REPO}#1"
    assert event.severity.value == "P0"
    brief = marked(notifying.github.posted_comments(), markers.Brief)[0]
    comment = next(c for c in notifying.github.issue(1).comments if c["body"] == brief)
    assert event.key == f"{REPO}#1:comment:{comment['id']}"
    assert event.url == comment["html_url"]
    assert "rohan" in event.people
    assert event.slack_ids == {"rohan": "U0ROHAN1"}
    assert "<!--" not in event.text


async def test_a_p2_reaches_only_the_notifiers_without_a_severity_list(
    notifying: Harness, recorder: Recorder
) -> None:
    await declare(notifying, "incident", "sev:P2")
    assert [to for _, to in recorder.sent] == [("everything",)]


async def test_status_updates_and_acks_are_told_once_each(
    notifying: Harness, recorder: Recorder
) -> None:
    await declare(notifying)
    ack = await say(notifying, "/ack")
    update = await say(notifying, "/status mitigating rolled back the deploy")
    # The same deliveries again, and a tick's re-plan: nothing is told twice.
    for item in (ack, update):
        await notifying.deliver(
            "issue_comment", comment_payload(notifying, item), delivery=f"again-{item['id']}"
        )
    await notifying.client.post("/cron/tick", headers={"Authorization": f"Bearer {CRON_SECRET}"})

    assert recorder.kinds() == [Kind.DECLARED, Kind.ACKNOWLEDGED, Kind.STATUS]
    status = recorder.sent[2][0]
    assert status.status == "mitigating"
    assert "rolled back the deploy" in status.text
    assert status.url == update["html_url"]


async def test_an_escalation_from_the_tick_is_told(notifying: Harness, recorder: Recorder) -> None:
    await declare(notifying)
    notifying.clock.advance(hours=1)  # P0: not acknowledged within 15 minutes
    answer = await notifying.client.post(
        "/cron/tick", headers={"Authorization": f"Bearer {CRON_SECRET}"}
    )
    assert answer.status_code == 200
    assert Kind.ESCALATED in recorder.kinds()


async def test_resolution_is_told_with_the_all_clear(
    notifying: Harness, recorder: Recorder
) -> None:
    await declare(notifying)
    await say(notifying, "/status resolved fixed")
    kinds = recorder.kinds()
    assert Kind.RESOLVED in kinds
    resolved = next(e for e, _ in recorder.sent if e.kind is Kind.RESOLVED)
    assert resolved.status == "resolved"


async def test_drills_never_leave_github(notifying: Harness, recorder: Recorder) -> None:
    await declare(notifying, "incident", "sev:P0", "drill")
    await say(notifying, "/ack")
    assert marked(notifying.github.posted_comments(), markers.Brief)
    assert recorder.sent == []


async def test_an_unknown_notifier_is_a_config_problem_and_the_rest_still_works(
    notifying: Harness, recorder: Recorder
) -> None:
    config = CONFIG + "  - {to: nobody-defined-this, severities: [P0]}\n"
    await declare(notifying, config=config)

    problems = marked(notifying.github.posted_comments(), markers.ConfigProblem)
    assert len(problems) == 1
    assert "nobody-defined-this" in problems[0]
    # Finding: the public comment listed every notifier the operator defined.
    assert "payments-slack" not in problems[0] and "everything" not in problems[0]
    [(_, to)] = recorder.sent
    assert to == ("payments-slack", "payments-pager", "everything")


async def test_without_notifiers_nothing_is_sent_and_naming_one_is_a_config_problem(
    harness: Harness,
) -> None:
    await declare(harness)
    problems = marked(harness.github.posted_comments(), markers.ConfigProblem)
    assert len(problems) == 1 and "no notifier named" in problems[0]
