"""Customers by email: each public update of an incident affecting more than `email_above` %
of users, one message per recipient, over SMTP with STARTTLS.

The standard library's smtplib runs in the notifiers' thread pool (as slack-sdk does): a
message per event is all the traffic there is, and it needs no second SMTP stack. Its debug
output stays off, so the password never reaches a log; a reason we raise never holds it.
A retry goes on with the recipients not yet sent to; each message's Message-ID is made of the
event and the recipient, so the same message stays the same on every attempt.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import logging
import re
import smtplib
import socket
import ssl
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import TypeVar

from app.core.notify import Event, Kind
from app.notify.attempts import Attempts, Permanent, SendError, Transient
from app.notify.operator import ADDRESS, EmailNotifier

log = logging.getLogger(__name__)
T = TypeVar("T")

# What customers read of a status (never our internal words).
STATUS_WORDS = {
    "investigating": "Investigating",
    "mitigating": "Identified",
    "monitoring": "Monitoring",
    "resolved": "Resolved",
}
COMPONENT_WORDS = {
    "operational": "Operational",
    "degraded": "Degraded performance",
    "partial-outage": "Partial outage",
    "major-outage": "Major outage",
}
DEFAULT_TITLE = "Service disruption"
COMPONENTS_HEADING = "Affected components:"
STATUS_LINK = "Current status: {url}"
FOOTER = "You receive this because you subscribed to status updates. Unsubscribe: {uri}"
ONE_CLICK = "List-Unsubscribe=One-Click"  # RFC 8058: only with an https:// URI


def status_word(event: Event) -> str:
    """The customer's word for where the incident stands."""
    if event.kind is Kind.RESOLVED:
        return STATUS_WORDS["resolved"]
    return STATUS_WORDS.get(event.status, STATUS_WORDS["investigating"])


