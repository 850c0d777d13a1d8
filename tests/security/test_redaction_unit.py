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


@pytest.mark.parametrize(
    ("message", "secret"),
    [
        ("GET /x/sk%5Flive%5F0123456789 404", "0123456789"),
        ("GET /x/sk%255Flive%255F0123456789 404", "0123456789"),  # encoded twice
        ("Authorization: Basic dXNlcjpodW50ZXIy", "dXNlcjpodW50ZXIy"),
        ("GET /graphql?query=x&api_key=opaque-value-1", "opaque-value-1"),
        ("callback?access_token=opaque-value-2&x=1", "opaque-value-2"),
    ],
)
def test_encoded_and_parameter_secrets_are_redacted(message: str, secret: str) -> None:
    assert secret not in RedactingFilter().redact(message)


def test_a_decoded_line_cannot_forge_another() -> None:
    line = RedactingFilter().redact("GET /a%0Ainjected%20sk%5Flive%5F0123456789")
    assert "\n" not in line and "0123456789" not in line


def test_access_records_keep_their_shape_and_lose_query_and_unknown_paths() -> None:
    from uvicorn.logging import AccessFormatter

    formatter = AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s', use_colors=False)
    redactor = RedactingFilter()
    lines = []
    for path, status in [("/graphql?token=opaque-tok-123", 200), ("/opaque-tok-123", 404)]:
        args = ("127.0.0.1:5", "GET", path, "1.1", status)
        record = logging.LogRecord(
            "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d', args, None
        )
        assert redactor.filter(record)
        lines.append(formatter.format(record))
    assert lines == [
        '127.0.0.1:5 - "GET /graphql?[query omitted] HTTP/1.1" 200 OK',
        '127.0.0.1:5 - "GET [path not found] HTTP/1.1" 404 Not Found',
    ]


def test_the_formatter_redacts_what_it_adds_itself() -> None:
    from gateway.security.redaction import RedactingFormatter

    formatter = RedactingFormatter(logging.Formatter("%(request_tag)s%(message)s"), RedactingFilter())
    record = logging.LogRecord("gateway", logging.INFO, __file__, 1, "hello", None, None)
    record.request_tag = "[request sk_live_0123456789] "
    assert formatter.format(record) == f"[request {REDACTED}] hello"
