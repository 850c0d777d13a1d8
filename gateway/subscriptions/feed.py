"""The `OrderFeed`: opens subscriptions, announces confirmed states once, and turns hints into re-reads.

Every state a subscriber hears was read from the upstream: by the subscription itself (its first events),
by the gateway's own order mutations, by the poller, or by a re-read after a callback's hint. A state is
announced by the one replica that claims ``state:<partition>:<order>:<state>`` first, and a hint is
checked by the one replica (among those whose subscribers use that key) that claims it first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from graphql import GraphQLError

from gateway.backend import models
from gateway.backend.client import CallOptions, OffsetsClient
from gateway.backend.errors import BackendError
from gateway.subscriptions.broker import Broker
from gateway.subscriptions.events import Hint, OrderEvent, decode, encode
from gateway.subscriptions.hub import Hub, Signal, Subscription, Watch
from gateway.subscriptions.poller import Poller
from gateway.subscriptions.tokens import CallbackTokens

logger = logging.getLogger(__name__)

#: How long a replica's claim to announce one state of one order holds (later duplicates are dropped by
#: the subscribers anyway; the claim only spares the channel).
STATE_CLAIM_SECONDS = 24 * 3600.0
HINT_CLAIM_SECONDS = 60.0
WEBHOOK_PATH = "/webhooks/orders"


class Closable(Protocol):
    """A transport connection the feed can close when the server goes away."""

    async def going_away(self) -> None: ...


Count = Callable[[], int]


class Observer(Protocol):
    """Hears the feed's activity (metrics)."""

    def subscription_event(self, kind: str) -> None: ...
    def watch_subscriptions(
        self, connections: Callable[[], int], subscriptions: Callable[[], int]
    ) -> None: ...


@dataclass(frozen=True)
class FeedConfig:
    """The feed's settings (see `gateway.config.Settings` for each)."""

    poll_interval: float
    queue_size: int
    max_per_credential: int
    callback_base: str | None  # e.g. "https://gw.example/webhooks/orders"; None: no callbacks
    page_size: int = 20


@dataclass(frozen=True)
class Update:
    """One event for one subscriber: the order and the state this subscriber was told before."""

    order: models.Order
    previous_state: str | None


def refused(code: str, message: str) -> GraphQLError:
    """A subscription the gateway will not open or keep, with a stable code."""
    return GraphQLError(message, extensions={"code": code})


class OrderStream:
    """One subscriber's events, after its first ones (the orders' current states)."""

    def __init__(self, subscription: Subscription, observer: Observer | None = None) -> None:
        self._subscription = subscription
        self._observer = observer

    async def updates(self, current: Iterable[models.Order]) -> AsyncIterator[Update]:
        for order in current:
            update = self._news(order)
            if update is not None:
                yield update
        while True:
            item = await self._subscription.next()
            if item is Signal.CLOSED:
                return
            if item is Signal.OVERFLOW:
                raise refused("SUBSCRIPTION_OVERFLOW", "too many updates were waiting: subscribe again")
            update = self._news(item.model())
            if update is not None:
                yield update

    def _news(self, order: models.Order) -> Update | None:
        news, previous = self._subscription.tell(order.id, order.state.value)
        if not news:
            return None
        if self._observer is not None:
            self._observer.subscription_event("delivered")
        return Update(order, previous)


class OrderFeed:
    """Live order updates of one gateway process (see the module doc)."""

    def __init__(
        self,
        *,
        client: OffsetsClient,
        broker: Broker,
        tokens: CallbackTokens,
        config: FeedConfig,
        observer: Observer | None = None,
    ) -> None:
        self.hub = Hub()
        self.tokens = tokens
        self.config = config
        self.connections: set[Closable] = set()
        self._client = client
        self._broker = broker
        self._observer = observer
        self._poller = Poller(client, broker, self.observe, config.poll_interval, config.page_size)
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        if self._observer is not None:
            self._observer.watch_subscriptions(lambda: len(self.connections), lambda: len(self.hub))
        await self._broker.start(self._on_message)
        self._poller.start()

    async def stop(self) -> None:
        await self.going_away()
        await self._poller.stop()
        await self._broker.stop()
        for task in tuple(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def going_away(self) -> None:
        """Close every WebSocket with 1001 and end every subscription (SSE streams complete)."""
        self.hub.close_all()
        await asyncio.gather(*(c.going_away() for c in tuple(self.connections)), return_exceptions=True)

    # --- subscribing ------------------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def subscribe(
        self, watch: Watch, *, credential: str, api_key: str | None, connection: Any
    ) -> AsyncIterator[OrderStream]:
        """Register a subscriber (before its first read, so no change falls in between)."""
        if self.hub.per_credential[credential] >= self.config.max_per_credential:
            limit = self.config.max_per_credential
            raise refused("SUBSCRIPTION_LIMIT_EXCEEDED", f"at most {limit} subscriptions per credential")
        subscription = Subscription(
            watch, credential=credential, connection=connection, queue_size=self.config.queue_size
        )
        self.hub.add(subscription, api_key)
        self._poller.add(watch, api_key)
        try:
            yield OrderStream(subscription, self._observer)
        finally:
            self._poller.remove(watch)
            self.hub.remove(subscription)

    def count_for(self, credential: str) -> int:
        return self.hub.per_credential[credential]

    # --- announcing -------------------------------------------------------------------------------------

    async def observe(self, partition: str, order: models.Order) -> None:
        """Announce `order`'s state to every replica, unless some replica already did."""
        if await self._broker.claim(f"state:{partition}:{order.id}:{order.state.value}", STATE_CLAIM_SECONDS):
            self._count("published")
            await self._broker.publish(encode(OrderEvent.of(partition, order)))

    async def hint(self, partition: str, subaccount_id: str | None, order_id: str) -> None:
        """A callback said `order_id` changed: ask the replicas that can read it to check."""
        self._count("hint")
        await self._broker.publish(encode(Hint(uuid.uuid4().hex, partition, subaccount_id, order_id)))

    def callback_url(self, partition: str, subaccount_id: str | None) -> str | None:
        """The URL the upstream should call for an order placed with this key and subaccount."""
        if self.config.callback_base is None:
            return None
        return f"{self.config.callback_base}/{self.tokens.issue(partition, subaccount_id)}"

    async def _on_message(self, raw: bytes) -> None:
        message = decode(raw)
        if isinstance(message, OrderEvent):
            self.hub.deliver(message)
        elif isinstance(message, Hint) and self.hub.listens(message.partition):
            # Off the listener (and the webhook's answer): the re-read may take a while.
            task = asyncio.get_running_loop().create_task(self._check(message))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _check(self, hint: Hint) -> None:
        if not await self._broker.claim(f"hint:{hint.id}", HINT_CLAIM_SECONDS):
            return
        opts = CallOptions(api_key=self.hub.reader_key(hint.partition), subaccount_id=hint.subaccount_id)
        try:
            order = await self._client.get_order(hint.order_id, opts=opts)
        except BackendError as exc:
            # A forged or mistaken order id (or an upstream hiccup; the poller catches up): nothing to say.
            logger.info("subscriptions: a callback's order could not be re-read (%s)", exc.code)
            return
        await self.observe(hint.partition, order)

    def _count(self, kind: str) -> None:
        if self._observer is not None:
            self._observer.subscription_event(kind)
