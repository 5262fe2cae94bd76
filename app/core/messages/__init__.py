"""Every text the app writes on GitHub, in one place: a module per chapter of the runbook,
and the writing of times and user text they share. Callers use `messages.X`."""

from app.core.messages.action_items import action_item_body, action_list, action_overdue
from app.core.messages.breach import breach_confirmed
from app.core.messages.declaration import (
    SECURITY_PUBLIC_WARNING,
    brief,
    config_problem,
    confirmed,
    security_flagged,
    severity_changed,
)
from app.core.messages.durations import DurationStyle, duration
from app.core.messages.escalations import (
    TRIGGER_TITLES,
    escalation,
    manual_escalation,
    unresolved,
)
from app.core.messages.formatting import (
    MAX_BODY,
    MAX_TITLE,
    cell,
    fit,
    quiet,
    status_title,
    title,
    when,
)
from app.core.messages.people import backups, reach
from app.core.messages.public import DEFAULT_TITLES, public_reminder, record_note, resolved_text
from app.core.messages.replies import denied_reply, help_reply, invalid_reply, undone_reply
from app.core.messages.resolution import PHASE_TITLES, all_clear, phase_checklist, recurrence
from app.core.messages.templates import (
    COMMANDS_HELP,
    UPDATE_TEMPLATE,
    checklist,
    template,
    template_block,
)
from app.core.messages.updates import reminder

__all__ = [
    "COMMANDS_HELP",
    "DEFAULT_TITLES",
    "MAX_BODY",
    "MAX_TITLE",
    "PHASE_TITLES",
    "SECURITY_PUBLIC_WARNING",
    "TRIGGER_TITLES",
    "UPDATE_TEMPLATE",
    "DurationStyle",
    "action_item_body",
    "action_list",
    "action_overdue",
    "all_clear",
    "backups",
    "breach_confirmed",
    "brief",
    "cell",
    "checklist",
    "config_problem",
    "confirmed",
    "denied_reply",
    "duration",
    "escalation",
    "fit",
    "help_reply",
    "invalid_reply",
    "manual_escalation",
    "phase_checklist",
    "public_reminder",
    "quiet",
    "reach",
    "record_note",
    "recurrence",
    "reminder",
    "resolved_text",
    "security_flagged",
    "severity_changed",
    "status_title",
    "template",
    "template_block",
    "title",
    "undone_reply",
    "unresolved",
    "when",
]
