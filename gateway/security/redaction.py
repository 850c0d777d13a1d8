"""A logging filter that removes secrets (API keys, bearer tokens, JWTs) from log records.

The gateway never logs secrets on purpose; this is the second line of defence against a library or a
future log line that formats a header or an exception carrying one.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

REDACTED = "[REDACTED]"

_PATTERNS = (
    re.compile(r"eyJ[\w-]{5,}\.[\w-]{5,}\.[\w-]*"),  # JWTs: base64url JSON header, payload, signature
    re.compile(r"(?i)(bearer\s+)[^\s'\",]+"),  # Authorization header values
    re.compile(r"\bsk_[A-Za-z0-9_]{6,}"),  # offsets API keys
    re.compile(r"(?i)(://[^:/@\s]+:)[^@/\s]+(@)"),  # passwords in URLs (redis://user:pass@host)
)


class RedactingFilter(logging.Filter):
    """Rewrites each record's message with known secrets and secret-shaped strings replaced."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets = sorted((s for s in secrets if len(s) >= 6), key=len, reverse=True)

    def redact(self, text: str) -> str:
        """`text` with every secret replaced by ``[REDACTED]``."""
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        for pattern in _PATTERNS:
            text = pattern.sub(_replacement, text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True


def _replacement(match: re.Match[str]) -> str:
    if match.re.groups == 2:
        return f"{match.group(1)}{REDACTED}{match.group(2)}"
    if match.re.groups == 1:
        return f"{match.group(1)}{REDACTED}"
    return REDACTED


def install_redaction(
    redactor: RedactingFilter, loggers: Iterable[str] = ("", "uvicorn", "uvicorn.error")
) -> None:
    """Attach `redactor` to every handler of the given loggers (root by default)."""
    for name in loggers:
        for handler in logging.getLogger(name).handlers:
            if redactor not in handler.filters:
                handler.addFilter(redactor)


def remove_redaction(
    redactor: RedactingFilter, loggers: Iterable[str] = ("", "uvicorn", "uvicorn.error")
) -> None:
    """Detach a filter installed by `install_redaction` (at shutdown)."""
    for name in loggers:
        for handler in logging.getLogger(name).handlers:
            handler.removeFilter(redactor)
