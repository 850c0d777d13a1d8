"""CORS: starlette's `CORSMiddleware`, with a short path for requests that are not cross-origin (issue 8).

A request without an ``Origin`` header is no CORS request: starlette's middleware then only adds
``Vary: Origin`` to its response (so a cache never serves it to a cross-origin caller), but it gets
there through a `Headers` object, a missing-key exception, a `functools.partial` send and a
`MutableHeaders` on the response - on every API call from a server or a script. `GatewayCORSMiddleware`
adds the same header the same way (the values of any ``Vary`` already there, then ``Origin``, joined, in
the place of the first one) and leaves every request with an ``Origin`` - preflights included - to
starlette's code.
"""

from __future__ import annotations

from functools import partial

from starlette.middleware.cors import CORSMiddleware
from starlette.types import Message, Receive, Scope, Send

from gateway.headers import header

_VARY = b"vary"


class GatewayCORSMiddleware(CORSMiddleware):
    """starlette's CORS middleware; a request without ``Origin`` only gets ``Vary: Origin``."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and header(scope, b"origin") is None:
            await self.app(scope, receive, partial(_vary_on_origin, send))
            return
        await super().__call__(scope, receive, send)


async def _vary_on_origin(send: Send, message: Message) -> None:
    if message["type"] == "http.response.start":
        message["headers"] = with_vary_origin(list(message.get("headers", ())))
    await send(message)


def with_vary_origin(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """`headers` with ``Vary`` set to its values so far plus ``Origin``, as starlette sets it (one header,
    where the first ``Vary`` stood, else last)."""
    merged = (_VARY, b", ".join([*(value for name, value in headers if name == _VARY), b"Origin"]))
    out: list[tuple[bytes, bytes]] = []
    for name, value in headers:
        if name != _VARY:
            out.append((name, value))
        elif merged not in out:
            out.append(merged)
    return out if merged in out else [*out, merged]
