"""The CLI's log redaction: `RedactingFilter` (gateway.security.redaction) primed with the configured secrets.

Defence in depth: no code of ours logs a key or the upstream URL's credentials, but a third-party
exception message might quote them. `offsets-gateway serve` wraps uvicorn's formatters with it
(`redacting_formatter`) from the first log line, so every finished line is redacted - before the app's
lifespan installs its own filter, while it serves, and after it removed it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from logging.config import BaseConfigurator
from typing import Any
from urllib.parse import urlsplit

from gateway.config import Settings
from gateway.security.redaction import RedactingFilter, RedactingFormatter


def configured_secrets(settings: Settings) -> list[str]:
    """The secret strings of `settings`: the upstream key and any password in the upstream URL."""
    secrets = []
    if settings.upstream_api_key is not None:
        secrets.append(settings.upstream_api_key.get_secret_value())
    if settings.upstream_url and (password := urlsplit(settings.upstream_url).password):
        secrets.append(password)
    return [secret for secret in secrets if secret]


class RedactSecrets(RedactingFilter):
    """`RedactingFilter` over `secrets` (default: those of `Settings()` read from the environment)."""

    def __init__(self, secrets: Iterable[str] | None = None) -> None:
        super().__init__(configured_secrets(Settings()) if secrets is None else secrets)


def redacting_formatter(*, inner: str, **options: Any) -> logging.Formatter:
    """A dictConfig formatter factory: the formatter class named `inner` (with `options`), its lines redacted.

    Used by `gateway.cli.log_config` on uvicorn's formatters, so the finished line - the request-id tag
    and the access log's request line included - is redacted after every formatter field is filled in.
    """
    formatter_class = BaseConfigurator({}).resolve(inner)
    return RedactingFormatter(formatter_class(**options), RedactSecrets())
