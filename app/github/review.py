"""What GitHub holds of an incident's review: its issue, branch, document, pull request, the
action items filed from it, and the private repository a sensitive review goes to."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import quote

from app.core import commands as cmd
from app.core import markers, pir, runbook
from app.core.keys import Hints, IssueKey
from app.core.labels import ACTION_ITEM, horizon_of
from app.core.policy import ConfigIssue, Policy
from app.core.snapshot import Followup, Issue, PirRecord, Repo, Snapshot, split_timeline, ts
from app.core.state import IncidentState
from app.github.config import Resolved, read_file
from app.github.port import GitHubPort, paginate


def private_home_needed(snap: Snapshot, policy: Policy, state: IncidentState) -> bool:
    """Is `pir.private_repository` about to receive a review (so worth checking)?"""
    return (
        policy.pir.private_repository is not None
        and state.sensitive
        and not snap.repo.private
        and pir.current_round(state) is not None
    )


async def private_home(
    gh: GitHubPort, key: IssueKey, snap: Snapshot, resolved: Resolved
) -> Snapshot:
    """The snapshot with the configured private repository for a sensitive review, or a
    config problem when it is not one of the owner's private repositories."""
    name = resolved.policy.pir.private_repository
    # Only a definite answer decides: a 404 (not visible to this installation) or the
    # repository itself; anything else raises, and the next run asks again.
    found = await gh.request("GET", f"/repos/{name}", ok=(404,))
    if found.status == 200 and isinstance(found.data, dict):
        snap = replace(snap, private_home=Repo.from_api(found.data))
    if runbook.private_home(snap, resolved.policy) is not None:
        return snap
    problem = ConfigIssue(
        resolved.source,
        # An organisation's file may name a repository this one's readers must
        # not learn of: then only counted on the issue (ConfigIssue.foreign).
        "pir.private_repository",
        f"'{name}' is not a private repository of {key.owner} where the app is "
        "installed; the review of this sensitive incident is held privately",
        foreign=not resolved.source.lower().startswith(key.full_name.lower() + ":"),
    )
    return replace(snap, config_problems=(*snap.config_problems, problem))


def followup_needed(snap: Snapshot, state: IncidentState, hints: Hints | None) -> bool:
    """Is there action-item work that needs GitHub's record of what was filed?"""
    if hints is not None and hints.followup:
        return True  # a review's pull request was just merged
    listed = {k for n in state.notes_of(markers.ActionList) for k in n.marker.keys}
    linked = runbook.linked_round(state)
    unlisted = linked is not None and not any(k.startswith(f"r{linked[0]}:") for k in listed)
    if unlisted and snap.issue.state == "closed":
        return True  # the review may have been merged while the app was away
    return any(
        use.authorized
        and isinstance(use.command, cmd.AddActionItem)
        and f"c{use.comment.id}" not in listed
        for use in state.uses
    )


async def followup(
    gh: GitHubPort,
    key: IssueKey,
    snap: Snapshot,
    policy: Policy,
    state: IncidentState,
    *,
    app_id: int | None,
) -> Followup:
    """The action items already filed for this incident, and its merged review document."""
    repo = key.full_name
    items = await paginate(
        gh, f"/repos/{repo}/issues", params={"labels": ACTION_ITEM, "state": "all"}
    )
    filed = []
    for item in items:
        issue = Issue.from_api(item, app_id=app_id)
        if not issue.ours:
            continue  # only the app's own issues are its records
        horizon = horizon_of(issue.labels)
        for m in markers.of(markers.ActionItem, issue.body):
            if m.incident == key.number:
                filed.append((m.key, issue.number, horizon))
    record = Followup(filed=tuple(filed))
    linked = runbook.linked_round(state)
    links = [n.marker for n in state.notes_of(markers.PirLink) if n.marker.issue]
    where, _ = runbook.review_place(snap, policy, state)
    if links and where is None:
        review = max(links, key=lambda m: m.round).issue
        assert review is not None
        items_there = await paginate(gh, f"/repos/{repo}/issues/{review}/timeline")
        comments, _ = split_timeline(items_there, app_id=app_id)
        listing = [
            (c.id, m.keys)
            for c in comments
            if c.ours
            for m in markers.of(markers.ActionList, c.body)
        ]
        record = replace(
            record, review_issue=review, review_listing=listing[-1] if listing else None
        )
    if linked is None or where is not None:
        return record  # no document here (held privately or elsewhere)
    number, pull, resolved_at = linked
    found = await gh.request("GET", f"/repos/{repo}/pulls/{pull}", ok=(404,))
    data = found.data if isinstance(found.data, dict) else {}
    if found.status != 200 or not data.get("merged_at"):
        return record
    rnd = pir.Round(number, resolved_at, key.number)
    path = pir.document_path(policy, rnd, snap.issue.title)
    text = await read_file(gh, key.owner, key.repo, path)
    return replace(record, merged_at=ts(data["merged_at"]), document=text or "")


