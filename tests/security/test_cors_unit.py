"""`GatewayCORSMiddleware` answers exactly as starlette's `CORSMiddleware` (it only shortens the path of
requests without ``Origin``): the same status, headers in the same order, and body."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.security.cors import GatewayCORSMiddleware

OPTIONS: dict[str, Any] = {
    "allow_origins": ["https://app.example"],
    "allow_methods": ["GET", "POST"],
    "allow_headers": ["content-type", "authorization"],
    "expose_headers": ["x-request-id"],
    "max_age": 600,
}
RESPONSE_HEADERS = [
    [],
    [(b"content-type", b"application/json")],
    [(b"vary", b"Accept"), (b"content-type", b"application/json")],
    [(b"content-type", b"text/plain"), (b"vary", b"Accept"), (b"x-a", b"1"), (b"vary", b"Accept-Encoding")],
]
REQUESTS = [
    ("POST", []),
    ("GET", [(b"accept", b"application/json")]),
    ("POST", [(b"origin", b"https://app.example")]),
    ("POST", [(b"origin", b"https://evil.example")]),
    ("OPTIONS", [(b"origin", b"https://app.example"), (b"access-control-request-method", b"POST")]),
    ("OPTIONS", [(b"origin", b"https://evil.example"), (b"access-control-request-method", b"PUT")]),
]


def _app(headers: list[tuple[bytes, bytes]]) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": list(headers)})
        await send({"type": "http.response.body", "body": b"ok"})

    return app


async def _answer(middleware: ASGIApp, method: str, headers: list[tuple[bytes, bytes]]) -> list[Message]:
    scope = {"type": "http", "method": method, "path": "/graphql", "headers": [(b"host", b"x"), *headers]}
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await middleware(scope, receive, send)
    return sent


@pytest.mark.parametrize("response_headers", RESPONSE_HEADERS)
@pytest.mark.parametrize(("method", "request_headers"), REQUESTS)
async def test_the_same_answer_as_starlettes(
    response_headers: list[tuple[bytes, bytes]], method: str, request_headers: list[tuple[bytes, bytes]]
) -> None:
    ours = await _answer(GatewayCORSMiddleware(_app(response_headers), **OPTIONS), method, request_headers)
    theirs = await _answer(CORSMiddleware(_app(response_headers), **OPTIONS), method, request_headers)
    assert [dict(m, headers=list(m.get("headers", []))) for m in ours] == [
        dict(m, headers=list(m.get("headers", []))) for m in theirs
    ]
    start = ours[0]
    if not any(name == b"origin" for name, _ in request_headers):
        before = [v for k, v in response_headers if k == b"vary"]
        assert [v for k, v in start["headers"] if k == b"vary"] == [b", ".join([*before, b"Origin"])]
