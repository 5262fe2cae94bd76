"""`incident-app report`: the monthly review, read from GitHub's record (or a recording)."""

from __future__ import annotations

from datetime import datetime

from app.core import monthly
from app.core.labels import ACTION_ITEM, INCIDENT
from app.core.policy import Policy
from app.core.snapshot import Issue, Repo, Snapshot, split_timeline, ts
from app.github.port import GitHubPort, paginate


async def build(
    gh: GitHubPort,
    *,
    repo: str,
    policy: Policy,
    since: datetime,
    until: datetime,
    now: datetime,
    app_id: int | None = None,
) -> monthly.Review:
    """The review of the incidents declared in [since, until) and of all action items."""
    owner, _, name = repo.partition("/")
    listed = await paginate(
        gh,
        f"/repos/{repo}/issues",
        params={"labels": INCIDENT, "state": "all", "since": since.isoformat()},
    )
    # Overdue as of the period's end (or now, for the month under way).
    review = monthly.Review(month=since.strftime("%Y-%m"), now=min(now, until))
    for data in listed:
        if data.get("pull_request") or not since <= ts(data["created_at"]) < until:
            continue
        issue = Issue.from_api(data, app_id=app_id)
        items = await paginate(gh, f"/repos/{repo}/issues/{issue.number}/timeline")
        comments, events = split_timeline(items, app_id=app_id)
        snapshot = Snapshot(Repo(owner, name), issue, comments, events)
        measured = monthly.measure(snapshot, policy)
        if measured is not None and since <= measured.declared_at < until:
            review.incidents.append(measured)
    review.recurring = monthly.recurrences(review.incidents)
    actions = await paginate(
        gh, f"/repos/{repo}/issues", params={"labels": ACTION_ITEM, "state": "all"}
    )
    # The items that existed by the period's end.
    review.items = monthly.items_of(
        issue
        for issue in (Issue.from_api(a, app_id=app_id) for a in actions)
        if issue.created_at < until
    )
    return review
