"""graphql-transport-ws at ``/graphql``: authentication in ``connection_init``, keep-alive, limits.

On top of strawberry's protocol handler:

- Nothing runs before the connection is authenticated. The credential comes from the ``connection_init``
  payload (``authorization``, ``Authorization`` or ``headers.Authorization``: ``"Bearer <token>"``), else
  from the upgrade request's ``Authorization`` header, and is checked by the same `Authenticator` as HTTP
  requests (mode, scopes, subaccount binding). No or a bad credential closes with 4401, a credential
  without the ``read`` scope with 4403, no ``connection_init`` within the timeout with 4408; a
  ``subscribe`` before the acknowledgement closes with 4401 (strawberry's rule).
- Each connection gets its own context, built with its principal (loaders partitioned by its key).
- Refused subscriptions (per-connection or per-credential limit) get an ``error`` message whose
  ``extensions.code`` is ``SUBSCRIPTION_LIMIT_EXCEEDED``.
- The server sends a protocol ``ping`` every ``GATEWAY_SUBSCRIPTION_KEEPALIVE`` seconds (clients answer
  ``pong``), so idle connections survive proxies' idle timeouts.
- Frames are text (the view's orjson encoder returns bytes, which graphql-ws refuses with 4004); an
  incoming frame above ``GATEWAY_SUBSCRIPTION_MAX_MESSAGE_BYTES`` closes the connection with 1009.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Iterator, Mapping
from datetime import timedelta
from typing import Any

import orjson
from graphql import GraphQLError
from starlette.requests import Request
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.extensions import SchemaExtension
from strawberry.http.exceptions import NonJsonMessageReceived, NonTextMessageReceived, WebSocketDisconnected
from strawberry.http.websocket_origin import normalize_allowed_origins
from strawberry.subscriptions import GRAPHQL_SSE_PROTOCOL, GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    SubscribeMessage,
)
from strawberry.types.graphql import OperationType

from gateway.auth.authenticate import Authenticator
from gateway.auth.errors import AuthenticationError
from gateway.auth.middleware import PRINCIPAL_KEY
from gateway.auth.principal import READ, Principal
from gateway.context import GatewayContext, key_fingerprint
from gateway.subscriptions.feed import OrderFeed, refused
from gateway.subscriptions.webhook import FEED_KEY
from gateway.view import is_event_stream_request

GOING_AWAY = 1001
MESSAGE_TOO_BIG = 1009


def credential_key(principal: Principal, partition: str) -> str:
    """Who a subscription counts against for the per-credential limit (never a secret)."""
    return f"{partition}:{principal.name}:{principal.subaccount_id or ''}"


def connection_credential(payload: Mapping[str, Any], headers: Mapping[str, str]) -> str | None:
    """The ``Authorization`` value a connection presents: in the init payload first, else the upgrade's."""
    nested = payload.get("headers")
    candidates = [payload.get("authorization"), payload.get("Authorization")]
    if isinstance(nested, Mapping):
        candidates += [nested.get("Authorization"), nested.get("authorization")]
    candidates.append(headers.get("authorization"))
    return next((value for value in candidates if isinstance(value, str) and value), None)


class TextFrames(ASGIWebSocketAdapter):
    """Sends every message as a text frame and refuses oversized incoming ones."""

    max_bytes = 64 * 1024

    async def send_json(self, message: Mapping[str, object]) -> None:
        try:
            await self.ws.send_text(orjson.dumps(message).decode())
        except WebSocketDisconnect as exc:
            raise WebSocketDisconnected from exc

    async def iter_json(self, *, ignore_parsing_errors: bool = False) -> AsyncGenerator[object, None]:
        try:
            while self.ws.application_state != WebSocketState.DISCONNECTED:
                text = await self.ws.receive_text()
                if len(text) > self.max_bytes:
                    await self.close(MESSAGE_TOO_BIG, "message too big")
                    return
                try:
                    yield orjson.loads(text)
                except orjson.JSONDecodeError as exc:
                    if not ignore_parsing_errors:
                        raise NonJsonMessageReceived from exc
        except KeyError as exc:  # a binary frame has no "text"
            raise NonTextMessageReceived from exc
        except WebSocketDisconnect:
            pass


