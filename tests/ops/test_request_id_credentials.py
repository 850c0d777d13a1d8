"""A caller's X-Request-Id that is a valid client token is replaced: request ids are on every log line."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from gateway.request_id import STATE_KEY, RequestIdMiddleware
from tests.servers import serve


async def _echo(request: Request) -> PlainTextResponse:
    return PlainTextResponse(getattr(request.state, STATE_KEY))


def test_a_client_token_as_request_id_is_replaced_and_other_ids_are_kept() -> None:
    app = RequestIdMiddleware(
        Starlette(routes=[Route("/", _echo)]), is_credential=lambda v: v == "tok_valid_42"
    )
    with serve(app) as url:
        replaced = httpx.get(url, headers={"x-request-id": "tok_valid_42"})
        kept = httpx.get(url, headers={"x-request-id": "order-page-7"})
    assert replaced.text != "tok_valid_42" and len(replaced.text) == 32
    assert replaced.headers["x-request-id"] == replaced.text
    assert kept.text == "order-page-7"
