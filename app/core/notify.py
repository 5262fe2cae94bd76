"""What people outside GitHub are told: one event per thing the app did on GitHub.

An event is made from a write the executor has just done (the brief it posted, the 👍 with
which it confirmed a status update, the all-clear, …), so it exists once: a re-plan finds the
write on GitHub and plans nothing, and a second replica waits for the issue's lock. Its `key`
names that write (`owner/repo#12:comment:345`), and the notifiers' ledger sends each key to
each notifier once more as a guard (docs/behaviour.md §10).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, NamedTuple, Protocol

from app.core import commands as cmd
from app.core import markers
from app.core.actions import Action, AddReaction, PostComment
from app.core.messages.chat import summary
from app.core.policy import ConfigIssue, Policy, Severity
from app.core.snapshot import Snapshot
from app.core.state import IncidentState
from app.core.statuspage import PublicIncident


class Kind(StrEnum):
    DECLARED = "declared"  # the brief: the incident is open and people are assigned
    STATUS = "status"  # a status update (a `/status` or the runbook's template)
    ACKNOWLEDGED = "acknowledged"  # `/ack`
    ESCALATED = "escalated"  # an escalation step, automatic or `/escalate`
    SEVERITY = "severity"  # the severity changed
    BREACH = "breach"  # a confirmed data breach
    RESOLVED = "resolved"  # the all-clear
    REOPENED = "reopened"  # a recurrence inside the monitoring window
    REVIEW = "review"  # the post-incident review was opened
    HANDOVER = "handover"  # an on-call rotation handed the incident to its incoming person
    PUBLIC = "public"  # a customer-facing update (`/public`): for the public notifiers only


# The app's comments that people outside GitHub hear about, by the marker kind the planner
# gives them (app/core/runbook/); every other comment (reminders, replies, config problems)
# is for the issue's readers only.
COMMENT_EVENTS: Mapping[str, Kind] = {
    "brief": Kind.DECLARED,
    # An unconfirmed declaration pages nobody; its confirmation is the declaration people hear.
    "confirmed": Kind.DECLARED,
    "escalation": Kind.ESCALATED,
    "severity": Kind.SEVERITY,
    "breach": Kind.BREACH,
    "all-clear": Kind.RESOLVED,
    "recurrence": Kind.REOPENED,
    "pir": Kind.REVIEW,
    "handover": Kind.HANDOVER,
}


@dataclass(frozen=True)
class Event:
    """One thing to tell: what happened to which incident, with a link to it on GitHub."""

    key: str  # unique per write on GitHub: `owner/repo#12:comment:345`, `…:reaction:678`
    kind: Kind
    repo: str  # `owner/repo`
    number: int
    title: str
    severity: Severity
    status: str  # investigating, identified, mitigating, resolved, …
    issue_url: str
    url: str  # the comment this event is about, or the issue
    text: str  # what happened, in a line or a few (markdown, as on GitHub)
    at: datetime
    # GitHub logins of the people holding the severity's roles (for a Slack channel's invite)
    people: tuple[str, ...] = ()
    # login → Slack user ID, from the repository's roster (`slack:` beside a seat)
    slack_ids: Mapping[str, str] = field(default_factory=dict)
    # A private repository's incident, or a sensitive one (ever labelled `security` or
    # `breach`, behaviour §8): told only in private places, and never by title in shared ones.
    confidential: bool = False
    # What customers are told (a public update, `Kind.PUBLIC`, or the resolution told to them,
    # `Kind.RESOLVED` with `public_text`): the only fields a public notifier reads beside
    # `kind`, `status`, `key`, `incident` and `at`; never the title, text or URLs above.
    public_text: str = ""
    public_title: str = ""
    # component name → operational | degraded | partial-outage | major-outage
    components: Mapping[str, str] = field(default_factory=dict)
    impact: float | None = None  # the share of users affected, in percent (`/impact`)
    # The last public update told again because a later comment stated the impact (its key
    # is that update's), and the impact before that comment: email takes it only if the
    # impact just rose above its threshold, Statuspage never (it had the update).
    restated: bool = False
    impact_before: float | None = None

    @property
    def public(self) -> bool:
        """Is this for customers? A public update, or the resolution told with public text.
        Public events go only to routes with `public: true`, internal ones never there."""
        return self.kind is Kind.PUBLIC or (self.kind is Kind.RESOLVED and bool(self.public_text))

    @property
    def incident(self) -> str:
        """`owner/repo#12`: PagerDuty's dedup_key, the webhook's incident id."""
        return f"{self.repo}#{self.number}"


class Sink(Protocol):
    """Where events go: the operator's notifiers (app/notify/dispatch.py)."""

    def names(self) -> frozenset[str]: ...

    def submit(self, event: Event, to: Sequence[str]) -> None: ...


