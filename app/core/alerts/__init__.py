"""Alerts from monitoring: the three payloads read into one shape, and what each one asks of
GitHub — open one incident issue per firing group, tell it when its alerts change or
resolve, and nothing when nothing changed (docs/behaviour.md §9).

Deduplication is stateless: the issue the app opened for a group carries the group's digest
in its marker (`AlertIssue`), and each change it told carries the new set's digest
(`AlertNote`); the next notification finds both on GitHub again, whichever replica or
restart receives it.
"""

from app.core.alerts.decide import Decision, Known, decide, match, newest_open
from app.core.alerts.payloads import (
    ALERT_LABEL,
    CAP_WINDOW,
    MAX_ALERTS,
    MAX_REMEMBERED,
    MAX_TEXT,
    SOURCE_NAMES,
    SOURCES,
    Alert,
    AlertGroup,
    BadPayload,
    digest,
    parse,
    severity,
)
from app.core.alerts.texts import (
    WORD_JOINER,
    _url,
    capped_comment,
    changed_comment,
    inert,
    issue_title,
    open_issue,
    resolved_comment,
    unlinked,
)
from app.core.alerts.tokens import OWNER_TOKEN_PREFIX, owner_token

__all__ = [
    "ALERT_LABEL",
    "CAP_WINDOW",
    "MAX_ALERTS",
    "MAX_REMEMBERED",
    "MAX_TEXT",
    "OWNER_TOKEN_PREFIX",
    "SOURCES",
    "SOURCE_NAMES",
    "WORD_JOINER",
    "Alert",
    "AlertGroup",
    "BadPayload",
    "Decision",
    "Known",
    "_url",
    "capped_comment",
    "changed_comment",
    "decide",
    "digest",
    "inert",
    "issue_title",
    "match",
    "newest_open",
    "open_issue",
    "owner_token",
    "parse",
    "resolved_comment",
    "severity",
    "unlinked",
]
