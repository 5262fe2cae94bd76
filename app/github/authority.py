"""Who may act on an incident, and which command comments carry the app's own 👍."""

from __future__ import annotations

from dataclasses import replace

from app.core import commands as cmd
from app.core import markers
from app.core.keys import IssueKey
from app.core.oncall.command import OnCall
from app.core.policy import Policy
from app.core.snapshot import Comment, Snapshot
from app.core.state import command_uses, contested_events, label_actors, needs_confirmation
from app.github.cache import TtlCache
from app.github.port import GitHubPort


class Authority:
    """Reads collaborator permissions and the app's reactions; keeps both as short hints."""

    def __init__(self) -> None:
        self._permissions = TtlCache(300.0)
        # Command comments known to carry the app's own 👍 (a reaction is not taken back).
        self._reacted = TtlCache(86_400.0)

    async def confirmed(
        self, gh: GitHubPort, key: IssueKey, snap: Snapshot, policy: Policy
    ) -> tuple[Comment, ...]:
        """The comments, each command comment marked `confirmed` when the app's own 👍 is on it.

        Only a comment with some 👍 is worth a look at who gave it; once the app's is seen it
        stays (cached), so a handled comment costs one read per process.
        """
        bot = next((c.author.lower() for c in snap.comments if c.ours and c.author), None)
        commands = {
            use.comment.id
            for use in command_uses(snap, policy)
            if use.authorized and not isinstance(use.command, cmd.Invalid | cmd.Help)
        }
        out: list[Comment] = []
        for comment in snap.comments:
            if comment.id in commands and comment.thumbs_up > 0 and bot is not None:
                seen = self._reacted.get(comment.id)
                if seen is None:
                    seen = await self._reacted_by(gh, key, comment.id, bot)
                    if seen:
                        self._reacted.put(comment.id, True)
                comment = replace(comment, confirmed=bool(seen))
            out.append(comment)
        return tuple(out)

    @staticmethod
    async def _reacted_by(gh: GitHubPort, key: IssueKey, comment_id: int, bot: str) -> bool:
        """Does `bot`'s 👍 show among the comment's reactions?"""
        reply = await gh.request(
            "GET",
            f"/repos/{key.full_name}/issues/comments/{comment_id}/reactions",
            params={"content": "+1", "per_page": 100},
            ok=(404,),
        )
        users = reply.data if isinstance(reply.data, list) else []
        return any(
            isinstance(r, dict) and str((r.get("user") or {}).get("login", "")).lower() == bot
            for r in users
        )

    async def authorized(
        self, gh: GitHubPort, key: IssueKey, snap: Snapshot, policy: Policy
    ) -> frozenset[str]:
        """Logins among command authors, and people who changed severity or status, with write
        access (cached briefly per repository)."""
        people = {use.comment.author for use in command_uses(snap, policy)}
        people |= {e.actor for e in contested_events(snap) if e.actor}
        if needs_confirmation(snap, policy) and not _confirmed_on_record(snap):
            people |= label_actors(snap)  # may their labels confirm the declaration?
        authors = {p.lower() for p in people if p.lower() not in policy.roster_logins}
        allowed: set[str] = set()
        if snap.issue.association == "OWNER" and snap.issue.author.lower() in authors:
            # The repository's owner opened it: GitHub gives its owner admin, no need to ask.
            authors.discard(snap.issue.author.lower())
            allowed.add(snap.issue.author.lower())
        allowed |= await self._writers(gh, key, authors)
        # A cover may go to someone with write access (docs/user-guide/oncall.md): the target of
        # each cover given by someone with authority is asked about too, once.
        targets = {
            c.cover.lower()
            for use in command_uses(snap, policy)
            if isinstance(c := use.command, OnCall) and c.cover
            if use.comment.author.lower() in allowed | policy.roster_logins
        }
        allowed |= await self._writers(gh, key, targets - allowed - policy.roster_logins)
        return frozenset(allowed)

    async def _writers(self, gh: GitHubPort, key: IssueKey, logins: set[str]) -> set[str]:
        """Those of `logins` with write access (GitHub's collaborator permission, cached)."""
        allowed: set[str] = set()
        for login in sorted(logins):
            cache_key = (key.full_name.lower(), login)
            verdict = self._permissions.get(cache_key)
            if verdict is None:
                reply = await gh.request(
                    "GET",
                    f"/repos/{key.full_name}/collaborators/{login}/permission",
                    ok=(404, 403),
                )
                perm = reply.data.get("permission") if isinstance(reply.data, dict) else None
                verdict = reply.status == 200 and perm in ("admin", "write")
                self._permissions.put(cache_key, verdict)
            if verdict:
                allowed.add(login)
        return allowed


def _confirmed_on_record(snap: Snapshot) -> bool:
    """The app's record says the declaration was confirmed (or needed no confirmation)."""
    for comment in snap.comments:
        if comment.ours:
            for marker in markers.parse(comment.body):
                if isinstance(marker, markers.Confirmed):
                    return True
                if isinstance(marker, markers.Brief) and not marker.unconfirmed:
                    return True
    return False
