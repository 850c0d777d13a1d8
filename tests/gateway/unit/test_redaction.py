"""The log filter that blanks configured secrets out of messages and tracebacks."""

from __future__ import annotations

import logging
import sys

from gateway.config import Settings
from gateway.redaction import RedactSecrets, configured_secrets

KEY = "sk_live_abcdef123456"


def _record(msg: str, *args: object, exc: BaseException | None = None) -> logging.LogRecord:
    exc_info = (type(exc), exc, exc.__traceback__) if exc else None
    return logging.LogRecord("gateway", logging.ERROR, __file__, 1, msg, args, exc_info)


def test_configured_secrets_are_the_key_and_the_url_password() -> None:
    settings = Settings(upstream_url="https://user:pa55word@api.example/v1", upstream_api_key=KEY)
    assert configured_secrets(settings) == [KEY, "pa55word"]
    assert configured_secrets(Settings()) == []


def test_secrets_are_blanked_in_messages_and_tracebacks() -> None:
    try:
        raise RuntimeError(f"upstream refused {KEY}")
    except RuntimeError as exc:
        record = _record("calling with %s failed", KEY, exc=exc)
    assert RedactSecrets([KEY]).filter(record)
    line = logging.Formatter().format(record)
    assert KEY not in line
    assert "calling with [REDACTED] failed" in line and "upstream refused [REDACTED]" in line
    assert sys.exc_info() == (None, None, None)


def test_records_without_secrets_are_untouched() -> None:
    record = _record("hello %s", "world")
    assert RedactSecrets([]).filter(record)
    assert (record.msg, record.args) == ("hello %s", ("world",))
