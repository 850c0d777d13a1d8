"""ASGI middleware hardening ``/graphql``: CSRF prevention, a body size limit and a whole-request timeout.

Error codes: CSRF_PREVENTED (400), REQUEST_TOO_LARGE (413), REQUEST_TIMEOUT (504).
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.auth.authenticate import bearer_token
from gateway.headers import header
from gateway.security.responses import send_error
from gateway.view import is_event_stream_request

logger = logging.getLogger(__name__)

#: Content types a browser may send cross-origin without a CORS preflight (the Fetch spec's "simple" ones).
SIMPLE_CONTENT_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data", "text/plain"})
#: Headers whose presence proves the request was preflighted, as Apollo Server accepts them.
PREFLIGHT_HEADERS = ("apollo-require-preflight", "x-apollo-operation-name", "graphql-preflight")
_PREFLIGHT_NAMES = tuple(name.encode("latin-1") for name in PREFLIGHT_HEADERS)
CSRF_MESSAGE = (
    "this request has been blocked as a potential CSRF: send a JSON body or `Content-Type: application/json` "
    "(also on GET), an `Authorization: Bearer` header, or the header `apollo-require-preflight: true`"
)


class CSRFMiddleware:
    """Refuses requests a browser could send cross-site without a CORS preflight.

    A GET with an operation, or a POST with a simple content type (form, multipart, text) or none, is a
    "simple" request: a malicious page can make the victim's browser send it, with their cookies or from
    their network position. A request is let through when it carries something a browser sends
    cross-origin only after a preflight, which the CORS allow-list then refuses for unknown origins:

    - a non-simple ``Content-Type`` (e.g. ``application/json``), on any method, GET included (Apollo
      Server's rule; Apollo Client's GET modes and urql send it);
    - a preflight header (`PREFLIGHT_HEADERS`; multipart uploads such as apollo-upload-client's must send
      ``apollo-require-preflight: true``);
    - an ``Authorization: Bearer`` header: browsers never attach one on their own (they may replay cached
      HTTP Basic credentials, so only the Bearer scheme, the only one the gateway accepts, counts).

    A plain GET without a query (the GraphiQL page) carries no operation and is let through.
    """

    def __init__(self, app: ASGIApp, *, paths: frozenset[str]) -> None:
        self.app, self.paths = app, paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in self.paths and not _preflighted(scope):
            await send_error(send, 400, "CSRF_PREVENTED", CSRF_MESSAGE)
            return
        await self.app(scope, receive, send)


def carries_operation(scope: Scope) -> bool:
    """True when a GET's query string names an operation (decoded as the GraphQL view will decode it)."""
    params = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    return "query" in params or "extensions" in params


def _preflighted(scope: Scope) -> bool:
    """Whether the request is safe: not a simple cross-site request, or proven preflighted."""
    if scope["method"] in ("GET", "HEAD"):
        if not carries_operation(scope):
            return True
    elif scope["method"] != "POST":
        return True
    return (
        _non_simple_content_type(header(scope, b"content-type"))
        or any(header(scope, name) for name in _PREFLIGHT_NAMES)
        or bearer_token(header(scope, b"authorization")) is not None
    )


def _non_simple_content_type(content_type: str | None) -> bool:
    # Only a real media type counts: an empty or odd value proves nothing about a preflight.
    essence = (content_type or "").split(";")[0].strip().lower()
    return "/" in essence and essence not in SIMPLE_CONTENT_TYPES


class BodySizeLimitMiddleware:
    """Answers 413 REQUEST_TOO_LARGE when a body exceeds its limit, without reading more of it.

    Multipart requests (file uploads) get their own, larger limit.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int, max_upload_bytes: int) -> None:
        self.app, self.max_bytes, self.max_upload_bytes = app, max_bytes, max_upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        is_upload = (header(scope, b"content-type") or "").lower().startswith("multipart/")
        limit = self.max_upload_bytes if is_upload else self.max_bytes
        declared = header(scope, b"content-length") or ""
        if declared.isdigit() and int(declared) > limit:
            await _too_large(send, limit)
            return
        await self._guarded(scope, receive, send, limit)

    async def _guarded(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLargeError
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLargeError:
            if not started:
                await _too_large(send, limit)


class _BodyTooLargeError(Exception):
    pass


async def _too_large(send: Send, limit: int) -> None:
    await send_error(send, 413, "REQUEST_TOO_LARGE", f"the request body exceeds {limit} bytes")


class RequestTimeoutMiddleware:
    """Cancels a request that runs longer than `seconds` and answers 504 REQUEST_TIMEOUT.

    Cancelling frees the worker and the upstream connections the request held; a response already started
    cannot be replaced, so it is cut short instead. Subscriptions over SSE (``Accept: text/event-stream``)
    are meant to last and are not timed.
    """

    def __init__(self, app: ASGIApp, *, seconds: float, paths: frozenset[str]) -> None:
        self.app, self.seconds, self.paths = app, seconds, paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in self.paths or is_event_stream_request(scope):
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            async with asyncio.timeout(self.seconds):
                await self.app(scope, receive, tracking_send)
        except TimeoutError:
            logger.warning("request to %s timed out after %.1fs", scope["path"], self.seconds)
            if not started:
                message = f"the request took longer than {self.seconds:g} seconds"
                await send_error(send, 504, "REQUEST_TIMEOUT", message)