class Unsent:
    """A sink for dry runs: the operator's notifier names (so `notify:` is checked as the
    server checks it), and nothing sent."""

    def __init__(self, names: frozenset[str]) -> None:
        self._names = names

    def names(self) -> frozenset[str]:
        return self._names

    def submit(self, event: Event, to: Sequence[str]) -> None:
        return None


@dataclass(frozen=True)
class Done:
    """A write the executor did, with what GitHub answered (the new comment's id and URL)."""

    action: Action
    reply: Mapping[str, Any]


def events(
    done: Iterable[Done],
    *,
    repo: str,
    number: int,
    title: str,
    issue_url: str,
    severity: Severity,
    status: str,
    comments: Mapping[int, tuple[str, str]],
    people: Sequence[str] = (),
    slack_ids: Mapping[str, str] | None = None,
    confidential: bool = False,
    at: datetime,
    public: PublicIncident | None = None,
    impact: float | None = None,
    impacts: Sequence[tuple[int, float]] = (),
) -> list[Event]:
    """The events a run's writes make; `comments` maps a comment id to (its body, its URL),
    for the status updates, acknowledgements and public updates the app confirmed with its
    👍. `public` is the incident's public record (its title and components for customers),
    `impact` the share of users affected, `impacts` each comment that stated it (its id, the
    percentage), in order."""
    told = _Public(public, impact, tuple(impacts))
    return [
        Event(
            key=f"{repo}#{number}:{h.key}",
            kind=h.kind,
            repo=repo,
            number=number,
            title=title,
            severity=severity,
            status=h.status,
            issue_url=issue_url,
            url=h.url or issue_url,
            text=h.text,
            at=at,
            people=tuple(people),
            slack_ids=dict(slack_ids or {}),
            confidential=confidential,
            **told.fields(h),
        )
        for item in done
        for h in _happenings(item, comments, status, told)
    ]


@dataclass(frozen=True)
class _Public:
    """What public events carry besides their text: the public record's title and
    components, and the impact."""

    incident: PublicIncident | None
    impact: float | None
    impacts: tuple[tuple[int, float], ...] = ()

    def fields(self, h: _Happening) -> dict[str, Any]:
        if h.kind is not Kind.PUBLIC and not h.public_text:
            return {}
        incident = self.incident
        return {
            "public_text": h.public_text,
            "public_title": incident.title if incident else "",
            "components": {n: s.value for n, s in incident.components} if incident else {},
            "impact": self.impact,
            "restated": h.restated,
            "impact_before": h.impact_before,
        }

    def resolution(self) -> str:
        """The final entry the app publishes at resolution, unless `/public resolved` gave one
        (that was told as its own public event)."""
        incident = self.incident
        if incident is None or not incident.updates:
            return ""
        last = incident.updates[-1]
        return last.text if last.automatic else ""

    def restated(self, comment_id: int, url: str, status: str) -> list[_Happening]:
        """The last public update again, under its own key, when comment `comment_id` states
        the impact: email skipped it while the impact was unknown or low and may want it now
        (`impact_before` says whether it was low); the key guards against telling it twice."""
        incident = self.incident
        updates = [u for u in incident.updates if u.comment] if incident else []
        if not updates:
            return []
        last = updates[-1]
        before = [share for cid, share in self.impacts if cid < comment_id]
        key = f"public:{last.comment}"
        again = _Happening(key, Kind.PUBLIC, url, "", status, last.text, True)
        return [again._replace(impact_before=before[-1] if before else None)]


class _Happening(NamedTuple):
    """What one write tells: its event's key, kind, link, text and the status then."""

    key: str
    kind: Kind
    url: str
    text: str
    status: str
    public_text: str = ""
    restated: bool = False
    impact_before: float | None = None


def _happenings(
    item: Done, comments: Mapping[int, tuple[str, str]], status: str, told: _Public
) -> list[_Happening]:
    """The app's own comment of a kind people hear of; or a comment it confirmed (👍)."""
    action = item.action
    if isinstance(action, PostComment) and action.number is None and action.repo is None:
        kind = COMMENT_EVENTS.get(action.kind)
        if kind is None or "id" not in item.reply:
            return []
        url = str(item.reply.get("html_url") or "")
        now = "resolved" if kind is Kind.RESOLVED else status
        public = told.resolution() if kind is Kind.RESOLVED else ""
        key = f"comment:{item.reply['id']}"
        return [_Happening(key, kind, url, summary(action.body), now, public)]
    if isinstance(action, AddReaction) and action.comment_id in comments:
        body, url = comments[action.comment_id]
        return _confirmed(action.comment_id, body, url, status, told)
    return []


