"""What an alert incident says on GitHub: its title, body and notes, with the monitoring's
text made inert (no links, images or cross-references of its own)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from urllib.parse import quote

from app.core import markers, messages
from app.core.actions import OpenIssue
from app.core.alerts.payloads import (
    ALERT_LABEL,
    MAX_REMEMBERED,
    SOURCE_NAMES,
    Alert,
    AlertGroup,
    digest,
    severity,
)
from app.core.labels import INCIDENT
from app.core.policy import AlertsPolicy


def _url(url: str) -> str:
    """A link target that cannot end the markdown link early or break out of it."""
    return quote(url.strip(), safe=":/?#[]@!$&'*+,;=%~")


WORD_JOINER = "\u2060"  # invisible, and enough to keep GitHub from linking what it splits
_WWW = re.compile(r"\bwww\.", re.IGNORECASE)
_REFERENCE = re.compile(r"(#|\bGH-)(?=\d)", re.IGNORECASE)


def unlinked(text: str) -> str:
    """Text GitHub turns into no link and no cross-reference: a word joiner splits `://`,
    `www.`, `#12` (also `acme/secret#12`) and `GH-12`, which read the same."""
    text = text.replace("://", f":{WORD_JOINER}//")
    text = _WWW.sub(lambda m: f"{m[0][:-1]}{WORD_JOINER}.", text)
    return _REFERENCE.sub(lambda m: f"{m[1]}{WORD_JOINER}", text)


def inert(text: str, limit: int = 300) -> str:
    """An alert's own text (a summary, a description, a name) for one line or table cell,
    shown as written but inert: `messages.cell`'s escaping (no HTML, pings, pipes), escaped
    brackets so `[x](…)` and `![](…)` are no link or image, and `unlinked`. The app's own
    links (source, dashboard, silence, runbook) are built apart, from http(s) URLs only."""
    text = messages.cell(text, limit).replace("[", "\\[").replace("]", "\\]")
    return unlinked(text)


def _when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if moment else "—"


def _summary(group: AlertGroup) -> str:
    alerts = group.firing or list(group.alerts)
    for found in (
        group.common_annotations.get("summary"),
        alerts[0].annotations.get("summary") if alerts else None,
        group.common_annotations.get("description"),
        alerts[0].annotations.get("description") if alerts else None,
    ):
        if found:
            return " ".join(found.split())
    return ""


def issue_title(group: AlertGroup) -> str:
    """`HighErrorRate: Error rate above 5% on payments` (or the title the source gave)."""
    if group.source == "generic":
        base = group.title
    else:
        names = list(dict.fromkeys(a.name for a in group.firing or group.alerts))
        base = names[0] + (f" (+{len(names) - 1} more)" if len(names) > 1 else "")
        summary = _summary(group)
        base = f"{base}: {summary}" if summary and summary != base else base
    return messages.title(unlinked(" ".join((base or "Alert").split())))


def _labels(labels: Mapping[str, str], skip: Sequence[str] = ()) -> str:
    shown = [
        f"`{messages.cell(k, 100)}={messages.cell(v, 200)}`"
        for k, v in sorted(labels.items())
        if k not in skip
    ]
    return " ".join(shown) or "—"


def _alert_rows(alerts: Sequence[Alert], limit: int = 50) -> list[str]:
    rows = ["| Alert | Since | Labels | Summary | Links |", "|---|---|---|---|---|"]
    for alert in alerts[:limit]:
        summary = alert.annotations.get("summary") or alert.annotations.get("description") or ""
        links = " · ".join(f"[{text}]({_url(url)})" for text, url in alert.links) or "—"
        rows.append(
            f"| {inert(alert.name, 100)} | {_when(alert.starts_at)} "
            f"| {_labels(alert.labels, ('alertname',))} | {inert(summary, 300) or '—'} "
            f"| {links} |"
        )
    if len(alerts) > limit:
        rows.append(f"| … and {len(alerts) - limit} more | | | | |")
    return rows


def open_issue(group: AlertGroup, policy: AlertsPolicy, now: datetime) -> OpenIssue:
    """The incident issue for a firing group: labels `incident`, `sev:Px`, `alert`."""
    sev = severity(group, policy)
    alerts = group.firing
    first = min((a.starts_at for a in alerts if a.starts_at), default=None)
    source = SOURCE_NAMES[group.source]
    lines = [
        f"**{source} alert** — {len(alerts)} firing since {_when(first or now)}. "
        f"Severity **{sev.value}** (alert label `{messages.cell(policy.severity_label, 100)}`: "
        f"`{messages.cell(_asked(group, policy), 100) or 'none'}`).",
        "",
        *_quoted(group),
        *_runbook_lines(group),
        f"**Common labels:** {_labels(group.common_labels)}",
        "",
        *_annotation_lines(group),
        *_alert_rows(alerts),
    ]
    if group.truncated:
        lines += [
            "",
            f"{source} left out {group.truncated} more alert(s) of this group "
            "(its `max_alerts`): see the source for all of them.",
        ]
    if group.external_url.startswith(("https://", "http://")):
        lines += ["", f"[Open in {source}]({_url(group.external_url)})"]
    lines += [
        "",
        "The incident runbook takes it from here. Later notifications for this group are "
        "told here once when the firing alerts change, and once when they resolve.",
        "",
        markers.render(
            markers.AlertIssue(
                group=group.group,
                source=group.source,
                digest=group.digest,
                firing=group.fingerprints[:MAX_REMEMBERED],
            )
        ),
    ]
    return OpenIssue(
        title=issue_title(group),
        body="\n".join(lines),
        labels=(INCIDENT, sev.label, ALERT_LABEL),
        assignees=(),
        kind="alert",
    )


def _quoted(group: AlertGroup) -> list[str]:
    """The group's summary, and its description when it says more, quoted inert."""
    alerts = group.firing
    summary = _summary(group)
    lines = [f"> {inert(summary, 1000)}", ""] if summary else []
    description = group.common_annotations.get("description") or (
        alerts[0].annotations.get("description") if alerts else ""
    )
    if description and description != summary:
        lines += [f"> {inert(description, 2000)}", ""]
    return lines


