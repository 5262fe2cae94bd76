"""The status site's branch through the Git Data API: read its tree, write one commit.

A write is a tree carrying the changed files' text, a commit and the branch moved. Each
file's Git blob id is compared with the tree's first, so an unchanged site is no commit at
all; the branch moves only by a fast-forward (`force: false`), and a branch that moved
meanwhile raises `BranchMoved` for the caller to read again and retry. An empty repository
(not one commit) refuses the Git Data API (409): its first commit is `.nojekyll`, made
through the contents API, which creates the branch.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import quote

from app.core.snapshot import ts
from app.github.errors import Malformed, Unprocessable
from app.github.port import GitHubPort

MODE = "100644"
FIRST_FILE = ".nojekyll"
FIRST_MESSAGE = "Start the status site"


class BranchMoved(Exception):
    """The branch changed (or was created) between the read and the write."""


@dataclass(frozen=True)
class Branch:
    """What the branch holds: its head commit (None when there is no such branch), when that
    was committed, and each file's blob id by path."""

    name: str
    head: str | None = None
    tree: str | None = None
    committed_at: datetime | None = None
    blobs: Mapping[str, str] = field(default_factory=dict)


def blob_id(text: str) -> str:
    """The id Git gives a file with this text (`git hash-object`)."""
    data = text.encode()
    return hashlib.sha1(b"blob %d\x00" % len(data) + data).hexdigest()


async def read_branch(gh: GitHubPort, repo: str, name: str) -> Branch:
    """The branch's head, its commit time and its files (a missing branch is an empty one)."""
    ref = await gh.request("GET", f"/repos/{repo}/git/ref/heads/{quote(name)}", ok=(404, 409))
    if ref.status in (404, 409):  # no such branch; 409: an empty repository
        return Branch(name)
    try:
        head = str(ref.data["object"]["sha"])
        commit = await gh.request("GET", f"/repos/{repo}/git/commits/{head}")
        tree = str(commit.data["tree"]["sha"])
        committed = ts(commit.data["committer"]["date"])
        listing = await gh.request(
            "GET", f"/repos/{repo}/git/trees/{tree}", params={"recursive": "1"}
        )
        blobs = {
            str(item["path"]): str(item["sha"])
            for item in listing.data["tree"]
            if item.get("type") == "blob"
        }
    except (KeyError, TypeError, ValueError) as exc:
        raise Malformed(
            "GET", f"/repos/{repo}/git/ref/heads/{name}", 200, f"an unreadable branch ({exc!r})"
        ) from None
    return Branch(name, head, tree, committed, blobs)


async def read_text(gh: GitHubPort, repo: str, branch: Branch, path: str) -> str | None:
    """One file of the branch as text, or None when it has none."""
    sha = branch.blobs.get(path)
    if sha is None:
        return None
    reply = await gh.request(
        "GET",
        f"/repos/{repo}/git/blobs/{sha}",
        headers={"Accept": "application/vnd.github.raw+json"},
    )
    if isinstance(reply.data, str):
        return reply.data
    if isinstance(reply.data, dict) and reply.data.get("encoding") == "base64":
        return base64.b64decode(str(reply.data.get("content", ""))).decode("utf-8", "replace")
    return None


def changed(branch: Branch, files: Mapping[str, str]) -> dict[str, str]:
    """The files whose text differs from the branch's."""
    return {path: text for path, text in files.items() if branch.blobs.get(path) != blob_id(text)}


async def commit(
    gh: GitHubPort, repo: str, branch: Branch, files: Mapping[str, str], message: str
) -> str | None:
    """One commit putting `files` on the branch (keeping every other file it holds); None
    when nothing would change. Raises BranchMoved when the branch moved since `branch`."""
    todo = changed(branch, files)
    if not todo:
        return None
    # Each file's text goes in the tree itself (GitHub writes the blobs): three writes a
    # commit, whatever the number of files, against the installation's write pacing.
    entries = [
        {"path": path, "mode": MODE, "type": "blob", "content": text}
        for path, text in sorted(todo.items())
    ]
    body: dict[str, object] = {"tree": entries}
    if branch.tree is not None:
        body["base_tree"] = branch.tree
    tree = await gh.request("POST", f"/repos/{repo}/git/trees", json=body, ok=(409,))
    if tree.status == 409:  # "Git Repository is empty."
        started = await _first_commit(gh, repo, branch.name)
        return await commit(gh, repo, started, files, message)
    made = await gh.request(
        "POST",
        f"/repos/{repo}/git/commits",
        json={
            "message": message,
            "tree": tree.data["sha"],
            "parents": [branch.head] if branch.head else [],
        },
    )
    sha = str(made.data["sha"])
    try:
        if branch.head is None:
            await gh.request(
                "POST",
                f"/repos/{repo}/git/refs",
                json={"ref": f"refs/heads/{branch.name}", "sha": sha},
                idempotent=False,
            )
        else:
            await gh.request(
                "PATCH",
                f"/repos/{repo}/git/refs/heads/{quote(branch.name)}",
                json={"sha": sha, "force": False},
                idempotent=False,
            )
    except Unprocessable as exc:
        # "Update is not a fast forward" or "Reference already exists": someone else wrote.
        raise BranchMoved(str(exc)) from exc
    return sha


async def _first_commit(gh: GitHubPort, repo: str, name: str) -> Branch:
    """An empty repository's first commit (`.nojekyll`, through the contents API, the one
    write GitHub takes there), and the branch it made."""
    try:
        await gh.request(
            "PUT",
            f"/repos/{repo}/contents/{FIRST_FILE}",
            json={"message": FIRST_MESSAGE, "content": "", "branch": name},
        )
    except Unprocessable as exc:
        raise BranchMoved(str(exc)) from exc  # someone else made it meanwhile
    started = await read_branch(gh, repo, name)
    if started.head is None:
        raise BranchMoved(f"{repo}: no branch {name} after its first commit")
    return started
