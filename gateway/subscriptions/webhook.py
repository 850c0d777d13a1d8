"""The order-callback receiver, ``POST /webhooks/orders/<token>``, and the callback URL orders carry.

The upstream signs nothing, so a callback is only a hint: the receiver checks the token (unknown or forged
-> 404, nothing happens), takes the order id from the body and answers 200 at once; the order is then
re-read upstream with the token's key partition and subaccount, and only what the upstream says is
announced. A body claiming a state the upstream does not confirm changes nothing.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.security.responses import error_body
from gateway.subscriptions.feed import WEBHOOK_PATH, OrderFeed

logger = logging.getLogger(__name__)

#: A callback body is one order; anything much larger is not one.
MAX_BODY_BYTES = 256 * 1024
FEED_KEY = "order_feed"


def webhook_routes() -> list[Route]:
    """The receiver's route; it finds the app's `OrderFeed` in the lifespan state."""
    return [Route(WEBHOOK_PATH + "/{token}", receive_callback, methods=["POST"], name="order-webhook")]


async def receive_callback(request: Request) -> Response:
    # From the app, not the lifespan state: in-process callbacks (the embedded sandbox) carry no state.
    feed: OrderFeed | None = getattr(request.app.state, FEED_KEY, None)
    scope = feed.tokens.verify(request.path_params["token"]) if feed is not None else None
    if feed is None or scope is None:
        return _answer(404, "NOT_FOUND", "no such callback")
    order_id = _order_id(await _body(request))
    if order_id is None:
        return _answer(400, "BAD_REQUEST", 'expected {"order": {"id": ...}}')
    await feed.hint(scope[0], scope[1], order_id)
    return Response(b'{"ok":true}', media_type="application/json")


async def _body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return b""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            return b""
    return body


def _order_id(body: bytes) -> str | None:
    try:
        data: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    order = data.get("order") if isinstance(data, dict) else None
    order_id = order.get("id") if isinstance(order, dict) else None
    return order_id if isinstance(order_id, str) and 0 < len(order_id) <= 128 else None


def _answer(status: int, code: str, message: str) -> Response:
    return Response(error_body(code, message), status_code=status, media_type="application/json")
