"""What the gateway's own order mutations tell the feed: the callback URL to send, the state they got back."""

from __future__ import annotations

from gateway.backend import models
from gateway.backend.client import CallOptions
from gateway.context import GatewayContext, key_fingerprint
from gateway.subscriptions.feed import OrderFeed
from gateway.subscriptions.webhook import FEED_KEY


def _feed(context: GatewayContext) -> OrderFeed | None:
    feed = getattr(getattr(context.request, "state", None), FEED_KEY, None)
    return feed if isinstance(feed, OrderFeed) else None


def callback_url(context: GatewayContext, opts: CallOptions, requested: str | None) -> str | None:
    """The order's ``notification_config.url``: the caller's own when given (that order is then watched
    by polling), else the gateway's receiver when a public URL is configured, else none."""
    feed = _feed(context)
    if requested is not None or feed is None:
        return requested
    return feed.callback_url(key_fingerprint(context.principal, context.settings), opts.subaccount_id)


async def order_changed(context: GatewayContext, order: models.Order) -> None:
    """A mutation read `order` from the upstream: subscribers hear its state now, not at the next poll."""
    feed = _feed(context)
    if feed is not None:
        await feed.observe(key_fingerprint(context.principal, context.settings), order)
