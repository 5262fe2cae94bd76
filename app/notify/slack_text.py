"""What Slack shows of an incident: messages in Slack's mrkdwn, a link only for confidential
incidents in shared places, channel names and topics (pure: no requests)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from app.core.notify import Event, Kind

PREFIX = "incident-"
NAME_LIMIT = 80  # Slack's limit on a channel name
TOPIC_LIMIT = 250
_RESOLVED = re.compile(r"^Resolved (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ) · ")

HEADLINES: dict[Kind, str] = {
    Kind.DECLARED: "Incident declared",
    Kind.STATUS: "Status update",
    Kind.ACKNOWLEDGED: "Acknowledged",
    Kind.ESCALATED: "Escalated",
    Kind.SEVERITY: "Severity changed",
    Kind.BREACH: "Data breach confirmed",
    Kind.RESOLVED: "All clear",
    Kind.REOPENED: "Reopened",
    Kind.REVIEW: "Post-incident review opened",
    Kind.HANDOVER: "On-call handover",
}


# --- text ------------------------------------------------------------------------------


def escape(text: str) -> str:
    """What Slack's mrkdwn needs escaped: &, < and >."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mrkdwn(markdown: str) -> str:
    """GitHub markdown as Slack shows it: `**bold**` → `*bold*`, `[t](u)` → `<u|t>`."""
    text = escape(markdown)
    text = re.sub(
        r"\[([^\]\n]+)\]\((https?://[^)\s]+)\)",
        lambda m: f"<{m[2]}|{m[1].replace('|', '¦')}>",
        text,
    )
    return re.sub(r"\*\*(.+?)\*\*", r"*\1*", text)


def link(url: str, text: str) -> str:
    return f"<{url}|{escape(text).replace('|', '¦')}>"


def message(event: Event, *, in_channel: bool = False) -> str:
    """An event as a Slack message: severity, title, what happened, a link to it."""
    headline = HEADLINES[event.kind]
    if event.kind is Kind.STATUS:
        headline = f"Status: {event.status}"
    elif event.kind is Kind.SEVERITY:
        headline = f"Severity now {event.severity.value}"
    name = escape(event.title)
    if not in_channel:
        name = f"{link(event.issue_url, event.incident)} {name}"
    lines = [f"*[{event.severity.value}] {name}* · {headline}"]
    if event.text.strip():
        lines.append(mrkdwn(event.text.strip()))
    lines.append(link(event.url, "View on GitHub"))
    return "\n".join(lines)


def link_only(event: Event) -> str:
    """A confidential incident's event where others read: which issue, and nothing of it."""
    return (
        f":lock: *[{event.severity.value}] {link(event.issue_url, event.incident)}* · "
        "a confidential incident: read it on GitHub"
    )


def shared(event: Event) -> str:
    """An event as posted in a shared place (the notifier's `channel`, an incoming webhook)."""
    return link_only(event) if event.confidential else message(event)


def announcement(event: Event, channel_id: str) -> str:
    """The one line in the notifier's `channel` when an incident gets its own channel; a
    confidential incident's without its title."""
    if event.confidential:
        return f"{link_only(event)} · <#{channel_id}>"
    return (
        f":rotating_light: *[{event.severity.value}] {link(event.issue_url, event.incident)}* "
        f"{escape(event.title)} · <#{channel_id}>"
    )


def _slug(text: str, default: str) -> str:
    text = re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9_-]", "-", text.lower())).strip("-_")
    return text or default


def _name(body: str, suffix: str) -> str:
    return PREFIX + body[: NAME_LIMIT - len(PREFIX) - len(suffix)].rstrip("-_") + suffix


def channel_name(event: Event) -> str:
    """`incident-<repo>-<number>`: lowercase letters, digits, `-` and `_`; ≤ 80 characters."""
    return _name(_slug(event.repo.rpartition("/")[2], "repo"), f"-{event.number}")


def channel_names(event: Event) -> list[str]:
    """The names the incident's channel may have, in order: `incident-<repo>-<number>`; when
    that one is not the incident's (another incident's: `acme/api#7` and `other/api#7` in one
    workspace; someone else's; a public one for a confidential incident),
    `incident-<owner>-<repo>-<number>`, then that with `-2` and `-3`."""
    owner = _slug(event.repo.partition("/")[0], "owner")
    both = owner + "-" + _slug(event.repo.rpartition("/")[2], "repo")
    names = [channel_name(event)]
    names += [_name(both, f"-{event.number}{extra}") for extra in ("", "-2", "-3")]
    return list(dict.fromkeys(names))


def marked(topic: str, event: Event) -> bool:
    """The app's mark on an incident channel's topic: it ends with the issue's URL (both
    `open_topic` and `resolved_topic` do)."""
    return topic.endswith(event.issue_url)


def belongs(channel: Mapping[str, Any], event: Event, bot: str) -> bool:
    """The channel is this incident's: the bot created it, and its topic carries the mark, or
    no topic yet (a replica created it a moment ago and is about to set it); and it is
    private if the incident is confidential."""
    if not bot or str(channel.get("creator") or "") != bot:
        return False
    if event.confidential and not channel.get("is_private"):
        return False
    topic = str((channel.get("topic") or {}).get("value") or "")
    return not topic or marked(topic, event)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def open_topic(event: Event) -> str:
    topic = f"[{event.severity.value}] {event.title} · {event.issue_url}"
    return topic if len(topic) <= TOPIC_LIMIT else f"[{event.severity.value}] {event.issue_url}"


def resolved_topic(event: Event) -> str:
    """`Resolved <ISO time> · <issue url>`: what `sweep` reads back."""
    return f"Resolved {_iso(event.at)} · {event.issue_url}"


def resolved_at(topic: str) -> datetime | None:
    """When a channel's topic says its incident was resolved, or None."""
    match = _RESOLVED.match(topic)
    if match is None:
        return None
    return datetime.strptime(match[1], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


# --- the Web API, one call at a time ----------------------------------------------------
