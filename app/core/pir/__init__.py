"""The post-incident review: its names, its issue and its document, from GitHub's record (pure).

`rounds` names it, `issue` writes its issue and comments, `draft` its document from
`history` (timeline, chart), `response` (the evaluation) and `compliance`.
"""

from app.core.pir.draft import HORIZONS, document
from app.core.pir.history import Entry, mermaid, mermaid_text, timeline, update_text
from app.core.pir.issue import (
    AGENDA,
    fallback_comment,
    issue_body,
    link_comment,
    overdue_reminder,
    private_issue_body,
    private_link_comment,
)
from app.core.pir.response import evaluation
from app.core.pir.rounds import Round, current_round, document_path, due, slug

__all__ = [
    "AGENDA",
    "HORIZONS",
    "Entry",
    "Round",
    "current_round",
    "document",
    "document_path",
    "due",
    "evaluation",
    "fallback_comment",
    "issue_body",
    "link_comment",
    "mermaid",
    "mermaid_text",
    "overdue_reminder",
    "private_issue_body",
    "private_link_comment",
    "slug",
    "timeline",
    "update_text",
]
