"""Request ids in masked errors and on log lines (`gateway.request_id`, `gateway.masking`)."""

from __future__ import annotations

import logging
import uuid
from types import SimpleNamespace

import httpx
import pytest
import strawberry
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from gateway.cli import log_config
from gateway.masking import MaskInternalErrors
from gateway.request_id import (
    RequestIdFilter,
    RequestIdMiddleware,
    acceptable,
    current_request_id,
    new_request_id,
)
from tests.servers import serve


@strawberry.type
class Query:
    @strawberry.field
    def broken(self) -> str:
        raise RuntimeError("secret detail")


def test_masked_internal_error_carries_the_request_id() -> None:
    schema = strawberry.Schema(query=Query, extensions=[MaskInternalErrors])
    result = schema.execute_sync("{ broken }", context_value=SimpleNamespace(request_id="req-7"))
    assert result.errors is not None
    assert result.errors[0].extensions == {"code": "INTERNAL_SERVER_ERROR", "requestId": "req-7"}


def test_log_records_logged_while_serving_carry_the_id() -> None:
    records: list[logging.LogRecord] = []

    def endpoint(request: Request) -> PlainTextResponse:
        record = logging.LogRecord("gateway", logging.INFO, __file__, 1, "served", None, None)
        RequestIdFilter().filter(record)
        records.append(record)
        return PlainTextResponse(current_request_id() or "")

    app = RequestIdMiddleware(Starlette(routes=[Route("/", endpoint)]))
    with serve(app) as url:
        response = httpx.get(url, headers={"X-Request-Id": "log-me"})
    assert response.text == "log-me"
    assert records[0].request_tag == "[request log-me] "  # type: ignore[attr-defined]
    assert current_request_id() is None  # reset after the request


def test_cli_log_format_shows_the_tag() -> None:
    config = log_config("info")
    assert "%(request_tag)s%(message)s" in config["formatters"]["default"]["fmt"]
    assert all("request_id" in handler["filters"] for handler in config["handlers"].values())


@pytest.mark.parametrize(
    ("given", "authorization"),
    [
        ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl", None),  # a JWT
        ("sk_live_0123456789abcdef", None),  # an offsets API key
        ("tok_my_opaque_client_token", "Bearer tok_my_opaque_client_token"),  # the caller's own credential
    ],
)
def test_credential_shaped_ids_are_replaced(given: str, authorization: str | None) -> None:
    assert not acceptable(given, authorization)
    assert acceptable("checkout-7f3a", authorization)


def test_a_fresh_id_is_a_random_uuid4_in_32_hex_digits() -> None:
    ids = [new_request_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    for value in ids:
        parsed = uuid.UUID(hex=value)
        assert (parsed.hex, parsed.version, parsed.variant) == (value, 4, uuid.RFC_4122)
    # Every other bit varies: the ids are not a counter or a constant with the version bits set.
    varying = 0
    for value in ids:
        varying |= int(value, 16) ^ int(ids[0], 16)
    assert bin(varying).count("1") == 122
