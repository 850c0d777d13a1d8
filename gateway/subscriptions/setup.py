"""Wiring live order updates into the app: the view's protocols, the webhook route and the running feed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.routing import BaseRoute
from strawberry.asgi import GraphQL
from strawberry.extensions import SchemaExtension

from gateway.backend.client import OffsetsClient
from gateway.config import Settings
from gateway.subscriptions.broker import Broker, MemoryBroker, RedisBroker
from gateway.subscriptions.feed import WEBHOOK_PATH, FeedConfig, Observer, OrderFeed
from gateway.subscriptions.shutdown import FEED_ATTRIBUTE
from gateway.subscriptions.tokens import CallbackTokens, load_secret
from gateway.subscriptions.transport import StreamingTransportRequired, configure_view
from gateway.subscriptions.webhook import webhook_routes

#: Where the embedded sandbox sends the callbacks of orders the embedded gateway placed: a label routed
#: in-process to this app (see `feed_running`), never a network address.
EMBEDDED_GATEWAY_URL = "http://embedded-gateway"


def configure_transports(view: GraphQL[Any, Any], settings: Settings) -> None:
    """graphql-transport-ws and GraphQL over SSE on the `/graphql` view (see `.transport`)."""
    configure_view(
        view,
        keepalive=settings.subscription_keepalive,
        init_timeout=settings.subscription_init_timeout,
        max_per_connection=settings.subscription_max_per_connection,
        max_message_bytes=settings.subscription_max_message_bytes,
        allowed_origins=settings.security.cors_origins,
    )


def subscription_extensions() -> list[type[SchemaExtension]]:
    """Schema extensions of the subscription layer (a subscription needs a streaming transport)."""
    return [StreamingTransportRequired]


def subscription_routes() -> list[BaseRoute]:
    return [*webhook_routes()]


@asynccontextmanager
async def feed_running(
    app: Starlette,
    settings: Settings,
    client: OffsetsClient,
    *,
    redis: Redis | None,
    observer: Observer | None,
    sandbox_app: Starlette | None,
) -> AsyncIterator[OrderFeed]:
    """Start the app's `OrderFeed` (kept in ``app.state.order_feed`` too) and stop it at shutdown.

    With the embedded sandbox and no public URL, the sandbox's callbacks for the gateway's orders go to
    this app in-process, so `offsets-gateway serve` shows live updates with no configuration.
    """
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    tokens = CallbackTokens(await load_secret(secret, redis))
    broker: Broker = RedisBroker(redis) if redis is not None else MemoryBroker()
    feed = OrderFeed(
        client=client, broker=broker, tokens=tokens, config=_feed_config(settings), observer=observer
    )
    if sandbox_app is not None and settings.public_url is None:
        sandbox_app.state.services.notifier.mount(EMBEDDED_GATEWAY_URL, httpx.ASGITransport(app=app))
    await feed.start()
    setattr(app.state, FEED_ATTRIBUTE, feed)
    try:
        yield feed
    finally:
        await feed.stop()


def _feed_config(settings: Settings) -> FeedConfig:
    base = settings.public_url or (EMBEDDED_GATEWAY_URL if settings.embedded_sandbox else None)
    return FeedConfig(
        poll_interval=settings.subscription_poll_interval,
        queue_size=settings.subscription_queue_size,
        max_per_credential=settings.subscription_max_per_credential,
        callback_base=base + WEBHOOK_PATH if base else None,
    )
