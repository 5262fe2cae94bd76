"""The review issue and the comments about it: its body and agenda, the incident's link to
it, the private variants, the pasted document, the overdue reminder."""

from __future__ import annotations

from datetime import datetime

from app.core import markers, messages
from app.core.pir.rounds import Round, due
from app.core.pir.times import utc
from app.core.policy import Policy
from app.core.snapshot import Snapshot
from app.core.state import IncidentState

AGENDA = [
    ("Incident Summary", 10),
    ("Timeline Review", 20),
    ("Root Cause Analysis", 20),
    ("Response Evaluation", 15),
    ("Action Items", 15),
]


def issue_body(snapshot: Snapshot, state: IncidentState, policy: Policy, rnd: Round) -> str:
    """The PIR issue: when, what to bring, the agenda with its time boxes."""
    total = sum(m for _, m in AGENDA)
    agenda = "\n".join(
        f"{i}. **{name}** ({minutes} minutes)" for i, (name, minutes) in enumerate(AGENDA, start=1)
    )
    return "\n".join(
        [
            f"Post-incident review of {rnd.incident_ref} "
            f"({state.severity.value}, resolved {utc(rnd.resolved_at)} UTC).",
            "",
            f"**Due: {messages.when(due(policy, rnd), policy)}** "
            f"(within {policy.pir.due_business_days} business days of resolution).",
            "Duration: 60–90 minutes. Participants: all response team members and key "
            "stakeholders.",
            "",
            f"### Agenda ({total} minutes)",
            agenda,
            "",
            "Action items go in three categories: immediate (within 1 week), short-term "
            "(within 1 month), long-term (within 1 quarter).",
            "",
            "The review document is in the pull request linked below;"
            " merging it closes this issue.",
            "",
            markers.render(
                markers.PirIssue(
                    snapshot.issue.number,
                    rnd.number,
                    due(policy, rnd).isoformat(),
                    rnd.home,
                )
            ),
        ]
    )


def link_comment(
    *, pir_issue: int, pull: int | None, reason: str | None, rnd: Round, where: str = ""
) -> str:
    """The incident's comment pointing at its review (`where`: the review's repository, when
    it is not the incident's)."""
    if pull is not None:
        text = f"📝 Post-incident review: {where}#{pir_issue}, document in {where}#{pull}."
        if where:
            text += " It is held there because this is a security incident on a public repository."
    else:
        text = (
            f"📝 Post-incident review: #{pir_issue}. No pull request could be opened "
            f"({reason}); the document is pasted in the review issue."
        )
    return text + "\n\n" + markers.render(markers.PirLink(rnd.number, pir_issue, pull))


def private_issue_body(rnd: Round, due_at: datetime) -> str:
    """The review issue of a security incident on a public repository with nowhere private
    to hold it: a place to schedule the review, and nothing about the incident."""
    return (
        f"Post-incident review of #{rnd.incident} (round {rnd.number}). This was a security "
        "incident on a public repository, so the review is held privately: its document, "
        "timeline and findings are not kept here. Set `pir.private_repository` in "
        "`.github/incident.yml` to have the app prepare them in a private repository.\n\n"
        + markers.render(markers.PirIssue(rnd.incident, rnd.number, due_at.isoformat()))
    )


def private_link_comment(*, pir_issue: int, rnd: Round) -> str:
    return (
        f"📝 Post-incident review: #{pir_issue}. This is a security incident on a public "
        "repository: the review is held privately, and nothing of it is written here."
        "\n\n" + markers.render(markers.PirLink(rnd.number, pir_issue, None))
    )


def fallback_comment(*, reason: str, body: str) -> str:
    """On the PIR issue, when no pull request can be made: why, and the document itself."""
    return (
        f"No pull request with the review document could be opened: {reason}. "
        "Here is the document to copy into `ops/docs/incidents/` by hand:\n\n"
        "<details><summary>PIR document</summary>\n\n"
        + body
        + "\n</details>\n\n"
        + markers.render(markers.PirFallback())
    )


def overdue_reminder(*, assignees: list[str], due_at: datetime, day: str, policy: Policy) -> str:
    who = " ".join(f"@{a}" for a in assignees) or "Incident commander"
    return (
        f"⏰ {who}: this post-incident review was due {messages.when(due_at, policy)}. "
        "Schedule it, or close this issue if it took place.\n\n"
        + markers.render(markers.PirReminder(day))
    )
