"""The runbook's fixed texts: the commands' help, the status update template, a severity's
checklist."""

from __future__ import annotations

from app.core.commands import Status
from app.core.policy import Policy, Severity

COMMANDS_HELP = """\
| command | effect |
| --- | --- |
| `/ack` | acknowledge: stops the response-time escalation |
| `/status investigating\\|mitigating\\|monitoring\\|resolved [text]` | status update; `resolved` closes the issue |
| `/sev P0`…`/sev P3` | change the severity |
| `/assign ic\\|tl\\|comms\\|dev\\|qa @login` | hand over a role: incident commander, technical lead, communication lead, development or QA team |
| `/escalate [technical\\|business\\|compliance\\|resources] [reason]` | escalate now: technical (the default) to the next level of the chain, business to senior management, compliance to legal and the security officer, resources to the team lead |
| `/breach [text]` | a confirmed data breach: P0, legal and the security officer told, "notify legal by" deadline |
| `/legal notified [reference]` | legal was notified (legal, the incident commander or the security officer) |
| `/regulator notified [reference]` | the regulator was notified: stops its reminder (legal, the incident commander or the security officer) |
| `/action immediate\\|short\\|long <text> [@owner]` | file an action item now (due in 1 week, 1 month or 1 quarter) |
| `/public <text>` | a customer-facing update on the public status site (`/public resolved <text>`: the last one; `/public title <text>`: its public title) |
| `/component <name> operational\\|degraded\\|partial-outage\\|major-outage` | what customers see of a component |
| `/impact <percent>` | the share of users affected |
| `/oncall` | who holds each rotating seat now and after the next handoff |
| `/oncall cover @login [rotation] [until <time>]` | @login takes the rotation's turn from now (until the next handoff, or `<time>`) |
| `/incident help` | this list |

A comment written in the status update template counts as `/status`. Commands work for \
people with write access to the repository and for those named in the roster."""


UPDATE_TEMPLATE = """\
🚨 INCIDENT UPDATE #{number} - [timestamp]
Severity: {severity}
Status: {status}
Impact: [Description of user/business impact]
ETA: [Estimated resolution time]
Next Update: [When next update will be provided]
Actions: [Current/planned actions]"""


def checklist(policy: Policy, severity: Severity) -> str:
    items = policy.for_severity(severity).checklist
    return f"### Checklist ({severity.value})\n" + "\n".join(f"- [ ] {item}" for item in items)


def template(*, number: int, severity: Severity, status: Status) -> str:
    """The runbook's status update template, filled in with what the app knows."""
    return UPDATE_TEMPLATE.format(
        number=number, severity=severity.value, status=status.value.capitalize()
    )


def template_block(*, number: int, severity: Severity, status: Status) -> str:
    return (
        "<details><summary>Status update template</summary>\n\n```\n"
        + template(number=number, severity=severity, status=status)
        + "\n```\n</details>"
    )
