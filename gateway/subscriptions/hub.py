"""This process's subscribers: what each watches, its bounded queue, and the last state it was told.

Slow consumers: each subscription queues at most `queue_size` events. One more event than that ends the
subscription with a ``SUBSCRIPTION_OVERFLOW`` error instead of dropping events silently or growing
memory: the client resubscribes and, being told each order's current state first, misses nothing.
"""

from __future__ import annotations

import asyncio
import enum
from collections import Counter, OrderedDict, defaultdict
from dataclasses import dataclass
from typing import Any

from gateway.subscriptions.events import OrderEvent, rank

#: Orders one subscription remembers the last state of (a list subscription hears of every new order). An
#: order forgotten this way is reported again as new (``previousState: null``) if it changes much later.
MAX_REMEMBERED = 10_000


class Signal(enum.Enum):
    """Queue items that are not events."""

    OVERFLOW = "overflow"
    CLOSED = "closed"


@dataclass(frozen=True)
class Watch:
    """What one subscription hears: orders read with `partition`'s key, within `subaccount_id`, `order_ids`.

    `subaccount_id` is the effective one (the credential's binding or the argument): the upstream shows
    an account its own orders and its subaccounts', and a subaccount only its own - so does this filter.
    """

    partition: str
    subaccount_id: str | None
    order_ids: frozenset[str] | None

    def matches(self, event: OrderEvent) -> bool:
        if event.partition != self.partition:
            return False
        if self.subaccount_id is not None and event.subaccount_id != self.subaccount_id:
            return False
        return self.order_ids is None or event.order_id in self.order_ids


class Subscription:
    """One open `orderUpdates` subscription of this process."""

    def __init__(self, watch: Watch, *, credential: str, connection: Any, queue_size: int) -> None:
        self.watch = watch
        self.credential = credential  # partition + principal + binding: the per-credential limit's key
        self.connection = connection  # the transport connection it runs on (per-connection counts)
        self._queue: asyncio.Queue[OrderEvent | Signal] = asyncio.Queue()
        self._queue_size = queue_size
        self._ended = False
        self._told: OrderedDict[str, str] = OrderedDict()  # order id -> last state this subscriber was sent

    def offer(self, event: OrderEvent) -> None:
        """Queue `event` if it is for this subscriber (called for every event of its partition)."""
        if self._ended or not self.watch.matches(event):
            return
        if self._queue.qsize() >= self._queue_size:
            self.end(Signal.OVERFLOW)
            return
        self._queue.put_nowait(event)

    def end(self, signal: Signal) -> None:
        """Stop queueing; the consumer sees `signal` after what is already queued."""
        if not self._ended:
            self._ended = True
            self._queue.put_nowait(signal)

    async def next(self) -> OrderEvent | Signal:
        return await self._queue.get()

    def tell(self, order_id: str, state: str) -> tuple[bool, str | None]:
        """Whether `state` is news to this subscriber, and the state it was told before (None: first).

        States only move forward (`events.rank`), so a duplicate (webhook and poll, two replicas) or a
        stale read arriving late is dropped: each change once, in order.
        """
        previous = self._told.get(order_id)
        if previous is not None and rank(state) <= rank(previous):
            return False, previous
        self._told[order_id] = state
        self._told.move_to_end(order_id)
        if len(self._told) > MAX_REMEMBERED:
            self._told.popitem(last=False)
        return True, previous


class Hub:
    """Every open subscription of this process, indexed by partition (events are fanned out per key)."""

    def __init__(self) -> None:
        self._by_partition: dict[str, set[Subscription]] = defaultdict(set)
        self._keys: dict[str, str | None] = {}  # partition -> an upstream key that reads it (None: ours)
        self.per_credential: Counter[str] = Counter()

    def add(self, subscription: Subscription, api_key: str | None) -> None:
        self._by_partition[subscription.watch.partition].add(subscription)
        self._keys[subscription.watch.partition] = api_key
        self.per_credential[subscription.credential] += 1

    def remove(self, subscription: Subscription) -> None:
        partition = subscription.watch.partition
        members = self._by_partition.get(partition)
        if members is not None:
            members.discard(subscription)
            if not members:
                del self._by_partition[partition]
                self._keys.pop(partition, None)
        self.per_credential[subscription.credential] -= 1
        if self.per_credential[subscription.credential] <= 0:
            del self.per_credential[subscription.credential]

    def deliver(self, event: OrderEvent) -> None:
        for subscription in tuple(self._by_partition.get(event.partition, ())):
            subscription.offer(event)

    def listens(self, partition: str) -> bool:
        """True when someone here subscribes with `partition`'s key."""
        return partition in self._by_partition

    def reader_key(self, partition: str) -> str | None:
        """An upstream key of `partition` held by a subscriber here (None: the gateway's own key)."""
        return self._keys.get(partition)

    def __len__(self) -> int:
        return sum(len(members) for members in self._by_partition.values())

    def close_all(self) -> None:
        for members in tuple(self._by_partition.values()):
            for subscription in tuple(members):
                subscription.end(Signal.CLOSED)
