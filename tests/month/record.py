"""Write this folder's recording of a month of incidents (May 2019) from the suite's GitHub
double: `python -m tests.month.record`. `incident-app report --offline tests/month --repo
Codertocat/Hello-World --since 2019-05-01` reads it; tests/golden/monthly-review.md is its review."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import respx

from app.core import markers
from tests.conftest import APP_INFO, REPO, Clock, GitHubDouble, IssueState

HERE = Path(__file__).parent
MAY = datetime(2019, 5, 1, tzinfo=UTC)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return MAY + timedelta(days=day - 1, hours=hour, minutes=minute)


def build() -> GitHubDouble:
    github = GitHubDouble(respx.MockRouter(), Clock(MAY))

    def incident(number: int, title: str, sev: str, start: datetime, *labels: str) -> None:
        github.add_issue(
            number, labels=("incident", f"sev:{sev}", *labels), created_at=start, title=title
        )

    # P0: acknowledged in 8 minutes, resolved in 1 h 40 m.
    incident(1, "Checkout returns 502 for every user", "P0", at(6, 15, 20))
    github.comment(1, "/ack", at=at(6, 15, 28), by="rohan")
    github.close(1, at=at(6, 17, 0), by="rohan")
    # P1: acknowledged after 70 minutes (missed), resolved in 3 h (missed: 2 h).
    incident(2, "Search latency above 3s P95", "P1", at(9, 9, 0), "component:search")
    github.comment(2, "/status investigating slow queries", at=at(9, 10, 10), by="morgan")
    github.close(2, at=at(9, 12, 0), by="morgan")
    # P2: acknowledged in 2 h, resolved in 20 h.
    incident(3, "Checkout returns 502 for EU users", "P2", at(14, 8, 0))
    github.comment(3, "/ack", at=at(14, 10, 0), by="casey")
    github.close(3, at=at(15, 4, 0), by="casey")
    # P3, a recurrence of #2 by its component: acknowledged the next morning, still open.
    incident(4, "Search results page flickers", "P3", at(20, 16, 0), "component:search")
    github.comment(4, "/ack", at=at(21, 9, 30), by="casey")
    # A drill: left out of every number.
    incident(5, "Drill: payments provider down", "P1", at(22, 10, 0), "drill")
    github.comment(5, "/ack", at=at(22, 10, 5), by="rohan")
    github.close(5, at=at(22, 11, 0), by="rohan")
    # Action items of #1's review: one done, one overdue, one not yet due.
    for number, horizon, state, due in (
        (10, "immediate", "closed", at(14, 10)),
        (11, "immediate", "open", at(14, 10)),
        (12, "long-term", "open", at(31, 10) + timedelta(days=60)),
    ):
        body = markers.render(markers.ActionItem(1, f"r1:{horizon}-{number}", due.isoformat()))
        github.issues[(REPO, number)] = IssueState(
            REPO,
            number,
            f"Action item {number}",
            ["action-item", f"horizon:{horizon}"],
            [],
            state,
            at(10, 10),
            "incident-app[bot]",
            body=body,
            ours=True,
        )
    return github


def main() -> None:
    github = build()
    incidents = [i for i in github.issues.values() if "incident" in i.labels]
    items = [i for i in github.issues.values() if "action-item" in i.labels]
    (HERE / "timelines").mkdir(exist_ok=True)
    dump = lambda data: json.dumps(data, indent=2, sort_keys=True) + "\n"  # noqa: E731
    (HERE / "issues.json").write_text(dump([i.json(github.api) for i in incidents]))
    (HERE / "action-items.json").write_text(dump([i.json(github.api) for i in items]))
    for issue in incidents:
        timeline = [{k: v for k, v in t.items() if not k.startswith("_")} for t in issue.timeline]
        (HERE / "timelines" / f"{issue.number}.json").write_text(dump(timeline))
    (HERE / "incident.yml").write_text(
        "roster:\n  release_manager.rohan-patel: rohan\n  architect.morgan-lee: morgan\n"
        "  team_lead.casey-brooks: casey\n"
    )
    print("app id", APP_INFO["id"])


if __name__ == "__main__":
    main()
