"""Logging: one line per event, JSON or pretty, with secrets scrubbed from every line."""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable

_CONTEXT = ("delivery_id", "installation", "repository", "issue", "status")
REDACTED = "[redacted]"
# The setup flow's one-time code travels in a URL path: POST /app-manifests/<code>/conversions.
_MANIFEST_CODE = re.compile(r"(/app-manifests/)[^/\s'\"]+")


def scrub_manifest_code(text: str) -> str:
    """`text` with the code of any `/app-manifests/<code>/…` path replaced."""
    if "/app-manifests/" not in text:
        return text
    return _MANIFEST_CODE.sub(r"\1" + REDACTED, text)


class Redact(logging.Filter):
    """Replaces every configured secret (of any length) and the setup flow's manifest code in a
    record, its traceback included, with `[redacted]`."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        # Longest first, so a secret inside another (a key line in the whole key) leaves
        # nothing of the longer one behind; one pass, so a replacement is never re-scrubbed.
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)
        self._pattern = (
            re.compile("|".join(re.escape(s) for s in self._secrets)) if self._secrets else None
        )

    def scrub(self, text: str) -> str:
        if self._pattern is not None and any(s in text for s in self._secrets):
            text = self._pattern.sub(REDACTED, text)
        return scrub_manifest_code(text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        scrubbed = self.scrub(message)
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        if record.exc_info and record.exc_info[1] is not None:
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_info, record.exc_text = None, self.scrub(text)
        elif record.exc_text:
            record.exc_text = self.scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = self.scrub(record.stack_info)
        return True


class HideManifestCode(logging.Filter):
    """For httpx's logger, which logs every request's URL at INFO: the setup flow's code
    exchange is logged without its code, for every handler (a test's capture too)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "/app-manifests/" in message:
            record.msg, record.args = scrub_manifest_code(message), None
        return True


HIDE_MANIFEST_CODE = HideManifestCode()


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        data.update({k: getattr(record, k) for k in _CONTEXT if getattr(record, k, None)})
        if record.exc_text:
            data["exception"] = record.exc_text
        elif record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, default=str)


class PrettyFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        context = " ".join(
            f"{k}={getattr(record, k)}" for k in _CONTEXT if getattr(record, k, None)
        )
        line = f"{self.formatTime(record, '%H:%M:%S')} {record.levelname:<7} {record.getMessage()}"
        line = f"{line}  {context}" if context else line
        if record.exc_text:
            line += "\n" + record.exc_text
        elif record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def configure(level: str, fmt: str, secrets: Iterable[str]) -> None:
    """Send logs to stderr in the chosen format, with secrets scrubbed."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else PrettyFormatter())
    handler.addFilter(Redact(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
