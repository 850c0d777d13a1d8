"""A logging filter that blanks the gateway's configured secrets out of every log line, tracebacks included.

Defence in depth: no code of ours logs a key or the upstream URL's credentials, but a third-party
exception message might quote them, and this filter sits on the handlers so nothing gets past it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from urllib.parse import urlsplit

from gateway.config import Settings

MASK = "***"


def configured_secrets(settings: Settings) -> list[str]:
    """The secret strings of `settings`: the upstream key and any password in the upstream URL."""
    secrets = []
    if settings.upstream_api_key is not None:
        secrets.append(settings.upstream_api_key.get_secret_value())
    if settings.upstream_url and (password := urlsplit(settings.upstream_url).password):
        secrets.append(password)
    return [secret for secret in secrets if secret]


class RedactSecrets(logging.Filter):
    """Replaces each of `secrets` (default: those of `Settings()` from the environment) with ``***``."""

    def __init__(self, secrets: Iterable[str] | None = None) -> None:
        super().__init__()
        self._secrets = sorted(configured_secrets(Settings()) if secrets is None else secrets, key=len)[::-1]

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        record.msg, record.args = self._redact(record.getMessage()), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._redact(record.exc_text)
        return True

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return text
