"""Alerts from monitoring: the three payloads read into one shape, and what each one asks of
GitHub — open one incident issue per firing group, tell it when its alerts change or
resolve, and nothing when nothing changed (docs/behaviour.md §9).

Deduplication is stateless: the issue the app opened for a group carries the group's digest
in its marker (`AlertIssue`), and each change it told carries the new set's digest
(`AlertNote`); the next notification finds both on GitHub again, whichever replica or
restart receives it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from app.core import markers, messages
from app.core.actions import OpenIssue, PostComment
from app.core.labels import ALERT, INCIDENT, SEVERITIES
from app.core.policy import AlertsPolicy, Severity

SOURCES = ("alertmanager", "grafana", "generic")
SOURCE_NAMES = {"alertmanager": "Alertmanager", "grafana": "Grafana", "generic": "monitoring"}
MAX_ALERTS = 1000  # more in one notification is refused (Alertmanager's max_alerts caps it)
MAX_REMEMBERED = 100  # fingerprints kept in a marker; the digest covers them all
MAX_TEXT = 2000  # one label value or annotation, as shown
CAP_WINDOW = timedelta(hours=1)  # `alerts.max_new_per_hour` counts the issues opened in it


OWNER_TOKEN_PREFIX = "iao_"  # incident-app, one owner's alert token


def owner_token(secret: str, owner: str) -> str:
    """The alert token for one owner's repositories only: `iao_` and the HMAC-SHA256 of the
    case-folded owner under ALERTS_TOKEN (`incident-app alert-token OWNER` prints it)."""
    message = f"incident-app alerts for owner\n{owner.casefold()}".encode()
    return OWNER_TOKEN_PREFIX + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


class BadPayload(ValueError):
    """A notification that is not what its endpoint takes: the 400's reason."""


@dataclass(frozen=True)
class Alert:
    fingerprint: str
    status: str  # firing | resolved
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    links: tuple[tuple[str, str], ...] = ()  # (text, url): the source, a silence, a dashboard

    @property
    def name(self) -> str:
        return self.labels.get("alertname") or self.annotations.get("summary") or "alert"

    @property
    def firing(self) -> bool:
        return self.status == "firing"


@dataclass(frozen=True)
class AlertGroup:
    """One notification: a group of alerts as its source sent it."""

    source: str
    key: str  # the source's group key
    status: str  # firing | resolved
    alerts: tuple[Alert, ...]
    common_labels: Mapping[str, str] = field(default_factory=dict)
    common_annotations: Mapping[str, str] = field(default_factory=dict)
    external_url: str = ""
    truncated: int = 0  # alerts the source left out (Alertmanager's `truncatedAlerts`)
    title: str = ""  # a title the source gave (Grafana's, the generic payload's)

    @property
    def group(self) -> str:
        """The group's name on GitHub: a digest of source and key (16 hex digits)."""
        return hashlib.sha256(f"{self.source}\n{self.key}".encode()).hexdigest()[:16]

    @property
    def firing(self) -> list[Alert]:
        return [a for a in self.alerts if a.firing]

    @property
    def fingerprints(self) -> tuple[str, ...]:
        return tuple(sorted({a.fingerprint for a in self.firing}))

    @property
    def digest(self) -> str:
        return digest(self.fingerprints)

    @property
    def resolved(self) -> bool:
        return self.status == "resolved" or not self.firing


def digest(fingerprints: Sequence[str]) -> str:
    if not fingerprints:
        return "none"
    return hashlib.sha256("\n".join(sorted(fingerprints)).encode()).hexdigest()[:16]


# --- reading the three payloads ----------------------------------------------------------


def parse(source: str, data: Any) -> AlertGroup:
    """The notification as an AlertGroup; BadPayload says what is wrong with it."""
    if not isinstance(data, dict):
        raise BadPayload("the body must be a JSON object")
    if source == "generic":
        return _generic(data)
    if source == "alertmanager":
        version = data.get("version")
        if version != "4":
            raise BadPayload(f'unsupported version {version!r}: Alertmanager\'s webhook sends "4"')
    return _grouped(source, data)


