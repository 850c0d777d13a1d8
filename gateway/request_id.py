"""Request correlation ids: one per HTTP request, echoed to the caller, sent upstream, put on log lines.

`RequestIdMiddleware` (pure ASGI, outermost) takes the caller's ``X-Request-Id`` when it is sane (1-128
visible ASCII characters, not shaped like a credential - a JWT, an ``sk_`` key, a bearer value - and not
part of the request's own ``Authorization`` header) and otherwise makes a new one (uuid4 hex), so a caller
cannot inject control characters, megabytes or a credential into our headers, upstream calls and logs.
The id is returned in the ``X-Request-Id`` response header of every response - including those the
security middleware answers itself (401, 413, 429, 503, 504) - stored in the request state for the
GraphQL context (which forwards it upstream through `CallOptions.request_id`) and held in a contextvar
for `RequestIdLogFilter`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from contextvars import ContextVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.headers import is_printable_ascii
from gateway.security.redaction import RedactingFilter

HEADER = "X-Request-Id"
_NAME = HEADER.lower().encode("latin-1")
# RFC 4122 version 4: the version nibble is 4, the variant's two top bits are 10.
_UUID4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_UUID4_SET = (0x4000 << 64) | (0x8000 << 48)
#: Key of the id in the ASGI scope's ``state`` (`request.state.request_id`).
STATE_KEY = "request_id"
MAX_LENGTH = 128

_current: ContextVar[str | None] = ContextVar("gateway_request_id", default=None)
#: Recognises credential shapes (patterns only: no configured secret is needed to spot a JWT or a key).
_CREDENTIAL_SHAPES = RedactingFilter()


def current_request_id() -> str | None:
    """The id of the request being served in this context, if any."""
    return _current.get()


def is_sane(value: str | None) -> bool:
    """Whether a caller's id may be kept: 1-128 visible ASCII characters (no spaces, no control chars)."""
    return (
        value is not None and 0 < len(value) <= MAX_LENGTH and is_printable_ascii(value) and " " not in value
    )


def acceptable(value: str | None, authorization: str | None = None) -> bool:
    """Whether a caller's id may be used: sane, not credential-shaped, not taken from its credential."""
    if value is None or not is_sane(value) or _CREDENTIAL_SHAPES.looks_secret(value):
        return False
    return not authorization or (value not in authorization and authorization not in value)


def new_request_id() -> str:
    """A fresh id: a random (version 4) UUID as 32 hex digits, as ``uuid.uuid4().hex`` gives it, without
    building the `UUID` object (its checks cost more than the randomness)."""
    value = int.from_bytes(os.urandom(16), "big") & _UUID4_CLEAR | _UUID4_SET
    return f"{value:032x}"


class RequestIdMiddleware:
    """Give each HTTP/WebSocket request an id and return it in the ``X-Request-Id`` response header.

    is_credential: tells a caller's id that is a valid credential (a client token: not shaped like one, so
    only the clients registry knows), which is replaced like any unacceptable id - the id is on every
    request's log lines (`gateway.telemetry`).
    """

    def __init__(self, app: ASGIApp, *, is_credential: Callable[[str], bool] | None = None) -> None:
        self.app = app
        self._is_credential = is_credential

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given, authorization = _request_headers(scope)
        usable = given is not None and acceptable(given, authorization)
        if usable and given is not None and self._is_credential is not None and self._is_credential(given):
            usable = False
        request_id = given if usable and given is not None else new_request_id()
        scope.setdefault("state", {})[STATE_KEY] = request_id
        token = _current.set(request_id)
        try:
            await self.app(scope, receive, _with_header(send, request_id))
        finally:
            _current.reset(token)


def _request_headers(scope: Scope) -> tuple[str | None, str | None]:
    """The request's first ``X-Request-Id`` and ``Authorization`` values (ASGI names are lower-case)."""
    given = authorization = None
    for name, value in scope["headers"]:
        if name == _NAME and given is None:
            given = value.decode("latin-1")
        elif name == b"authorization" and authorization is None:
            authorization = value.decode("latin-1")
    return given, authorization


def _with_header(send: Send, request_id: str) -> Send:
    header = (_NAME, request_id.encode("latin-1"))

    async def send_with_id(message: Message) -> None:
        if message["type"] in ("http.response.start", "websocket.accept"):
            # Set, not added: an id an inner app put on the response gives way to this request's.
            kept = [item for item in message.get("headers", ()) if item[0].lower() != _NAME]
            message["headers"] = [*kept, header]
        await send(message)

    return send_with_id


class RequestIdFilter(logging.Filter):
    """Adds ``request_tag`` to every record: ``"[request <id>] "`` while a request is served, else ``""``.

    Put on handlers (`gateway.cli.log_config`), so every logger's records carry it for the format string.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        request_id = _current.get()
        record.request_id = request_id
        record.request_tag = f"[request {request_id}] " if request_id else ""
        return True