def _runbook_lines(group: AlertGroup) -> list[str]:
    """Links to the alerts' runbooks (http(s) only, five at most)."""
    runbooks = list(
        dict.fromkeys(
            url
            for a in group.firing
            for url in [
                a.annotations.get("runbook_url", ""),
                group.common_annotations.get("runbook_url", ""),
            ]
            if url.startswith(("https://", "http://"))
        )
    )
    lines = [f"**Runbook:** <{_url(url)}>" for url in runbooks[:5]]
    return [*lines, ""] if runbooks else []


def _annotation_lines(group: AlertGroup) -> list[str]:
    """The group's common annotations but those shown above."""
    others = {
        k: v
        for k, v in group.common_annotations.items()
        if k not in ("summary", "description", "runbook_url")
    }
    return [f"**Annotations:** {_labels(others)}", ""] if others else []


def _asked(group: AlertGroup, policy: AlertsPolicy) -> str:
    values = [a.labels.get(policy.severity_label, "") for a in group.firing]
    values.append(group.common_labels.get(policy.severity_label, ""))
    return next((v for v in values if v), "")


def changed_comment(group: AlertGroup, before: frozenset[str], again: bool, now: datetime) -> str:
    """One short comment: what fires now, what is new, what resolved."""
    now_firing = group.firing
    new = [a for a in now_firing if a.fingerprint not in before] if before else []
    gone = len(before - set(group.fingerprints)) if before and not again else 0
    parts = [f"🔔 **Alerts changed** at {_when(now)}: {len(now_firing)} firing"]
    if new and not again:
        parts.append(f"{len(new)} new")
    if gone:
        parts.append(f"{gone} resolved")
    lines = [", ".join(parts) + "." + (" Firing again." if again else ""), ""]
    lines += _alert_rows(new or now_firing, limit=20)
    if group.truncated:
        lines += ["", f"({group.truncated} more left out by the source.)"]
    lines += ["", _note(group, resolved=False, auto=False)]
    return "\n".join(lines)


def capped_comment(group: AlertGroup, policy: AlertsPolicy, now: datetime) -> str:
    """A firing group told on the newest open alert incident: `alerts.max_new_per_hour`
    incidents were opened here in the last hour already."""
    firing = group.firing
    lines = [
        f"🔔 **Another alert group fires** at {_when(now)}: {inert(issue_title(group), 200)}, "
        f"{len(firing)} firing. {policy.max_new_per_hour} alert incident(s) were opened in "
        "this repository in the last hour (`alerts.max_new_per_hour`), so it is told on this "
        "incident instead of opening another; its changes and resolution are told here too.",
        "",
    ]
    lines += _alert_rows(firing, limit=20)
    if group.truncated:
        lines += ["", f"({group.truncated} more left out by the source.)"]
    lines += ["", _note(group, resolved=False, auto=False)]
    return "\n".join(lines)


def resolved_comment(
    group: AlertGroup, policy: AlertsPolicy, now: datetime, *, closes: bool, closed: bool = False
) -> str:
    """`Alerts resolved at <time>`, once; with `closes` (`auto_resolve`, and no other group
    of the incident still firing) it resolves the incident."""
    ended = max((a.ends_at for a in group.alerts if a.ends_at), default=None)
    at = ended if ended is not None and ended <= now else now
    text = f"✅ **Alerts resolved** at {_when(at)}: every alert of this group has resolved."
    if closed:
        text += " The incident was closed already."
    elif closes:
        text += " `alerts.auto_resolve` is on: this resolves the incident."
    elif policy.auto_resolve:
        text += " Other alerts of this incident still fire: it stays open."
    else:
        text += " The incident stays open until a responder resolves it (`/status resolved`)."
    return text + "\n\n" + _note(group, resolved=True, auto=closes)


def _note(group: AlertGroup, *, resolved: bool, auto: bool) -> str:
    return markers.render(
        markers.AlertNote(
            group=group.group,
            digest=group.digest if not resolved else digest(()),
            firing=() if resolved else group.fingerprints[:MAX_REMEMBERED],
            resolved=resolved,
            auto=resolved and auto,
        )
    )