def _text(value: Any, where: str, *, required: bool = False) -> str:
    if value is None or value == "":
        if required:
            raise BadPayload(f"{where} is missing")
        return ""
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise BadPayload(f"{where} must be a string")
    return str(value)[:MAX_TEXT]


def _pairs(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadPayload(f"{where} must be an object of strings")
    return {str(k)[:200]: _text(v, f"{where}.{k}") for k, v in list(value.items())[:100]}


def _time(value: Any, where: str) -> datetime | None:
    """An RFC 3339 time; Alertmanager's zero time (`0001-01-01T00:00:00Z`) is none."""
    if value in (None, "") or str(value).startswith("0001-01-01"):
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise BadPayload(f"{where} is not an RFC 3339 time: {str(value)[:40]!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _status(value: Any, where: str) -> str:
    if value not in ("firing", "resolved"):
        raise BadPayload(f'{where} must be "firing" or "resolved", not {str(value)[:40]!r}')
    return str(value)


def _fingerprint(labels: Mapping[str, str]) -> str:
    """For an alert that came without one: a digest of its labels, as Alertmanager's is."""
    return hashlib.sha256(json.dumps(labels, sort_keys=True).encode()).hexdigest()[:16]


_LINKS = (
    ("generatorURL", "Source"),
    ("dashboardURL", "Dashboard"),
    ("panelURL", "Panel"),
    ("silenceURL", "Silence"),
)


def _grouped(source: str, data: Mapping[str, Any]) -> AlertGroup:
    """Alertmanager's webhook (version 4) and Grafana's contact point, which extends it."""
    raw = data.get("alerts")
    if not isinstance(raw, list) or not raw:
        raise BadPayload("alerts must be a non-empty list")
    if len(raw) > MAX_ALERTS:
        raise BadPayload(f"more than {MAX_ALERTS} alerts in one notification")
    alerts = []
    for n, item in enumerate(raw):
        where = f"alerts[{n}]"
        if not isinstance(item, dict):
            raise BadPayload(f"{where} must be an object")
        labels = _pairs(item.get("labels"), f"{where}.labels")
        links = tuple(
            (text, url)
            for key, text in _LINKS
            if (url := _text(item.get(key), f"{where}.{key}")).startswith(("https://", "http://"))
        )
        alerts.append(
            Alert(
                fingerprint=_text(item.get("fingerprint"), f"{where}.fingerprint")
                or _fingerprint(labels),
                status=_status(item.get("status"), f"{where}.status"),
                labels=labels,
                annotations=_pairs(item.get("annotations"), f"{where}.annotations"),
                starts_at=_time(item.get("startsAt"), f"{where}.startsAt"),
                ends_at=_time(item.get("endsAt"), f"{where}.endsAt"),
                links=links,
            )
        )
    truncated = data.get("truncatedAlerts", 0)
    if not isinstance(truncated, int) or isinstance(truncated, bool) or truncated < 0:
        raise BadPayload("truncatedAlerts must be a whole number")
    common = _pairs(data.get("commonLabels"), "commonLabels")
    key = _text(data.get("groupKey"), "groupKey") or json.dumps(
        _pairs(data.get("groupLabels"), "groupLabels") or common, sort_keys=True
    )
    return AlertGroup(
        source=source,
        key=key,
        status=_status(data.get("status"), "status"),
        alerts=tuple(alerts),
        common_labels=common,
        common_annotations=_pairs(data.get("commonAnnotations"), "commonAnnotations"),
        external_url=_text(data.get("externalURL"), "externalURL"),
        truncated=truncated,
        title=_text(data.get("title"), "title") if source == "grafana" else "",
    )


def _generic(data: Mapping[str, Any]) -> AlertGroup:
    """`{"title", "severity", "key", "status", "description", "url"}` from anything else."""
    unknown = sorted(set(data) - {"title", "severity", "key", "status", "description", "url"})
    if unknown:
        raise BadPayload(
            f"unknown field {unknown[0]!r}: use title, severity, key, status, description, url"
        )
    title = _text(data.get("title"), "title", required=True)
    key = _text(data.get("key"), "key") or title
    url = _text(data.get("url"), "url")
    labels = {"alertname": title}
    if data.get("severity") not in (None, ""):
        labels["severity"] = _text(data.get("severity"), "severity")
    alert = Alert(
        fingerprint=hashlib.sha256(key.encode()).hexdigest()[:16],
        status=_status(data.get("status", "firing"), "status"),
        labels=labels,
        annotations={"description": _text(data.get("description"), "description")}
        if data.get("description")
        else {},
        links=(("Source", url),) if url.startswith(("https://", "http://")) else (),
    )
    return AlertGroup("generic", key, alert.status, (alert,), common_labels=labels, title=title)


# --- deciding -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Known:
    """An incident issue the app opened for alerts, as found on GitHub, with the app's notes
    on it (every group's, oldest first)."""

    number: int
    open: bool
    closed_at: datetime | None
    opened: markers.AlertIssue
    notes: tuple[markers.AlertNote, ...] = ()
    created_at: datetime | None = None

    def state(self, group: str) -> markers.AlertNote | None:
        """A group's last state told here: its last note, or the opening marker for the group
        that opened the issue; None for a group never told here."""
        own = [n for n in self.notes if n.group == group]
        if own:
            return own[-1]
        if self.opened.group == group:
            return markers.AlertNote(group, self.opened.digest, self.opened.firing)
        return None

    @property
    def groups(self) -> list[str]:
        return list(dict.fromkeys([self.opened.group, *(n.group for n in self.notes)]))

    @property
    def firing(self) -> frozenset[str]:
        """Every alert the issue holds as firing: each group's last state."""
        states = [self.state(g) for g in self.groups]
        return frozenset(fp for s in states if s is not None for fp in s.firing)

    def resolved_but(self, group: str) -> bool:
        """Every other group told here has resolved."""
        states = [self.state(g) for g in self.groups if g != group]
        return all(s is not None and s.resolved for s in states)


@dataclass(frozen=True)
class Decision:
    """What a notification asks: open an issue, comment on one (`number`), or nothing."""

    why: str
    open: OpenIssue | None = None
    number: int | None = None
    comment: PostComment | None = None


def severity(group: AlertGroup, policy: AlertsPolicy) -> Severity:
    """The most severe of what the firing alerts (or the group's common labels) ask for."""
    asked = [policy.severity(a.labels) for a in group.firing] or [
        policy.severity(group.common_labels)
    ]
    return min(asked, key=lambda s: s.value)


def match(group: AlertGroup, issues: Sequence[Known]) -> Known | None:
    """The group's incident: the newest issue opened for it, unless that is closed and the
    group was told since on an open one (past the hourly cap, or by a second route); else the
    newest that holds one of its firing alerts (the same alert reaching us by a second
    route)."""
    mine = [k for k in issues if k.opened.group == group.group]
    own = max(mine, key=lambda k: k.number) if mine else None
    told = [
        k
        for k in issues
        if k.open and k.opened.group != group.group and any(n.group == group.group for n in k.notes)
    ]
    if told and (own is None or not own.open):
        return max(told, key=lambda k: k.number)
    if own is not None:
        return own
    firing = set(group.fingerprints)
    shared = [k for k in issues if firing & k.firing]
    return max(shared, key=lambda k: k.number) if shared else None


def newest_open(issues: Sequence[Known]) -> Known | None:
    """The newest open alert incident: where a group past the hourly cap is told."""
    return max((k for k in issues if k.open), key=lambda k: k.number, default=None)


def decide(
    group: AlertGroup, policy: AlertsPolicy, issues: Sequence[Known], now: datetime
) -> Decision:
    """One notification against what GitHub already records for its group."""
    known = match(group, issues)
    if known is not None and not known.open:
        state = known.state(group.group)
        if group.resolved:
            if state is None or state.resolved:
                return Decision("its incident is closed")
            # Told on the closed incident too: a later firing is then a new incident.
            text = resolved_comment(group, policy, now, closes=False, closed=True)
            comment = PostComment(text, "alert-resolved")
            return Decision("resolved", number=known.number, comment=comment)
        started = [a.starts_at for a in group.firing if a.starts_at is not None]
        fresh = known.closed_at is not None and started and max(started) > known.closed_at
        if not (state is not None and state.resolved) and not fresh:
            # Still firing since before the incident was closed: the responders closed it
            # knowingly; only an alert that fires again after that opens a new incident.
            return Decision("its incident was closed while these alerts fired")
        known = None
    if known is None:
        if group.resolved:
            return Decision("resolved, and no incident is open for it")
        recent = [k for k in issues if k.created_at is not None and now - k.created_at < CAP_WINDOW]
        if len(recent) < policy.max_new_per_hour:
            return Decision("opened", open=open_issue(group, policy, now))
        # Past the hourly cap: the group joins the newest open alert incident as a second
        # group would (its note is its state there, and `auto_resolve` waits for it too).
        newest = newest_open(issues)
        if newest is None:
            return Decision("over the hourly cap, and no alert incident is open to tell")
        text = capped_comment(group, policy, now)
        comment = PostComment(text, "alert-changed")
        return Decision("over the hourly cap: told", number=newest.number, comment=comment)
    state = known.state(group.group)
    if group.resolved:
        if state is None:
            return Decision("resolved; it was never told on the incident")
        if state.resolved:
            return Decision("resolved already told")
        # auto_resolve resolves the incident only when no other group told here still fires.
        closes = policy.auto_resolve and known.resolved_but(group.group)
        text = resolved_comment(group, policy, now, closes=closes)
        comment = PostComment(text, "alert-resolved")
        return Decision("resolved", number=known.number, comment=comment)
    if state is None:
        if set(group.fingerprints) <= known.firing:
            return Decision(
                "no change: its alerts are on the incident already", number=known.number
            )
        before, again = known.firing, False
    elif group.digest == state.digest:
        return Decision("no change", number=known.number)
    else:
        before, again = frozenset(state.firing), state.resolved
    text = changed_comment(group, before, again, now)
    return Decision("changed", number=known.number, comment=PostComment(text, "alert-changed"))


# --- the texts ----------------------------------------------------------------------------


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
    ]
    summary = _summary(group)
    if summary:
        lines += [f"> {inert(summary, 1000)}", ""]
    description = group.common_annotations.get("description") or (
        alerts[0].annotations.get("description") if alerts else ""
    )
    if description and description != summary:
        lines += [f"> {inert(description, 2000)}", ""]
    runbooks = list(
        dict.fromkeys(
            url
            for a in alerts
            for url in [
                a.annotations.get("runbook_url", ""),
                group.common_annotations.get("runbook_url", ""),
            ]
            if url.startswith(("https://", "http://"))
        )
    )
    lines += [f"**Runbook:** <{_url(url)}>" for url in runbooks[:5]]
    if runbooks:
        lines.append("")
    lines += [f"**Common labels:** {_labels(group.common_labels)}", ""]
    others = {
        k: v
        for k, v in group.common_annotations.items()
        if k not in ("summary", "description", "runbook_url")
    }
    if others:
        lines += [f"**Annotations:** {_labels(others)}", ""]
    lines += _alert_rows(alerts)
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
    label = next(name for name, s in SEVERITIES.items() if s is sev)
    return OpenIssue(
        title=issue_title(group),
        body="\n".join(lines),
        labels=(INCIDENT, label, ALERT),
        assignees=(),
        kind="alert",
    )


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
