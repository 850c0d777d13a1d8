"""Subscriptions: `orderUpdates`, live order states from the upstream (see `gateway.subscriptions`)."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterable
from typing import Annotated

import strawberry
from graphql import GraphQLError

from gateway.backend import models
from gateway.context import GatewayContext, GatewayInfo, build_context, key_fingerprint
from gateway.schema.arguments import SubaccountIdArg
from gateway.schema.errors import translated
from gateway.schema.node import optional_upstream_id, upstream_id_of
from gateway.schema.orders import Order, OrderState
from gateway.subscriptions.feed import OrderFeed
from gateway.subscriptions.hub import Watch
from gateway.subscriptions.transport import credential_key
from gateway.subscriptions.webhook import FEED_KEY

MAX_IDS = 100


@strawberry.type(description="A change of one order's state.")
class OrderUpdate:
    order: Order = strawberry.field(description="The order as the upstream answered after the change.")
    previous_state: OrderState | None = strawberry.field(
        description="The state this subscription reported before; null in the first event of each order "
        "(its current state when subscribing, or an order first heard of)."
    )


@strawberry.type(description="What can be watched live: order state changes.")
class OrderSubscriptions:
    @strawberry.subscription(
        description="Live state changes of orders. With `ids`: those orders, starting with each one's "
        "current state. Without: every order the credential may read (within `subaccountId`), starting "
        "with the newest page's current states. Each change arrives once and in order."
    )
    async def order_updates(
        self,
        info: GatewayInfo,
        ids: Annotated[
            list[strawberry.ID] | None,
            strawberry.argument(description=f"Orders to watch (global or upstream ids, at most {MAX_IDS})."),
        ] = None,
        subaccount_id: SubaccountIdArg = None,
    ) -> AsyncGenerator[OrderUpdate, None]:
        context = info.context
        watch, subaccount = await translated(_watch(context, ids, subaccount_id), context)
        feed = _feed(context)
        async with feed.subscribe(
            watch,
            credential=credential_key(context.principal, watch.partition),
            api_key=context.principal.api_key,
            connection=context.request,
        ) as stream:
            current = await translated(_current(context, watch, subaccount, feed), context)
            async for update in stream.updates(current):
                await _renew_loaders(context)
                yield OrderUpdate(
                    order=Order.from_backend(update.order),
                    previous_state=OrderState(update.previous_state) if update.previous_state else None,
                )


async def _watch(
    context: GatewayContext, ids: list[strawberry.ID] | None, subaccount_id: strawberry.ID | None
) -> tuple[Watch, str | None]:
    """What to watch, and the subaccount asked for; refusals are coded errors like `order(id:)`'s.

    A subscription's resolver runs outside graphql-core's field error handling (an exception raised in
    it would be masked as INTERNAL_SERVER_ERROR), hence `translated` around this: an id of the wrong
    type is BAD_USER_INPUT, another tenant's subaccount NOT_FOUND (also without the security guard).
    """
    order_ids = _order_ids(ids)
    subaccount = optional_upstream_id(subaccount_id, "Subaccount")
    opts = context.call_options(subaccount_id=subaccount)  # refuses another tenant's subaccount
    partition = key_fingerprint(context.principal, context.settings)
    return Watch(partition, opts.subaccount_id, order_ids), subaccount


def _order_ids(ids: list[strawberry.ID] | None) -> frozenset[str] | None:
    if ids is None:
        return None
    if not 0 < len(ids) <= MAX_IDS:
        raise GraphQLError(f"give 1 to {MAX_IDS} ids", extensions={"code": "BAD_USER_INPUT"})
    return frozenset(upstream_id_of(value, "Order", "ids") for value in ids)


def _feed(context: GatewayContext) -> OrderFeed:
    feed: OrderFeed | None = getattr(getattr(context.request, "state", None), FEED_KEY, None)
    if feed is None:  # pragma: no cover - every app built by create_app has one
        raise GraphQLError("subscriptions are not available", extensions={"code": "INTERNAL_SERVER_ERROR"})
    return feed


async def _current(
    context: GatewayContext, watch: Watch, subaccount: str | None, feed: OrderFeed
) -> Iterable[models.Order]:
    """The first events: the watched orders as `order(id:)` reads them, or the newest page."""
    if watch.order_ids is not None:
        loader = context.loaders.orders
        return await loader.load_many([(order_id, subaccount) for order_id in sorted(watch.order_ids)])
    orders = await context.client.list_orders(
        limit=feed.config.page_size, opts=context.call_options(subaccount_id=subaccount)
    )
    return reversed(orders)  # oldest first, so the newest order's event comes last


async def _renew_loaders(context: GatewayContext) -> None:
    """Fresh per-event loaders, so nested fields of each event are read anew (not from the last event)."""
    state = getattr(context.request, "state", None)
    fresh = await build_context(
        context.request,
        context.response,
        client=context.client,
        settings=context.settings,
        principal=context.principal,
        catalogue_cache=getattr(state, "catalogue_cache", None),
        products=context.products,
    )
    context.loaders = fresh.loaders
