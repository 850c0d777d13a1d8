"""The log redaction filter (second line of defence behind never logging secrets)."""

from __future__ import annotations

import logging

import pytest

from gateway.security.redaction import REDACTED, RedactingFilter, install_redaction, remove_redaction


@pytest.mark.parametrize(
    ("message", "secret"),
    [
        ("calling with Authorization: Bearer tok_abcdef123456", "tok_abcdef123456"),
        ("token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl rejected", "eyJhbGciOiJIUzI1NiJ9"),
        ("upstream key sk_live_0123456789 refused", "sk_live_0123456789"),
        ("connecting to redis://user:hunter2pass@cache:6379/0", "hunter2pass"),
        ("configured secret my-very-own-secret appeared", "my-very-own-secret"),
    ],
)
def test_secrets_are_redacted(message: str, secret: str) -> None:
    redacted = RedactingFilter(["my-very-own-secret"]).redact(message)
    assert secret not in redacted and REDACTED in redacted


def test_filter_rewrites_records_and_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    redactor = RedactingFilter(["s3cr3t-value"])
    logger = logging.getLogger("tests.redaction")
    install_redaction(redactor, loggers=("",))
    caplog.handler.addFilter(redactor)  # caplog's handler is installed per test, after root's
    try:
        try:
            raise ValueError("boom with s3cr3t-value")
        except ValueError:
            logger.exception("failed for %s", "Bearer abcdefghijkl")
    finally:
        remove_redaction(redactor, loggers=("",))
        caplog.handler.removeFilter(redactor)
    assert "abcdefghijkl" not in caplog.text and "s3cr3t-value" not in caplog.text
    assert "failed for Bearer [REDACTED]" in caplog.text
