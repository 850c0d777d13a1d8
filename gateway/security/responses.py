"""GraphQL-shaped error responses that the HTTP layers send before GraphQL runs."""

from __future__ import annotations

from collections.abc import Mapping

import orjson
from starlette.types import Send


def error_body(code: str, message: str) -> bytes:
    """A GraphQL response body carrying one error with `extensions.code`."""
    return orjson.dumps({"errors": [{"message": message, "extensions": {"code": code}}]})


async def send_error(
    send: Send, status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> None:
    """Send a complete JSON error response on a raw ASGI `send`."""
    body = error_body(code, message)
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