def _confirmed(
    comment_id: int, body: str, url: str, status: str, told: _Public
) -> list[_Happening]:
    """The acknowledgements, status updates and public updates of a comment the app
    confirmed with its 👍 (and what it changed for customers: components, the impact)."""
    found = []
    commands = cmd.parse(body)
    for command in commands:
        if isinstance(command, cmd.Ack):
            found.append(
                _Happening(f"ack:{comment_id}", Kind.ACKNOWLEDGED, url, "Acknowledged.", status)
            )
        elif isinstance(command, cmd.SetStatus):
            value = command.status.value
            found.append(_Happening(f"status:{comment_id}", Kind.STATUS, url, summary(body), value))
        elif isinstance(command, cmd.Publish):
            now = "resolved" if command.final else status
            found.append(
                _Happening(f"public:{comment_id}", Kind.PUBLIC, url, "", now, command.text)
            )
    if told.incident is None or any(isinstance(c, cmd.Publish) for c in commands):
        return found  # not for customers; or told with the public update's event
    if any(isinstance(c, cmd.SetComponent) for c in commands):
        # The components alone: customers see them change, with no new words.
        found.append(_Happening(f"public:{comment_id}", Kind.PUBLIC, url, "", status))
    if any(_states_impact(c) for c in commands):
        found += told.restated(comment_id, url, status)
    return found


def _states_impact(command: cmd.Command) -> bool:
    """`/impact`, or a status update whose `Impact:` states a percentage."""
    if isinstance(command, cmd.SetImpact):
        return True
    fields = command.fields if isinstance(command, cmd.SetStatus) else None
    return fields is not None and cmd.impact_percent(fields.impact) is not None


def routes(policy: Policy, severity: Severity, *, public: bool = False) -> list[str]:
    """The operator's notifiers a repository's `notify:` sends this severity to: the internal
    routes, or (`public`) the routes with `public: true`, which get public updates only."""
    return list(
        dict.fromkeys(
            r.to
            for r in policy.notify
            if r.public == public and (not r.severities or severity in r.severities)
        )
    )


def checked(
    policy: Policy, known: frozenset[str], source: str, *, foreign: bool = False
) -> tuple[Policy, list[ConfigIssue]]:
    """The policy without routes to notifiers the operator did not define, and a problem for
    each (the rest of the config still works)."""
    problems = [
        ConfigIssue(
            source,
            f"notify.{n}.to",
            # Only the unknown name: the operator's other notifiers are not this repository's
            # to list (the comment is public on a public repository).
            f"no notifier named '{route.to}' in the operator's NOTIFIERS_FILE",
            foreign=foreign,
        )
        for n, route in enumerate(policy.notify)
        if route.to not in known
    ]
    if not problems:
        return policy, []
    kept = [route for route in policy.notify if route.to in known]
    return policy.model_copy(update={"notify": kept}), problems


@dataclass(frozen=True)
class Audience:
    """Who hears of a run's writes: the operator's notifiers (`to`), those of the routes with
    `public: true` (`public`), the GitHub logins of the people holding the severity's roles,
    and whether only private places may be told."""

    to: list[str]
    people: list[str]
    confidential: bool
    public: list[str] = field(default_factory=list)

    def for_event(self, event: Event) -> list[str]:
        """The notifiers `event` goes to: a public update (`Kind.PUBLIC`) to the public routes
        only; an all-clear that carries the final public entry to both (each side reads its
        own fields); any other event to the internal routes only."""
        internal = self.to if event.kind is not Kind.PUBLIC else []
        return list(dict.fromkeys([*internal, *(self.public if event.public else [])]))


def audience(
    snapshot: Snapshot, policy: Policy, state: IncidentState, done: Iterable[Action]
) -> Audience | None:
    """Who is told of the writes `done` on this incident, or None when nobody is: drills, and
    declarations nobody with authority has confirmed yet (behaviour §8), stay inside GitHub,
    as does a severity the repository's `notify:` sends nowhere."""
    if state.drill:
        return None
    if not state.paged and not pages(done):
        return None  # an unconfirmed declaration, or one dismissed before anyone confirmed it
    # Whoever was told of the incident at any of its severities hears how it goes on: a P1
    # lowered to P2 still resolves the page its declaration triggered.
    severities = sorted({sev for _, sev, _ in state.severity_changes} | {state.severity})
    to = list(dict.fromkeys(r for sev in severities for r in routes(policy, sev)))
    public = list(dict.fromkeys(r for sev in severities for r in routes(policy, sev, public=True)))
    if not to and not public:
        return None
    assigned = policy.for_severity(state.severity).assign
    people = [
        m[1:]
        for role in assigned
        for m in [*state.roles.get(role, []), *policy.holders(role)]
        if m.startswith("@") and "/" not in m
    ]
    return Audience(
        to=to,
        people=list(dict.fromkeys(people)),
        confidential=snapshot.repo.private or state.sensitive,
        public=public,
    )


def pages(done: Iterable[Action]) -> bool:
    """Did these writes reach everyone (a brief posted confirmed, or a `Confirmed` note)?"""
    for action in done:
        if isinstance(action, PostComment) and action.number is None and action.repo is None:
            found = markers.parse(action.body)
            if any(isinstance(m, markers.Confirmed) for m in found) or any(
                isinstance(m, markers.Brief) and not m.unconfirmed for m in found
            ):
                return True
    return False
