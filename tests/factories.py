"""Shared factories: the roster the suites configure, policies made of it, and pure snapshots
of an incident as the planner sees it (app.core.snapshot models, no GitHub double).

Suites whose config differs keep their own text, built from these pieces where they share
them (`roster("dev.avery-kim: avery") + SENIOR_MANAGEMENT`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import pytest

from app.core import markers
from app.core.policy import ConfigError, Policy
from app.core.snapshot import Comment, Event, Issue, Repo, Snapshot
from app.github.config import check_text

# The runbook's three leads: Incident Commander (Release Manager), Technical Lead (Architect),
# Communication Lead (Team Lead), each seat held by a GitHub login.
ROSTER = """\
roster:
  release_manager.rohan-patel: rohan
  architect.morgan-lee: morgan
  team_lead.casey-brooks: casey
"""
# Only the incident commander's seat held.
ROSTER_IC = "roster:\n  release_manager.rohan-patel: rohan\n"
# Senior management as a GitHub team (named, never assigned).
SENIOR_MANAGEMENT = (
    'roles:\n  senior_management: {title: Senior Management, members: ["@acme/leadership"]}\n'
)
NEW_YORK = "calendar:\n  timezone: America/New_York\n  holidays_country: US\n"

# A status update in the runbook's template, as people type it: odd case, a wrapped line.
TEMPLATE = """\
🚨 INCIDENT UPDATE #7 - 15:20 UTC
severity: P1
STATUS: mitigating
Impact: checkout fails for EU users
about 30% of orders
ETA: 16:30 UTC
Next Update: {next}
Actions: rolled back deploy 412; watching error rate
"""


def roster(*seats: str) -> str:
    """ROSTER with more seats held: `roster("legal.counsel: lena")`."""
    return ROSTER + "".join(f"  {seat}\n" for seat in seats)


def policy(text: str = ROSTER) -> Policy:
    """A repository's `.github/incident.yml` as the app reads it (problems would raise)."""
    return check_text(text, source="test")


# The pure suites' policy: the three leads, business days in New York.
POLICY = policy(ROSTER + NEW_YORK)
# Tuesday 2026-11-24 10:00 New York (15:00 UTC)
DECLARED = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)


def snapshot(
    severity: str = "P1",
    *,
    declared: datetime = DECLARED,
    comments: list[tuple[timedelta, str]] = (),  # type: ignore[assignment]
    own: list[markers.Marker] = (),  # type: ignore[assignment]
    events: list[Event] = (),  # type: ignore[assignment]
) -> Snapshot:
    """An open incident `severity` declared by alice (who has write access) at `declared`,
    briefed by the app; `comments` are alice's, confirmed (the app's 👍), at `declared +
    after`; `own` are more of the app's notes; `events` follow the two declaring labels."""
    labels = frozenset({"incident", f"sev:{severity}", "status:investigating"})
    all_comments = [
        Comment(
            1,
            "bot",
            True,
            "NONE",
            declared,
            markers.render(markers.Brief(severity, checklist=severity)),
            True,
        )
    ]
    for i, (after, body) in enumerate(comments, start=10):
        all_comments.append(
            Comment(i, "alice", False, "MEMBER", declared + after, body, False, 1, confirmed=True)
        )
    for i, marker in enumerate(own, start=100):
        all_comments.append(Comment(i, "bot", True, "NONE", declared, markers.render(marker), True))
    base = [
        Event(1, "labeled", declared, "alice", False, label="incident"),
        Event(2, "labeled", declared, "alice", False, label=f"sev:{severity}"),
    ]
    return Snapshot(
        repo=Repo("acme", "shop"),
        issue=Issue(
            1,
            "Outage",
            "open",
            labels,
            frozenset({"rohan"}),
            declared,
            None,
            "alice",
            len(all_comments),
        ),
        comments=tuple(all_comments),
        events=tuple(base + list(events)),
        authorized=frozenset({"alice"}),
    )


def labeled(*labels: str, at: datetime = DECLARED, by: str = "alice") -> list[Event]:
    """`by` putting `labels` on at `at`, as GitHub's timeline records it."""
    return [Event(i, "labeled", at, by, False, label=label) for i, label in enumerate(labels, 1)]


def said(
    *comments: tuple[timedelta, str, str], declared: datetime = DECLARED, first_id: int = 10
) -> list[Comment]:
    """People's comments: (after the declaration, who, body); none yet 👍'd by the app."""
    return [
        Comment(i, who, False, "NONE", declared + after, body, False)
        for i, (after, who, body) in enumerate(comments, start=first_id)
    ]


def ours(*notes: markers.Marker, at: datetime = DECLARED, first_id: int = 100) -> list[Comment]:
    """The app's own comments, each carrying one marker."""
    return [
        Comment(i, "incident-app[bot]", True, "NONE", at, markers.render(note), True)
        for i, note in enumerate(notes, start=first_id)
    ]


def incident(
    *,
    labels: Iterable[str] = ("incident", "sev:P1", "status:investigating"),
    events: Iterable[Event] = (),
    comments: Iterable[Comment] = (),
    author: str = "alice",
    assignees: Iterable[str] = (),
    authorized: Iterable[str] = ("alice",),
    private: bool = False,
    declared: datetime = DECLARED,
    state: str = "open",
    closed_at: datetime | None = None,
) -> Snapshot:
    """Any incident issue of acme/shop, built from its parts (see `snapshot` for the usual
    briefed one)."""
    comments = tuple(comments)
    return Snapshot(
        repo=Repo("acme", "shop", private=private),
        issue=Issue(
            1,
            "Checkout returns 502 for every user",
            state,
            frozenset(labels),
            frozenset(assignees),
            declared,
            closed_at,
            author,
            len(comments),
        ),
        comments=comments,
        events=tuple(events),
        authorized=frozenset(authorized),
    )


def config_problems(text: str) -> list[str]:
    """The problems a repository's config text has, as `location: message` lines."""
    with pytest.raises(ConfigError) as caught:
        check_text(text, source="incident.yml")
    return [f"{p.location}: {p.message}" for p in caught.value.problems]
