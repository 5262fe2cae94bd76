"""The one place that decides: plan(snapshot, policy, now) -> actions. Pure: no I/O, no clock.

The state machine it follows is drawn in README.md ("State machine"). Every comment it plans
carries a marker (app/markers.py), and the next snapshot shows it, so planning again after
executing a plan yields nothing new.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from app.core import commands as cmd
from app.core import followup, markers, messages, pir
from app.core.actions import (
    Action,
    AddAssignees,
    AddLabels,
    AddReaction,
    CreateBranch,
    CreateFile,
    DeleteComment,
    EditComment,
    OpenIssue,
    OpenPullRequest,
    PostComment,
    RemoveAssignees,
    RemoveLabel,
    SetState,
)
from app.core.alerts import ALERT_LABEL
from app.core.business_calendar import BusinessCalendar
from app.core.commands import Status
from app.core.policy import Policy, Severity, Span
from app.core.snapshot import Snapshot
from app.core.state import (
    FLAG_LABELS,
    INCIDENT_LABEL,
    SEVERITY_LABELS,
    STATUS_LABELS,
    IncidentState,
    derive,
    is_incident,
)


def plan(snapshot: Snapshot, policy: Policy, now: datetime) -> list[Action]:
    """The writes that bring the issue in line with the runbook, in a safe order.

    Labels and assignees come before comments: a comment is the record that something was
    done, so if a run stops half-way the next one repeats only idempotent writes.
    """
    state = derive(snapshot, policy)
    if state is None:
        return []
    issue = snapshot.issue
    briefs = state.notes_of(markers.Brief)
    if issue.state == "closed" and not briefs:
        return []  # docs/behaviour.md §2: only an open issue is declared an incident
    actions: list[Action] = []
    actions += _labels(snapshot, state)
    actions += _open_or_closed(snapshot, state)
    if not briefs:
        actions += _declare(snapshot, policy, state)
    else:
        actions += [DeleteComment(n.comment.id, "duplicate brief") for n in briefs[1:]]
        actions += _severity_change(snapshot, policy, state)
        actions += _confirmation(snapshot, policy, state)
        actions += _security(snapshot, policy, state)
    actions += _breach(snapshot, policy, state)
    actions += _commands(snapshot, policy, state)
    actions += _undone(state)
    if state.status is not Status.RESOLVED:  # a closed issue is reopened by this plan
        actions += _escalations(policy, state, now)
        actions += _reminder(snapshot, policy, state, now)
    actions += action_items(snapshot, state, policy)
    actions += _phase(policy, state)
    actions += _all_clear(snapshot, policy, state)
    actions += _recurrence(policy, state)
    actions += _config_problems(snapshot, state)
    actions += _pir_step(snapshot, policy, state)
    return drill(actions, state, policy)


DRILL_HEADER = "🧪 **DRILL — exercise, no real impact**"
# Runbook "Dry-Run Exercises": a drill reaches the response team, never the people above it.
DRILL_QUIET_ROLES = ("senior_management", "executive_team", "legal", "platform_owner")


def drill(actions: list[Action], state: IncidentState, policy: Policy) -> list[Action]:
    """On a drill (`drill` put on by someone entitled to, behaviour §8): every text headed as
    a drill, the review marked as one, and senior management, executives and legal named
    without being notified."""
    if not state.drill:
        return actions
    quiet = {
        m.lower() for role in DRILL_QUIET_ROLES for m in policy.holders(role) + policy.backups(role)
    }

    def text(body: str) -> str:
        for mention in sorted(quiet, key=len, reverse=True):
            body = re.sub(
                rf"(?<![`\w]){re.escape(mention)}(?![\w/-])", f"`{mention}`", body, flags=re.I
            )
        return body if body.startswith(DRILL_HEADER) else f"{DRILL_HEADER}\n\n{body}"

    out: list[Action] = []
    for action in actions:
        if isinstance(action, PostComment | EditComment):
            action = replace(action, body=text(action.body))
        elif isinstance(action, OpenIssue | OpenPullRequest):
            title = (
                action.title if action.title.startswith("[DRILL]") else f"[DRILL] {action.title}"
            )
            action = replace(action, title=messages.title(title), body=text(action.body))
        elif isinstance(action, CreateFile):
            action = replace(action, content=text(action.content))
        out.append(action)
    return out


# --- the post-incident review (docs/behaviour.md §5) ---------------------------------


def pir_round(snapshot: Snapshot, state: IncidentState, policy: Policy) -> pir.Round | None:
    """The resolution that still needs its review, or None (not resolved, already linked, or
    past `pir.max_rounds`: a close-reopen loop cannot open reviews without end)."""
    found = pir.current_round(state)
    if found is None or found.number > policy.pir.max_rounds:
        return None
    where, _ = review_place(snapshot, policy, state)
    home = snapshot.repo.full_name if where else None
    rnd = pir.Round(found.number, found.resolved_at, snapshot.issue.number, home)
    linked = any(n.marker.round == rnd.number for n in state.notes_of(markers.PirLink))
    return None if linked else rnd


def review_place(
    snapshot: Snapshot, policy: Policy, state: IncidentState
) -> tuple[str | None, bool]:
    """(the repository that holds the review if not the incident's, held privately).

    A security incident or a breach on a public repository never gets its review written
    there: it goes to `pir.private_repository`, or is held privately with nothing written.
    """
    if not state.sensitive or snapshot.repo.private:
        return None, False
    home = private_home(snapshot, policy)
    return home, home is None


def private_home(snapshot: Snapshot, policy: Policy) -> str | None:
    """`pir.private_repository` when GitHub shows it to this installation as a private
    repository of the incident's owner; otherwise None (behaviour §5)."""
    name = policy.pir.private_repository
    home = snapshot.private_home
    if name is None or home is None or not home.private:
        return None
    if home.owner.lower() != snapshot.repo.owner.lower():
        return None
    return home.full_name


def pir_step(snapshot: Snapshot, policy: Policy, state: IncidentState) -> list[Action]:
    """The next step of the review (see `_pir_step`), as a drill when it is one."""
    return drill(_pir_step(snapshot, policy, state), state, policy)


def _pir_step(snapshot: Snapshot, policy: Policy, state: IncidentState) -> list[Action]:
    """The next step of the review: issue, branch, document, pull request, link — in order.

    One step at a time, because each needs what the one before created (the PR closes the
    PIR issue by number). The reconciler runs the steps in a row, re-planning after each.
    """
    rnd = pir_round(snapshot, state, policy)
    record = snapshot.pir
    if rnd is None or record is None or not briefed(state):
        return []
    title = snapshot.issue.title
    where, held = review_place(snapshot, policy, state)
    ic = _logins(state.roles.get("incident_commander", []))
    if held:
        if record.issue is None:
            body = pir.private_issue_body(rnd, pir.due(policy, rnd))
            name = f"Post-incident review of #{snapshot.issue.number} (held privately)"
            return [OpenIssue(name, body, (policy.pir.label,), tuple(ic[:1]), "pir")]
        link = pir.private_link_comment(pir_issue=record.issue, rnd=rnd)
        return [PostComment(link, "pir")]
    if record.issue is None:
        suffix = f" (round {rnd.number})" if rnd.number > 1 else ""
        return [
            OpenIssue(
                messages.title(f"PIR: {title}", suffix),
                pir.issue_body(snapshot, state, policy, rnd),
                (policy.pir.label,),
                tuple(ic[:1]),
                "pir",
                repo=where,
            )
        ]
    document = pir.document(snapshot, state, policy, rnd, pir_issue=record.issue)
    if record.blocked is not None:
        return [
            PostComment(
                pir.fallback_comment(reason=record.blocked, body=document),
                "pir-fallback",
                number=record.issue,
                repo=where,
            ),
            PostComment(
                pir.link_comment(
                    pir_issue=record.issue,
                    pull=None,
                    reason=record.blocked,
                    rnd=rnd,
                    where=where or "",
                ),
                "pir",
            ),
        ]
    if not record.branch_exists:
        if record.base_sha is None:
            return []
        return [CreateBranch(rnd.branch, record.base_sha, repo=where)]
    path = pir.document_path(policy, rnd, title)
    if not record.file_exists:
        return [
            CreateFile(
                path,
                rnd.branch,
                document,
                f"Add post-incident review of {rnd.incident_ref}",
                repo=where,
            )
        ]
    if record.pull is None:
        body = f"Post-incident review of {rnd.incident_ref}: `{path}`.\n\nCloses #{record.issue}"
        base = record.default_branch or snapshot.repo.default_branch
        return [
            OpenPullRequest(messages.title(f"PIR: {title}"), rnd.branch, base, body, repo=where)
        ]
    link = pir.link_comment(
        pir_issue=record.issue, pull=record.pull, reason=None, rnd=rnd, where=where or ""
    )
    return [PostComment(link, "pir")]


def briefed(state: IncidentState) -> bool:
    return bool(state.notes_of(markers.Brief))


def _overdue(
    snapshot: Snapshot, kind: type[markers.PirIssue | markers.ActionItem], now: datetime
) -> datetime | None:
    """The due date of an open issue the app opened (its marker of `kind`), if past."""
    if snapshot.issue.state != "open" or not snapshot.issue.ours:
        return None  # markers count only in issues the app itself opened
    found = markers.of(kind, snapshot.issue.body)
    try:
        due_at = datetime.fromisoformat(found[0].due) if found else None
    except ValueError:
        return None
    return due_at if due_at is not None and now > due_at else None


def plan_pir_reminder(snapshot: Snapshot, policy: Policy, now: datetime) -> list[Action]:
    """An open PIR issue past its due date: one reminder per business day to its assignees."""
    due_at = _overdue(snapshot, markers.PirIssue, now)
    cal = policy.business_calendar
    today = now.astimezone(cal.zone).date()
    if due_at is None or not cal.is_business_day(today):
        return []
    reminded = {
        m.day for c in snapshot.comments if c.ours for m in markers.of(markers.PirReminder, c.body)
    }
    if today.isoformat() in reminded:
        return []
    body = pir.overdue_reminder(
        assignees=sorted(snapshot.issue.assignees),
        due_at=due_at,
        day=today.isoformat(),
        policy=policy,
    )
    return [PostComment(body, "pir-reminder")]


def plan_action_reminder(snapshot: Snapshot, policy: Policy, now: datetime) -> list[Action]:
    """An open action item past its due date: one reminder a week, to its assignees or the
    incident commander (runbook: "monthly review of action item progress" needs items done)."""
    due_at = _overdue(snapshot, markers.ActionItem, now)
    if due_at is None:
        return []
    year, week, _ = now.astimezone(policy.business_calendar.zone).isocalendar()
    this_week = f"{year}-W{week:02d}"
    reminded = {
        m.week
        for c in snapshot.comments
        if c.ours
        for m in markers.of(markers.ActionReminder, c.body)
    }
    if this_week in reminded:
        return []
    who = [f"@{a}" for a in sorted(snapshot.issue.assignees)] or policy.holders(
        "incident_commander"
    )
    body = messages.action_overdue(who=who, due_at=due_at, week=this_week, policy=policy)
    return [PostComment(body, "action-reminder")]


def _labels(snapshot: Snapshot, state: IncidentState) -> list[Action]:
    labels = snapshot.issue.labels
    wanted = {INCIDENT_LABEL, state.severity.label, state.status.label}
    if snapshot.issue.ours and markers.of(markers.AlertIssue, snapshot.issue.body):
        # The label by which the next notification finds this issue again (§9).
        wanted.add(ALERT_LABEL)
    wanted |= state.flags
    stale = sorted(
        label
        for label in labels
        if (label in SEVERITY_LABELS or label in STATUS_LABELS or label in FLAG_LABELS)
        and label not in wanted
    )
    missing = tuple(sorted(wanted - labels))
    actions: list[Action] = [AddLabels(missing)] if missing else []
    return actions + [RemoveLabel(label) for label in stale]


def _open_or_closed(snapshot: Snapshot, state: IncidentState) -> list[Action]:
    resolved = state.status is Status.RESOLVED
    if resolved and snapshot.issue.state == "open":
        return [SetState("closed", "completed")]
    if not resolved and snapshot.issue.state == "closed":
        return [SetState("open", "reopened")]
    return []


def _logins(mentions: list[str]) -> list[str]:
    """Assignable logins among mentions (teams cannot be assigned)."""
    return [m[1:] for m in mentions if m.startswith("@") and "/" not in m]


def _assignees_for(policy: Policy, state: IncidentState, severity: Severity) -> list[str]:
    found: list[str] = []
    for role in policy.for_severity(severity).assign:
        found += _logins(state.roles.get(role, []))
    return list(dict.fromkeys(found))


def _deadlines(policy: Policy, state: IncidentState) -> tuple[datetime, datetime]:
    sp = policy.for_severity(state.severity)
    respond_by = sp.respond_within.after(state.severity_since, policy.business_calendar)
    _, first_due, _ = _next_update(policy, state)
    return respond_by, first_due


def _next_update(policy: Policy, state: IncidentState) -> tuple[datetime, datetime, bool]:
    """(anchor, when the next update is first due, whether a promise set it).

    The severity's cadence is the most that may pass (runbook: "Communication: updates
    every …"); an update's `Next Update:` earlier than that moves the next one forward,
    a later one never stretches it.
    """
    sp = policy.for_severity(state.severity)
    anchor = max(state.severity_since, state.last_update_at or state.severity_since)
    due = sp.update_every.after(anchor, policy.business_calendar)
    latest = state.updates[-1] if state.updates else None
    promised = latest.promised if latest is not None and latest.at == anchor else None
    if promised is not None and anchor < promised < due:
        return anchor, promised, True
    return anchor, due, False


def _declare(snapshot: Snapshot, policy: Policy, state: IncidentState) -> list[Action]:
    actions: list[Action] = []
    # Unconfirmed (behaviour §8): only the incident commander is reached until someone with
    # authority confirms; the rest is assigned and told by the confirmation.
    assign = (
        _assignees_for(policy, state, state.severity)
        if state.confirmed
        else _logins(state.roles.get("incident_commander", []))
    )
    wanted = [
        login
        for login in assign
        if login.lower() not in {a.lower() for a in snapshot.issue.assignees}
    ]
    if wanted:
        actions.append(AddAssignees(tuple(wanted)))
    respond_by, next_update = _deadlines(policy, state)
    defaulted = not any(label in SEVERITY_LABELS for label in snapshot.issue.labels) and all(
        change[2] == "" for change in state.severity_changes
    )
    body = messages.brief(
        policy=policy,
        severity=state.severity,
        declared_at=state.declared_at,
        respond_by=respond_by,
        next_update=next_update,
        roles=state.roles,
        defaulted=defaulted,
        security=state.security,
        public=not snapshot.repo.private,
        recurs=recurs_of(snapshot, policy, state.declared_at),
        reported_by=None if state.confirmed else _reporter(snapshot, state),
    )
    actions.append(PostComment(body, "brief"))
    return actions


def _reporter(snapshot: Snapshot, state: IncidentState) -> str:
    """Who declared: the first person to put an incident label on, or the issue's author."""
    for event in snapshot.events:
        label, person = event.label, not event.ours and event.actor
        if event.kind == "labeled" and label is not None and is_incident([label]) and person:
            return event.actor
    return snapshot.issue.author


def _confirmation(snapshot: Snapshot, policy: Policy, state: IncidentState) -> list[Action]:
    """A declaration that waited for someone with authority is confirmed: the severity's
    roles are assigned and reached, once (the note is what notifiers hear as the
    declaration, behaviour §8/§10)."""
    brief = state.notes_of(markers.Brief)[0].marker
    if not brief.unconfirmed or not state.confirmed or state.notes_of(markers.Confirmed):
        return []
    if state.status is Status.RESOLVED:
        return []  # resolved before anyone confirmed it: a report dismissed, nobody paged
    assignees = {a.lower() for a in snapshot.issue.assignees}
    wanted = [
        login
        for login in _assignees_for(policy, state, state.severity)
        if login.lower() not in assignees
    ]
    respond_by, _ = _deadlines(policy, state)
    body = messages.confirmed(
        policy=policy,
        severity=state.severity,
        by=state.confirmed_by,
        roles=state.roles,
        respond_by=respond_by,
    )
    actions: list[Action] = [AddAssignees(tuple(wanted))] if wanted else []
    return [*actions, PostComment(body, "confirmed")]


def normalised(title: str) -> str:
    """A title without numbers, punctuation and case: what recurs is the same words."""
    return " ".join(re.sub(r"[^a-z ]+", " ", title.lower()).split())


def recurs_of(snapshot: Snapshot, policy: Policy, declared_at: datetime) -> list[int]:
    """Earlier incidents this one repeats: the same title or a shared `component:` label
    within `recurrence_days` before its declaration."""
    title = normalised(snapshot.issue.title)
    components = {x for x in snapshot.issue.labels if x.startswith("component:")}
    window = timedelta(days=policy.recurrence_days)
    return sorted(
        r.number
        for r in snapshot.recent
        if r.number != snapshot.issue.number
        and declared_at - window <= r.created_at <= declared_at
        and (normalised(r.title) == title or components & r.labels)
    )


def recurring(state: IncidentState) -> bool:
    """Did the brief find this incident to be a recurrence?"""
    return any(n.marker.recurs for n in state.notes_of(markers.Brief))


def _announced(state: IncidentState) -> tuple[Severity | None, set[str]]:
    """The severity the app last announced, and the severities whose checklist it posted."""
    last: Severity | None = None
    lists: set[str] = set()
    for note in state.notes:
        if isinstance(note.marker, markers.Brief | markers.SeverityNote):
            try:
                last = Severity(note.marker.severity)
            except ValueError:
                continue
            if note.marker.checklist:
                lists.add(note.marker.checklist)
    return last, lists


def _severity_change(snapshot: Snapshot, policy: Policy, state: IncidentState) -> list[Action]:
    last, lists = _announced(state)
    if last is None or last is state.severity:
        return []
    if state.breach is not None and not state.notes_of(markers.BreachNote):
        return []  # the breach note says it, in one comment
    assignees = {a.lower() for a in snapshot.issue.assignees}
    wanted = [
        login
        for login in _assignees_for(policy, state, state.severity)
        if login.lower() not in assignees
    ]
    respond_by, next_update = _deadlines(policy, state)
    body = messages.severity_changed(
        policy=policy,
        old=last,
        new=state.severity,
        by=state.severity_changes[-1][2],
        respond_by=respond_by,
        next_update=next_update,
        assigned=[f"@{login}" for login in wanted],
        with_checklist=state.severity.value not in lists,
    )
    actions: list[Action] = [AddAssignees(tuple(wanted))] if wanted else []
    return [*actions, PostComment(body, "severity")]


def _security(snapshot: Snapshot, policy: Policy, state: IncidentState) -> list[Action]:
    if not state.security or state.notes_of(markers.SecurityNote):
        return []
    if any("Security incident" in n.comment.body for n in state.notes_of(markers.Brief)):
        return []
    body = messages.security_flagged(policy=policy, public=not snapshot.repo.private)
    return [PostComment(body, "security")]


def _commands(snapshot: Snapshot, policy: Policy, state: IncidentState) -> list[Action]:
    actions: list[Action] = []
    replied = {
        (type(n.marker), n.marker.comment)
        for n in state.notes
        if isinstance(n.marker, markers.HelpReply | markers.InvalidReply | markers.Escalation)
    }
    denied = {n.marker.login for n in state.notes_of(markers.Denied)}
    by_comment: dict[int, list[cmd.Command]] = {}
    for use in state.uses:
        if use.authorized:
            by_comment.setdefault(use.comment.id, []).append(use.command)
        elif use.comment.author.lower() not in denied:
            denied.add(use.comment.author.lower())
            actions.append(PostComment(messages.denied_reply(use.comment.author), "denied"))

    # Role holders as they were before each comment, to know whom a hand-over replaces.
    holders = {role: policy.holders(role) for role in policy.roles}
    comments = {u.comment.id: u.comment for u in state.uses}
    for comment_id, given in by_comment.items():
        comment = comments[comment_id]
        invalid = [(c.command, c.problem) for c in given if isinstance(c, cmd.Invalid)]
        if invalid and (markers.InvalidReply, comment_id) not in replied:
            actions.append(PostComment(messages.invalid_reply(comment_id, invalid), "invalid"))
        if (
            any(isinstance(c, cmd.Help) for c in given)
            and (
                markers.HelpReply,
                comment_id,
            )
            not in replied
        ):
            actions.append(PostComment(messages.help_reply(comment_id), "help"))
        for c in given:
            if isinstance(c, cmd.Escalate) and (markers.Escalation, comment_id) not in replied:
                actions.append(_manual_escalation(policy, state, comment.author, c, comment_id))
        acted = [c for c in given if not isinstance(c, cmd.Invalid | cmd.Help)]
        # The app's own 👍 is the record that the one-off effects were done; anyone else's
        # reaction is no record of anything.
        fresh = acted and not comment.confirmed
        for c in acted:
            if isinstance(c, cmd.AssignRole):
                if fresh:
                    actions += _hand_over(snapshot, holders, c)
                holders[c.role] = [f"@{c.login}"]
        if fresh:
            # The reaction is the record that this comment's one-off effects were done.
            actions.append(AddReaction(comment_id, "+1"))
    return actions


def _breach(snapshot: Snapshot, policy: Policy, state: IncidentState) -> list[Action]:
    """A confirmed data breach: P0, legal and the security officer told at once, with the
    deadline to notify legal (runbook "Data Breach Response")."""
    record = state.breach
    if record is None or state.notes_of(markers.BreachNote):
        return []
    if not state.confirmed:
        return []  # legal and the security officer are reached once someone confirms (§8)
    cal = policy.business_calendar
    before = [sev for at, sev, _ in state.severity_changes if at < record.at]
    raised = before[-1] if before and before[-1] is not Severity.P0 else None
    if state.severity is not Severity.P0:
        raised = None  # lowered again since the breach, before this note: it says so instead
    _, lists = _announced(state)
    assignees = {a.lower() for a in snapshot.issue.assignees}
    wanted = [
        login
        for login in _assignees_for(policy, state, Severity.P0)
        if login.lower() not in assignees
    ]
    regulator = policy.breach.regulator_within
    body = messages.breach_confirmed(
        policy=policy,
        by=record.by,
        text=record.text,
        raised_from=raised,
        legal_by=policy.breach.legal_within.after(record.at, cal),
        regulator_by=regulator.after(record.at, cal) if regulator else None,
        targets=[(r, state.roles.get(r) or policy.holders(r)) for r in policy.breach.notify],
        assigned=[f"@{login}" for login in wanted],
        # A brief in this same plan carries the P0 checklist already.
        with_checklist=briefed(state) and "P0" not in lists,
        public=not snapshot.repo.private,
        severity=state.severity,
    )
    actions: list[Action] = [AddAssignees(tuple(wanted))] if wanted and briefed(state) else []
    return [*actions, PostComment(body, "breach")]


def breach_steps(policy: Policy, state: IncidentState, until: datetime) -> list[Step]:
    """The breach's deadlines: legal not told in time; the regulator's deadline, with a
    reminder a quarter before it."""
    record = state.breach
    if record is None:
        return []
    cal = policy.business_calendar
    steps: list[Step] = []
    legal_by = policy.breach.legal_within.after(record.at, cal)
    if record.legal_at is None or record.legal_at > legal_by:
        why = (
            f"legal not notified within {policy.breach.legal_within} of the confirmed breach "
            f"(due {messages.when(legal_by, policy)})"
        )
        steps.append(Step(legal_by, "breach-legal", why, tuple(policy.breach.escalate_to)))
    regulator = policy.breach.regulator_within
    if regulator is not None:
        deadline = regulator.after(record.at, cal)
        remind = deadline - (deadline - record.at) / 4
        when = messages.when(deadline, policy)
        steps.append(
            Step(
                remind,
                "breach-regulator-reminder",
                f"the regulator must be notified by {when}",
                tuple(policy.breach.notify),
                "regulator deadline",
            )
        )
        steps.append(
            Step(
                deadline,
                "breach-regulator",
                f"the regulator's deadline ({when}) has come",
                tuple(policy.breach.escalate_to),
            )
        )
    return [s for s in steps if s.due <= until]


@dataclass(frozen=True)
class Wanted:
    """An action item that should exist as an issue."""

    key: str
    horizon: str
    text: str
    owner: str | None
    due: datetime
    source: str  # a link to where it was written


def linked_round(state: IncidentState) -> tuple[int, int, datetime] | None:
    """(round, pull request, resolution) of the latest review with a merged-able document."""
    links = [n.marker for n in state.notes_of(markers.PirLink) if n.marker.pull is not None]
    if not links:
        return None
    link = max(links, key=lambda m: m.round)
    resolutions = _resolutions(state)
    if link.pull is None or link.round > len(resolutions):
        return None
    return link.round, link.pull, resolutions[link.round - 1]


def wanted_items(snapshot: Snapshot, state: IncidentState, policy: Policy) -> list[Wanted]:
    """The action items of the merged review document (at most `pir.max_action_items`) and
    of `/action` commands."""
    found: list[Wanted] = []
    record = snapshot.followup
    linked = linked_round(state)
    if record is not None and record.merged_at is not None and linked is not None:
        for item in followup.items(record.document)[: policy.pir.max_action_items]:
            found.append(
                Wanted(
                    f"r{linked[0]}:{item.key}",
                    item.horizon,
                    item.text,
                    item.owner,
                    item.due(record.merged_at),
                    f"#{linked[1]}",
                )
            )
    for use in state.uses:
        c = use.command
        if use.authorized and isinstance(c, cmd.AddActionItem):
            at = use.comment.created_at
            due = at + followup.HORIZONS[c.horizon][1]
            source = use.comment.url or f"#{snapshot.issue.number}"
            found.append(Wanted(f"c{use.comment.id}", c.horizon, c.text, c.owner, due, source))
    return list({w.key: w for w in found}.values())


def unfiled_items(snapshot: Snapshot, state: IncidentState, policy: Policy) -> list[str]:
    """The merged review's action items past `pir.max_action_items`: listed, never filed."""
    record = snapshot.followup
    if record is None or record.merged_at is None or linked_round(state) is None:
        return []
    return [item.text for item in followup.items(record.document)[policy.pir.max_action_items :]]


def action_items(snapshot: Snapshot, state: IncidentState, policy: Policy) -> list[Action]:
    """Follow-through: one issue per action item not yet filed, then the incident's list of
    them (one comment, edited in place). Nothing is planned before GitHub's record of what
    exists was read (`snapshot.followup`)."""
    record = snapshot.followup
    if record is None:
        return []
    filed = {key for key, _, _ in record.filed}
    missing = [w for w in wanted_items(snapshot, state, policy) if w.key not in filed]
    if missing:
        number = snapshot.issue.number
        return [
            OpenIssue(
                messages.title(w.text),
                messages.action_item_body(
                    text=w.text,
                    horizon=w.horizon,
                    due=w.due,
                    incident=number,
                    source=w.source,
                    marker=markers.ActionItem(number, w.key, w.due.isoformat()),
                ),
                (followup.LABEL, f"horizon:{w.horizon}"),
                (w.owner,) if w.owner else (),
                "action-item",
            )
            for w in missing
        ]
    return _action_list(snapshot, state, policy)


def action_list(snapshot: Snapshot, state: IncidentState, policy: Policy) -> list[Action]:
    """The incident's comment listing its action items (see `_action_list`)."""
    return drill(_action_list(snapshot, state, policy), state, policy)


def _action_list(snapshot: Snapshot, state: IncidentState, policy: Policy) -> list[Action]:
    """The incident's comment listing its action items, posted once and kept up to date."""
    record = snapshot.followup
    if record is None or not record.filed:
        return []
    keys = tuple(sorted(key for key, _, _ in record.filed))
    unfiled = unfiled_items(snapshot, state, policy)
    body = messages.action_list(
        sorted(record.filed), keys, unfiled=unfiled, limit=policy.pir.max_action_items
    )
    notes = state.notes_of(markers.ActionList)
    actions: list[Action] = []
    if not notes:
        actions.append(PostComment(body, "action-list"))
    elif notes[-1].marker.keys != keys:
        actions.append(EditComment(notes[-1].comment.id, body))
    # The review issue lists them too (one comment there, kept up to date).
    if record.review_issue is not None:
        if record.review_listing is None:
            actions.append(PostComment(body, "action-list", number=record.review_issue))
        elif record.review_listing[1] != keys:
            actions.append(EditComment(record.review_listing[0], body))
    return actions


def _phase(policy: Policy, state: IncidentState) -> list[Action]:
    """The first time the incident is mitigating (or monitoring), that phase's checklist
    (runbook "Fix Implementation", "Service Recovery") — for the phase it is in now only."""
    phase = state.status.value
    items = {"mitigating": policy.phases.mitigating, "monitoring": policy.phases.monitoring}
    if not items.get(phase) or any(
        n.marker.phase == phase for n in state.notes_of(markers.PhaseNote)
    ):
        return []
    return [PostComment(messages.phase_checklist(phase=phase, items=items[phase]), "phase")]


def _resolutions(state: IncidentState) -> list[datetime]:
    return [at for at, status, _ in state.status_changes if status is Status.RESOLVED]


def _all_clear(snapshot: Snapshot, policy: Policy, state: IncidentState) -> list[Action]:
    """Runbook "Post-Incident Activities": an official all-clear once per resolution, to
    everyone who took part, with the enhanced monitoring window."""
    if state.status is not Status.RESOLVED:
        return []
    resolutions = _resolutions(state)
    number = len(resolutions)
    if any(n.marker.round == number for n in state.notes_of(markers.AllClear)):
        return []
    resolved_at = resolutions[-1]
    people = [*(f"@{a}" for a in sorted(snapshot.issue.assignees))]
    people += [
        f"@{c.author}"
        for c in sorted(snapshot.comments, key=lambda c: c.created_at)
        if not c.ours and not c.author_is_bot and c.author
    ]
    people += [
        f"@{use.command.login}"
        for use in state.uses
        if use.authorized and isinstance(use.command, cmd.AssignRole)
    ]
    unique = list(dict.fromkeys(p.lower() for p in people))[:20]
    body = messages.all_clear(
        policy=policy,
        severity=state.severity,
        declared_at=state.declared_at,
        resolved_at=resolved_at,
        participants=unique,
        monitor_until=policy.phases.enhanced_monitoring.after(
            resolved_at, policy.business_calendar
        ),
        round=number,
    )
    return [PostComment(body, "all-clear")]


def _recurrence(policy: Policy, state: IncidentState) -> list[Action]:
    """A reopen inside the enhanced monitoring window after a resolution is a recurrence."""
    if state.status is Status.RESOLVED:
        return []
    changes = state.status_changes
    reopens = [
        (r_at, o_at)
        for (r_at, r_status, _), (o_at, o_status, _) in itertools.pairwise(changes)
        if r_status is Status.RESOLVED and o_status is not Status.RESOLVED
    ]
    if not reopens:
        return []
    resolved_at, reopened_at = reopens[-1]
    number = len(reopens) + 1  # the round this reopen started
    window = policy.phases.enhanced_monitoring.after(resolved_at, policy.business_calendar)
    if reopened_at > window or any(
        n.marker.round == number for n in state.notes_of(markers.Recurrence)
    ):
        return []
    body = messages.recurrence(
        policy=policy, resolved_at=resolved_at, reopened_at=reopened_at, round=number
    )
    return [PostComment(body, "recurrence")]


def _undone(state: IncidentState) -> list[Action]:
    """Changes by people without authority were not applied (the labels and the open or
    closed state are put back by the other steps): tell each such person once, and why."""
    told = {n.marker.login for n in state.notes_of(markers.Undone)}
    actions: list[Action] = []
    for event in state.undone:
        login = event.actor.lower()
        if login in told:
            continue
        told.add(login)
        what = {"closed": "closing this incident", "reopened": "reopening this incident"}.get(
            event.kind,
            f"removing `{event.label}`" if event.kind == "unlabeled" else f"adding `{event.label}`",
        )
        holders = state.roles.get("incident_commander", [])
        actions.append(PostComment(messages.undone_reply(event.actor, what, holders), "undone"))
    return actions


def _hand_over(
    snapshot: Snapshot, holders: dict[str, list[str]], command: cmd.AssignRole
) -> list[Action]:
    """Assign the role's new holder; unassign the old one if they hold no other role."""
    assignees = {a.lower() for a in snapshot.issue.assignees}
    others = {m.lower() for role, held in holders.items() if role != command.role for m in held}
    actions: list[Action] = []
    if command.login.lower() not in assignees:
        actions.append(AddAssignees((command.login,)))
    leaving = [
        login
        for login in _logins(holders.get(command.role, []))
        if login.lower() != command.login.lower()
        and login.lower() in assignees
        and f"@{login}".lower() not in others
    ]
    return actions + ([RemoveAssignees(tuple(leaving))] if leaving else [])


def _manual_escalation(
    policy: Policy, state: IncidentState, by: str, command: cmd.Escalate, comment_id: int
) -> PostComment:
    """Runbook "Manual Escalation Triggers": technical complexity climbs the chain; business
    impact, compliance risk and resource constraints reach the roles `triggers` names."""
    reached = max((n.marker.level for n in state.notes_of(markers.Escalation)), default=0)
    roles = policy.triggers.get(command.trigger)
    if roles:
        level = reached
    else:
        level = min(reached + 1, len(policy.escalation_chain) - 1)
        roles = [policy.escalation_chain[level]]
    body = messages.manual_escalation(
        policy=policy,
        by=by,
        reason=command.reason,
        trigger=command.trigger,
        level=level,
        targets=[(r, state.roles.get(r) or policy.holders(r)) for r in roles],
        climbed=not policy.triggers.get(command.trigger),
        comment_id=comment_id,
    )
    return PostComment(body, "escalation")


# --- deadlines (docs/behaviour.md §4) -------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One escalation step: when it is due, its id (the marker's record), what was missed,
    and whom it reaches — `roles`, or None to climb the escalation chain."""

    due: datetime
    id: str
    why: str
    roles: tuple[str, ...] | None = None
    review: str | None = None


MAX_STEPS = 400  # a year of business-day reviews


def due_steps(policy: Policy, state: IncidentState, until: datetime) -> list[Step]:
    """Every escalation step of the incident due by `until`, in time order.

    Two tracks (runbook "Automatic Escalations"), both from the current severity's start, so
    a severity change restarts the clocks:
    - response: while nobody acknowledges, climb the chain — the first step at the response
      deadline, each next one a response interval later;
    - unresolved: from `escalate_after`, the severity's `unresolved` track (P1: senior
      management, then the executive team every 2 h; P2: a daily review with management;
      P3: a weekly review if no progress); without one, climb the chain.
    """
    sp = policy.for_severity(state.severity)
    cal = policy.business_calendar
    start, sev = state.severity_since, state.severity.value
    levels = len(policy.escalation_chain) - 1
    steps: list[Step] = []
    if state.acked_at is None:
        due = sp.respond_within.after(start, cal)
        for k in range(1, levels + 1):
            if due > until:
                break
            why = (
                f"not acknowledged within {sp.respond_within} ({sev}), due "
                f"{messages.when(due, policy)}"
            )
            steps.append(Step(due, f"response-{sev}-{k}", why))
            due = sp.respond_within.after(due, cal)
    threshold, track = sp.escalate_after, sp.unresolved
    if threshold is None or threshold.amount == 0:
        return sorted(steps, key=lambda s: s.due)
    since = f"since {messages.when(start, policy)}"
    if track is None:
        due = threshold.after(start, cal)
        for k in range(1, levels + 1):
            if due > until:
                break
            steps.append(
                Step(due, f"unresolved-{sev}-{k}", f"unresolved after {threshold} ({sev}), {since}")
            )
            due = threshold.after(due, cal)
        return sorted(steps, key=lambda s: s.due)
    previous, due, k = start, threshold.after(start, cal), 1
    while due <= until and k <= MAX_STEPS:
        roles = (
            track.notify
            if k == 1 or track.then is None or not track.then.notify
            else track.then.notify
        )
        # Runbook P3: "Escalation: weekly review if recurring"; "weekly review if no progress".
        quiet = (
            track.only_without_update
            and not recurring(state)
            and any(previous < u.at <= due for u in state.updates)
        )
        if not quiet:
            why = (
                f"no status update since {messages.when(previous, policy)} ({sev})"
                if track.only_without_update
                else f"unresolved after {_span(due - start)} ({sev}), {since}"
            )
            steps.append(Step(due, f"unresolved-{sev}-{k}", why, tuple(roles), track.review))
        if track.then is None:
            break
        previous, due, k = due, track.then.every.after(due, cal), k + 1
    return sorted(steps, key=lambda s: s.due)


def _span(delta: timedelta) -> str:
    """`2 hours`, `1 day`, `26 hours` — how long an incident has been unresolved."""
    hours = int(delta.total_seconds() // 3600)
    if hours and hours % 24 == 0:
        days = hours // 24
        return f"{days} day{'s' if days != 1 else ''}"
    if hours:
        return f"{hours} hour{'s' if hours != 1 else ''}"
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def _escalations(policy: Policy, state: IncidentState, now: datetime) -> list[Action]:
    """One comment per track for the steps now due and not yet posted: the response track
    climbs the chain; the unresolved track reaches its roles (or climbs, without one)."""
    posted: set[str] = set()
    level = 0
    for note in state.notes_of(markers.Escalation):
        posted.update(note.marker.steps)
        level = max(level, note.marker.level)
    due = due_steps(policy, state, now) + breach_steps(policy, state, now)
    missing = sorted((s for s in due if s.id not in posted), key=lambda s: s.due)
    chain = policy.escalation_chain
    actions: list[Action] = []
    climbing = [s for s in missing if s.roles is None]
    if climbing:
        level = min(level + len(climbing), len(chain) - 1)
        role = chain[level]
        body = messages.escalation(
            policy=policy,
            missed=[s.why for s in climbing],
            role=role,
            holders=state.roles.get(role) or policy.holders(role),
            backups=policy.backups(role),
            steps=[s.id for s in climbing],
            level=level,
        )
        actions.append(PostComment(body, "escalation"))
    targeted = [s for s in missing if s.roles is not None]
    if targeted:
        last = targeted[-1]
        roles = list(last.roles or ())
        reached = max((chain.index(r) for r in roles if r in chain), default=level)
        body = messages.unresolved(
            policy=policy,
            missed=[s.why for s in targeted],
            review=last.review,
            targets=[(r, state.roles.get(r) or policy.holders(r)) for r in roles],
            steps=[s.id for s in targeted],
            level=max(level, reached),
        )
        actions.append(PostComment(body, "escalation"))
    return actions


def _reminder(
    snapshot: Snapshot, policy: Policy, state: IncidentState, now: datetime
) -> list[Action]:
    """One reminder per missed update interval, counted from the last update."""
    sp = policy.for_severity(state.severity)
    anchor, first_due, promised = _next_update(policy, state)
    number, last_due = _dues_passed(sp.update_every, first_due, now, policy.business_calendar)
    if number == 0:
        return []
    key = anchor.isoformat()
    if any(
        n.marker.anchor == key and n.marker.number >= number
        for n in state.notes_of(markers.Reminder)
    ):
        return []
    who = state.roles.get("communication_lead") or policy.holders("communication_lead")
    who = list(dict.fromkeys([*who, *(f"@{a}" for a in sorted(snapshot.issue.assignees))]))
    body = messages.reminder(
        policy=policy,
        severity=state.severity,
        due=last_due,
        who=who,
        anchor=anchor,
        number=number,
        status=state.status,
        latest=state.updates[-1] if state.updates else None,
        promised=promised and number == 1,
    )
    return [PostComment(body, "reminder")]


def _dues_passed(
    span: Span, first: datetime, now: datetime, cal: BusinessCalendar
) -> tuple[int, datetime]:
    """How many dues passed by `now` — `first`, then one every `span` — and the last one."""
    if now < first:
        return 0, first
    if span.unit != "business_days":
        step = span.after(first, cal) - first
        number = 1 + int((now - first) / step)
        return number, first + step * (number - 1)
    number, due, last = 0, first, first
    while due <= now and number < 366:
        number, last, due = number + 1, due, span.after(due, cal)
    return number, last


def _config_problems(snapshot: Snapshot, state: IncidentState) -> list[Action]:
    if not snapshot.config_problems:
        return []
    text = "\n".join(str(p) for p in snapshot.config_problems)
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    if any(n.marker.digest == digest for n in state.notes_of(markers.ConfigProblem)):
        return []
    return [PostComment(messages.config_problem(snapshot.config_problems, digest), "config-error")]
