"""What a notification asks of GitHub, decided against the app's alert issues found there:
open one, note a change, note the resolution, or nothing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from app.core import markers
from app.core.actions import OpenIssue, PostComment
from app.core.alerts.payloads import CAP_WINDOW, AlertGroup
from app.core.alerts.texts import capped_comment, changed_comment, open_issue, resolved_comment
from app.core.policy import AlertsPolicy, Severity


@dataclass(frozen=True)
class Known:
    """An incident issue the app opened for alerts, as found on GitHub, with the app's notes
    on it (every group's, oldest first)."""

    number: int
    open: bool
    closed_at: datetime | None
    opened: markers.AlertIssue
    notes: tuple[markers.AlertNote, ...] = ()
    created_at: datetime | None = None

    def state(self, group: str) -> markers.AlertNote | None:
        """A group's last state told here: its last note, or the opening marker for the group
        that opened the issue; None for a group never told here."""
        own = [n for n in self.notes if n.group == group]
        if own:
            return own[-1]
        if self.opened.group == group:
            return markers.AlertNote(group, self.opened.digest, self.opened.firing)
        return None

    @property
    def groups(self) -> list[str]:
        return list(dict.fromkeys([self.opened.group, *(n.group for n in self.notes)]))

    @property
    def firing(self) -> frozenset[str]:
        """Every alert the issue holds as firing: each group's last state."""
        states = [self.state(g) for g in self.groups]
        return frozenset(fp for s in states if s is not None for fp in s.firing)

    def resolved_but(self, group: str) -> bool:
        """Every other group told here has resolved."""
        states = [self.state(g) for g in self.groups if g != group]
        return all(s is not None and s.resolved for s in states)


@dataclass(frozen=True)
class Decision:
    """What a notification asks: open an issue, comment on one (`number`), or nothing."""

    why: str
    open: OpenIssue | None = None
    number: int | None = None
    comment: PostComment | None = None


def severity(group: AlertGroup, policy: AlertsPolicy) -> Severity:
    """The most severe of what the firing alerts (or the group's common labels) ask for."""
    asked = [policy.severity(a.labels) for a in group.firing] or [
        policy.severity(group.common_labels)
    ]
    return min(asked, key=lambda s: s.value)


def match(group: AlertGroup, issues: Sequence[Known]) -> Known | None:
    """The group's incident: the newest issue opened for it, unless that is closed and the
    group was told since on an open one (past the hourly cap, or by a second route); else the
    newest that holds one of its firing alerts (the same alert reaching us by a second
    route)."""
    mine = [k for k in issues if k.opened.group == group.group]
    own = max(mine, key=lambda k: k.number) if mine else None
    told = [
        k
        for k in issues
        if k.open and k.opened.group != group.group and any(n.group == group.group for n in k.notes)
    ]
    if told and (own is None or not own.open):
        return max(told, key=lambda k: k.number)
    if own is not None:
        return own
    firing = set(group.fingerprints)
    shared = [k for k in issues if firing & k.firing]
    return max(shared, key=lambda k: k.number) if shared else None


def newest_open(issues: Sequence[Known]) -> Known | None:
    """The newest open alert incident: where a group past the hourly cap is told."""
    return max((k for k in issues if k.open), key=lambda k: k.number, default=None)


def decide(
    group: AlertGroup, policy: AlertsPolicy, issues: Sequence[Known], now: datetime
) -> Decision:
    """One notification against what GitHub already records for its group."""
    known = match(group, issues)
    if known is not None and not known.open:
        state = known.state(group.group)
        if group.resolved:
            if state is None or state.resolved:
                return Decision("its incident is closed")
            # Told on the closed incident too: a later firing is then a new incident.
            text = resolved_comment(group, policy, now, closes=False, closed=True)
            comment = PostComment(text, "alert-resolved")
            return Decision("resolved", number=known.number, comment=comment)
        started = [a.starts_at for a in group.firing if a.starts_at is not None]
        fresh = known.closed_at is not None and started and max(started) > known.closed_at
        if not (state is not None and state.resolved) and not fresh:
            # Still firing since before the incident was closed: the responders closed it
            # knowingly; only an alert that fires again after that opens a new incident.
            return Decision("its incident was closed while these alerts fired")
        known = None
    if known is None:
        if group.resolved:
            return Decision("resolved, and no incident is open for it")
        recent = [k for k in issues if k.created_at is not None and now - k.created_at < CAP_WINDOW]
        if len(recent) < policy.max_new_per_hour:
            return Decision("opened", open=open_issue(group, policy, now))
        # Past the hourly cap: the group joins the newest open alert incident as a second
        # group would (its note is its state there, and `auto_resolve` waits for it too).
        newest = newest_open(issues)
        if newest is None:
            return Decision("over the hourly cap, and no alert incident is open to tell")
        text = capped_comment(group, policy, now)
        comment = PostComment(text, "alert-changed")
        return Decision("over the hourly cap: told", number=newest.number, comment=comment)
    state = known.state(group.group)
    if group.resolved:
        if state is None:
            return Decision("resolved; it was never told on the incident")
        if state.resolved:
            return Decision("resolved already told")
        # auto_resolve resolves the incident only when no other group told here still fires.
        closes = policy.auto_resolve and known.resolved_but(group.group)
        text = resolved_comment(group, policy, now, closes=closes)
        comment = PostComment(text, "alert-resolved")
        return Decision("resolved", number=known.number, comment=comment)
    if state is None:
        if set(group.fingerprints) <= known.firing:
            return Decision(
                "no change: its alerts are on the incident already", number=known.number
            )
        before, again = known.firing, False
    elif group.digest == state.digest:
        return Decision("no change", number=known.number)
    else:
        before, again = frozenset(state.firing), state.resolved
    text = changed_comment(group, before, again, now)
    return Decision("changed", number=known.number, comment=PostComment(text, "alert-changed"))


# --- the texts ----------------------------------------------------------------------------