class GatewayTransportWS(BaseGraphQLTransportWSHandler[GatewayContext, None]):
    """strawberry's graphql-transport-ws handler with the gateway's authentication and limits."""

    keepalive_seconds = 15.0
    max_per_connection = 10
    _keepalive: asyncio.Task[None] | None = None

    @property
    def _ws(self) -> WebSocket:
        ws: WebSocket = self.websocket.ws  # type: ignore[attr-defined]
        return ws

    @property
    def _feed(self) -> OrderFeed:
        feed: OrderFeed = getattr(self._ws.state, FEED_KEY)
        return feed

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        payload = message.get("payload") or {}
        if self.connection_init_received or self.connection_timed_out or not isinstance(payload, dict):
            await super().handle_connection_init(message)  # strawberry's 4429 / 4400 answers
            return
        principal = await self._authenticate(payload)
        if principal is None:
            return
        self._ws.scope.setdefault("state", {})[PRINCIPAL_KEY] = principal
        self.context = await self.view.get_context(self._ws, self._ws)
        await super().handle_connection_init(message)
        if self.connection_acknowledged:
            self._feed.connections.add(self)
            self._keepalive = asyncio.get_running_loop().create_task(self._ping())

    async def _authenticate(self, payload: Mapping[str, Any]) -> Principal | None:
        authenticator: Authenticator = self._ws.app.state.security.authenticator
        try:
            principal = await authenticator.authenticate(connection_credential(payload, self._ws.headers))
        except AuthenticationError:
            await self._refuse(4401, "Unauthorized")
            return None
        if not principal.has_scope(READ):
            await self._refuse(4403, "Forbidden")
            return None
        return principal

    async def _refuse(self, code: int, reason: str) -> None:
        self.connection_init_received = True
        if self.connection_init_timeout_task:
            self.connection_init_timeout_task.cancel()
        await self.websocket.close(code=code, reason=reason)

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        reason = self._refusal(message) if self.connection_acknowledged else None
        if reason is not None:
            error = refused("SUBSCRIPTION_LIMIT_EXCEEDED", reason)
            await self.send_message({"id": message["id"], "type": "error", "payload": [error.formatted]})
            return
        await super().handle_subscribe(message)

    def _refusal(self, message: SubscribeMessage) -> str | None:
        if message["id"] in self.operations:
            return None  # strawberry closes with 4409
        if len(self.operations) >= self.max_per_connection:
            return f"at most {self.max_per_connection} operations per connection"
        context = self.context
        key = credential_key(context.principal, key_fingerprint(context.principal, context.settings))
        limit = self._feed.config.max_per_credential
        return f"at most {limit} subscriptions per credential" if self._feed.count_for(key) >= limit else None

    async def _ping(self) -> None:
        with contextlib.suppress(WebSocketDisconnected, RuntimeError, OSError):
            while True:
                await asyncio.sleep(self.keepalive_seconds)
                await self.send_message({"type": "ping"})

    async def going_away(self) -> None:
        """The server is stopping: say so with 1001 (clients like graphql-ws then reconnect elsewhere)."""
        with contextlib.suppress(RuntimeError, OSError):
            await self.websocket.close(code=GOING_AWAY, reason="server shutting down")

    async def shutdown(self) -> None:
        if self._keepalive is not None:
            self._keepalive.cancel()
        with contextlib.suppress(Exception):
            self._feed.connections.discard(self)
        await super().shutdown()


def configure_view(
    view: GraphQL[Any, Any],
    *,
    keepalive: float,
    init_timeout: float,
    max_per_connection: int,
    max_message_bytes: int,
    allowed_origins: list[str],
) -> None:
    """Make strawberry's view speak graphql-transport-ws (as above) and GraphQL over SSE, nothing else.

    The legacy ``graphql-ws`` (subscriptions-transport-ws) protocol is left out: it is deprecated and its
    ``connection_init`` has no place the gateway checks credentials in.
    """
    view.protocols = (GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_SSE_PROTOCOL)
    view.connection_init_wait_timeout = timedelta(seconds=init_timeout)
    view.max_subscriptions_per_connection = None  # counted by the handler, with a coded error
    view.allowed_origins = normalize_allowed_origins(allowed_origins)
    view.graphql_transport_ws_handler_class = _handler(keepalive, max_per_connection)
    view.websocket_adapter_class = _adapter(max_message_bytes)


def _handler(keepalive: float, max_per_connection: int) -> type[GatewayTransportWS]:
    class ConfiguredTransportWS(GatewayTransportWS):
        pass

    ConfiguredTransportWS.keepalive_seconds = keepalive
    ConfiguredTransportWS.max_per_connection = max_per_connection
    return ConfiguredTransportWS


def _adapter(max_bytes: int) -> type[TextFrames]:
    class ConfiguredTextFrames(TextFrames):
        pass

    ConfiguredTextFrames.max_bytes = max_bytes
    return ConfiguredTextFrames


class StreamingTransportRequired(SchemaExtension):
    """Refuses a subscription sent as a plain HTTP request (strawberry would run it as a query and fail):
    ``BAD_REQUEST`` naming the two transports that carry one."""

    def on_execute(self) -> Iterator[None]:  # nothing to await: a plain generator is cheaper to run
        context = self.execution_context
        if context.operation_type is OperationType.SUBSCRIPTION and _plain_http(context.context):
            message = (
                "subscriptions run over WebSocket (graphql-transport-ws) or Server-Sent Events "
                "(POST with `Accept: text/event-stream`) at /graphql"
            )
            raise GraphQLError(message, extensions={"code": "BAD_REQUEST"})
        yield


def _plain_http(context: object) -> bool:
    request = getattr(context, "request", None)
    return isinstance(request, Request) and not is_event_stream_request(request.scope)
