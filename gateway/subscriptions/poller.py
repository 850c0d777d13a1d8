"""Refreshes watched orders while someone listens: the fallback for orders without the gateway's callback.

Watches are grouped per (key partition, subaccount). Every `interval` seconds each group costs one
``GET /orders`` for its newest page when a subscriber watches the whole list, plus one ``GET /orders/{id}``
per watched order not on that page - however many subscribers share them. With Redis, replicas watching
the same group claim the round, so one of them polls it. Calls go through the backend client, so they
honour its concurrency bound, retries and the upstream's ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from gateway.backend import models
from gateway.backend.client import CallOptions, OffsetsClient
from gateway.backend.errors import BackendError
from gateway.subscriptions.broker import Broker
from gateway.subscriptions.hub import Watch

logger = logging.getLogger(__name__)

Observe = Callable[[str, models.Order], Awaitable[None]]
GroupKey = tuple[str, str | None]  # (partition, subaccount)


@dataclass
class _Group:
    api_key: str | None
    order_ids: Counter[str] = field(default_factory=Counter)
    lists: int = 0

    @property
    def empty(self) -> bool:
        return not self.order_ids and self.lists == 0


class Poller:
    """The polling loop of one process."""

    def __init__(
        self, client: OffsetsClient, broker: Broker, observe: Observe, interval: float, page_size: int
    ) -> None:
        self._client, self._broker, self._observe = client, broker, observe
        self._interval, self._page_size = interval, page_size
        self._groups: dict[GroupKey, _Group] = {}
        self._task: asyncio.Task[None] | None = None

    def add(self, watch: Watch, api_key: str | None) -> None:
        group = self._groups.setdefault((watch.partition, watch.subaccount_id), _Group(api_key))
        if watch.order_ids is None:
            group.lists += 1
        else:
            group.order_ids.update(watch.order_ids)

    def remove(self, watch: Watch) -> None:
        key = (watch.partition, watch.subaccount_id)
        group = self._groups.get(key)
        if group is None:
            return
        if watch.order_ids is None:
            group.lists -= 1
        else:
            group.order_ids.subtract(watch.order_ids)
            group.order_ids = +group.order_ids  # drop ids nobody watches any more
        if group.empty:
            del self._groups[key]

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await self.poll_once()

    async def poll_once(self) -> None:
        """One round: every watched group once (unless another replica claimed it)."""
        for key, group in tuple(self._groups.items()):
            try:
                await self._poll(key, group)
            except BackendError as exc:
                logger.warning("subscriptions: polling orders failed (%s); next round retries", exc.code)
            except Exception:  # one group's surprise must not stop the loop for the others
                logger.exception("subscriptions: polling orders failed")

    async def _poll(self, key: GroupKey, group: _Group) -> None:
        if not await self._broker.claim(f"poll:{_digest(key, group)}", self._interval * 0.9):
            return  # another replica polls this very group this round
        partition, subaccount = key
        opts = CallOptions(api_key=group.api_key, subaccount_id=subaccount)
        seen: set[str] = set()
        if group.lists:
            for order in await self._client.list_orders(limit=self._page_size, opts=opts):
                seen.add(order.id)
                await self._observe(partition, order)
        for order_id in sorted(set(group.order_ids) - seen):
            try:
                order = await self._client.get_order(order_id, opts=opts)
            except BackendError as exc:  # e.g. an id the subscriber was refused: the others still count
                logger.info("subscriptions: polling one order failed (%s)", exc.code)
                continue
            await self._observe(partition, order)


def _digest(key: GroupKey, group: _Group) -> str:
    text = f"{key[0]}|{key[1] or ''}|{group.lists > 0}|{','.join(sorted(group.order_ids))}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]