def _lines(event: Event, config: EmailNotifier) -> tuple[str, list[str], list[str]]:
    """(status, the update's paragraphs, the component lines) of a message: only the
    components the notifier lists, spelled as it does (all when it lists none)."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", event.public_text) if p.strip()]
    listed = {name.lower(): name for name in config.components}
    components = [
        f"{listed.get(name.lower(), name)}: {COMPONENT_WORDS[state]}"
        for name, state in event.components.items()
        if state in COMPONENT_WORDS and (not listed or name.lower() in listed)
    ]
    return status_word(event), paragraphs, components


def plain_text(event: Event, config: EmailNotifier) -> str:
    """The message's text: the public title, status, update, components, the site's link."""
    status, paragraphs, components = _lines(event, config)
    parts = [event.public_title or DEFAULT_TITLE, f"Status: {status}", *paragraphs]
    if components:
        parts.append("\n".join([COMPONENTS_HEADING, *(f"- {c}" for c in components)]))
    if config.status_url:
        parts.append(STATUS_LINK.format(url=config.status_url))
    parts.append(FOOTER.format(uri=config.unsubscribe[0]))
    return "\n\n".join(parts) + "\n"


def html_text(event: Event, config: EmailNotifier) -> str:
    """The same as HTML (escaped: the update is the responder's text)."""
    e = html.escape
    status, paragraphs, components = _lines(event, config)
    parts = [
        f"<h1>{e(event.public_title or DEFAULT_TITLE)}</h1>",
        f"<p><strong>Status: {e(status)}</strong></p>",
        *(f"<p>{e(p)}</p>" for p in paragraphs),
    ]
    if components:
        items = "".join(f"<li>{e(c)}</li>" for c in components)
        parts.append(f"<p>{e(COMPONENTS_HEADING)}</p><ul>{items}</ul>")
    if config.status_url:
        url = e(config.status_url)
        parts.append(f'<p>Current status: <a href="{url}">{url}</a></p>')
    uri = e(config.unsubscribe[0])
    footer = e(FOOTER.format(uri="")).strip()
    parts.append(f'<p><small>{footer} <a href="{uri}">{uri}</a></small></p>')
    return '<!doctype html><html lang="en"><body>' + "".join(parts) + "</body></html>\n"


def message(event: Event, config: EmailNotifier, recipient: str) -> EmailMessage:
    """One recipient's message of `event`, with List-Unsubscribe (and one-click POST)."""
    msg = EmailMessage()
    msg["From"] = config.sender
    msg["To"] = recipient
    msg["Subject"] = f"{status_word(event)}: {event.public_title or DEFAULT_TITLE}"
    msg["Date"] = format_datetime(event.at)
    digest = hashlib.sha256(f"{event.key}\0{recipient}".encode()).hexdigest()[:32]
    msg["Message-ID"] = f"<{digest}@{config.sender.rpartition('@')[2]}>"
    msg["Auto-Submitted"] = "auto-generated"
    msg["List-Unsubscribe"] = ", ".join(f"<{uri}>" for uri in config.unsubscribe)
    if any(uri.startswith("https://") for uri in config.unsubscribe):
        msg["List-Unsubscribe-Post"] = ONE_CLICK
    msg.set_content(plain_text(event, config))
    msg.add_alternative(html_text(event, config), subtype="html")
    return msg


def _failure(exc: BaseException) -> SendError:
    """An smtplib or socket error as ours; the server's words, never our credentials."""
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return Permanent(f"SMTP refused the login ({exc.smtp_code})")
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return Permanent("the SMTP server offers no STARTTLS (or no AUTH)")
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return Transient("the SMTP server hung up")
    if isinstance(exc, smtplib.SMTPResponseException):
        reason = f"SMTP answered {exc.smtp_code}"
        return Transient(reason) if 400 <= exc.smtp_code < 500 else Permanent(reason)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return Permanent(f"the SMTP server's certificate is not trusted ({exc.verify_message})")
    if isinstance(exc, TimeoutError | socket.timeout):
        return Transient("the SMTP server did not answer in time")
    return Transient(f"the SMTP server is unreachable ({type(exc).__name__})")


class Email:
    """One SMTP submission server and its list of recipients."""

    kind = "email"
    public = True

    def __init__(self, config: EmailNotifier, *, pool: ThreadPoolExecutor, timeout: float) -> None:
        self._config = config
        self._pool = pool
        self._timeout = timeout
        self._tls = ssl.create_default_context()
        if config.ca_file is not None:
            self._tls.load_verify_locations(cafile=str(config.ca_file))

    def wants(self, event: Event) -> bool:
        """Public updates (words for customers, not a component alone) of incidents
        affecting more than `email_above` % of users."""

        def above(share: float | None) -> bool:
            return share is not None and share > self._config.email_above

        if not (event.public and event.public_text and above(event.impact)):
            return False
        # An update told again when the impact is stated: only if it has just risen above.
        return not (event.restated and above(event.impact_before))

    async def send(self, event: Event, attempts: Attempts) -> None:
        recipients = await self._thread(self._recipients)
        messages = {r: message(event, self._config, r) for r in recipients}
        sent: set[str] = set()
        await attempts.run(lambda: self._thread(lambda: self._deliver(messages, sent)))

    async def _thread(self, call: Callable[[], T]) -> T:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool, call)
        except (smtplib.SMTPException, OSError) as exc:
            raise _failure(exc) from None

    def _recipients(self) -> list[str]:
        """`to`, and the addresses of `subscribers_file` (read now: it may have changed)."""
        found = list(self._config.to)
        path = self._config.subscribers_file
        if path is not None:
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeError) as exc:
                reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
                raise Permanent(f"cannot read subscribers_file {path}: {reason}") from None
            lines = [line.split("#", 1)[0].strip() for line in text.splitlines()]
            good = [line for line in lines if re.match(ADDRESS, line)]
            if len(good) < sum(1 for line in lines if line):
                log.warning("email: %s: lines that are no address skipped", path)
            found += good
        return list(dict.fromkeys(found))

    def _deliver(self, messages: dict[str, EmailMessage], sent: set[str]) -> None:
        """In a thread: one session, a message per recipient not yet sent to."""
        config = self._config
        with smtplib.SMTP(config.host, config.port, timeout=self._timeout) as smtp:
            smtp.ehlo()
            if config.starttls:
                smtp.starttls(context=self._tls)
                smtp.ehlo()
            if config.username is not None and config.password is not None:
                smtp.login(config.username, config.password.get_secret_value())
            for recipient, msg in messages.items():
                if recipient in sent:
                    continue
                try:
                    smtp.send_message(msg, from_addr=config.sender, to_addrs=[recipient])
                except smtplib.SMTPRecipientsRefused:
                    # One refused address stops no one else's message (not logged: personal).
                    log.warning("email: the server refused a recipient; the others go on")
                except smtplib.SMTPDataError as exc:
                    if exc.smtp_code < 500:
                        raise  # "try again later": the retry goes on from this recipient
                    log.warning("email: a message refused (%s); the others go on", exc.smtp_code)
                sent.add(recipient)

    async def sweep(self, now: datetime, attempts: Attempts) -> list[str]:
        return []