async def pir_record(
    gh: GitHubPort,
    key: IssueKey,
    snapshot: Snapshot,
    policy: Policy,
    state: IncidentState,
    *,
    app_id: int | None,
) -> PirRecord | None:
    """Find what a previous run already made of this round's review (it may have crashed)."""
    rnd = runbook.pir_round(snapshot, policy, state)
    if rnd is None:
        return None
    where, held = runbook.review_place(snapshot, policy, state)
    repo = where or key.full_name
    pir_issue = await _pir_issue(gh, key, repo, policy, rnd, app_id=app_id)
    if held:  # held privately: nothing but the issue is written
        return PirRecord(issue=pir_issue)
    default = snapshot.repo.default_branch
    if where is not None:
        info = await gh.request("GET", f"/repos/{where}")
        default = str((info.data or {}).get("default_branch") or "main")
    branch = await gh.request("GET", f"/repos/{repo}/git/ref/heads/{rnd.branch}", ok=(404,))
    record = PirRecord(
        issue=pir_issue,
        branch_exists=branch.status == 200,
        default_branch=default if where else None,
    )
    if branch.status == 200:
        return await _pir_branch(gh, repo, record, policy, rnd, snapshot.issue.title)
    base = await gh.request("GET", f"/repos/{repo}/git/ref/heads/{default}", ok=(404, 409))
    sha = (base.data or {}).get("object", {}).get("sha") if base.status == 200 else None
    if sha is None:
        return replace(record, blocked="the default branch has no commits")
    return replace(record, base_sha=str(sha))


async def _pir_issue(
    gh: GitHubPort,
    key: IssueKey,
    repo: str,
    policy: Policy,
    rnd: pir.Round,
    *,
    app_id: int | None,
) -> int | None:
    """The number of this round's review issue in `repo`, if the app opened one."""
    issues = await paginate(
        gh,
        f"/repos/{repo}/issues",
        params={"labels": policy.pir.label, "state": "all"},
        limit=3,
    )
    # Only an issue the app opened is its review: anyone who can label may open an issue
    # labelled `pir` with a copied marker in its body.
    return next(
        (
            int(item["number"])
            for item in issues
            if Issue.from_api(item, app_id=app_id).ours
            for m in markers.of(markers.PirIssue, str(item.get("body") or ""))
            if m.incident == key.number and m.round == rnd.number and m.repo == rnd.home
        ),
        None,
    )


async def _pir_branch(
    gh: GitHubPort,
    repo: str,
    record: PirRecord,
    policy: Policy,
    rnd: pir.Round,
    title: str,
) -> PirRecord:
    """The record of a review whose branch exists: its document, its pull request."""
    path = pir.document_path(policy, rnd, title)
    found = await gh.request(
        "GET",
        f"/repos/{repo}/contents/{quote(path)}",
        params={"ref": rnd.branch},
        ok=(404,),
    )
    pulls = await gh.request(
        "GET",
        f"/repos/{repo}/pulls",
        params={"head": f"{repo.split('/')[0]}:{rnd.branch}", "state": "all"},
    )
    numbers = [int(p["number"]) for p in pulls.data or [] if isinstance(p, dict)]
    return replace(record, file_exists=found.status == 200, pull=numbers[0] if numbers else None)
