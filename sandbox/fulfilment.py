"""Fulfilment: orders move from ``placed`` to ``fulfilled`` after ``fulfilment_delay`` seconds.

A background worker (started by the app's lifespan) keeps a timetable of placed orders and fulfils each
when it is due: it matches the order against the portfolio's inventory (`sandbox.inventory`), writes the
``project_allocations`` and notifies the callback. On start-up it picks up orders a previous run left
``placed`` (with ``--db``). ``POST /_sandbox/orders/{id}/fulfil`` fulfils one on demand. Without the
lifespan (e.g. a bare ``httpx.ASGITransport``) orders stay ``placed`` until fulfilled on demand.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import time

from sandbox.inventory import Inventory
from sandbox.orders import Orders
from sandbox.problems import ProblemError, forbidden
from sandbox.store import Document

logger = logging.getLogger("sandbox.fulfilment")


def insufficient_inventory() -> ProblemError:
    """409 (sandbox-only): the remaining credits cannot cover the order."""
    return ProblemError(
        409,
        "about:blank",
        "Conflict",
        detail="Not enough credits left in the portfolio's projects to fulfil this order",
    )


class Fulfiller:
    """Fulfils placed orders when they are due."""

    def __init__(self, orders: Orders, inventory: Inventory, delay: float) -> None:
        self._orders = orders
        self._inventory = inventory
        self._delay = delay
        self._due: list[tuple[float, str]] = []
        self._wake: asyncio.Event | None = None

    def schedule(self, order_id: str) -> None:
        """Fulfil `order_id` after the configured delay."""
        heapq.heappush(self._due, (time.monotonic() + self._delay, order_id))
        if self._wake is not None:
            self._wake.set()

    def fulfil(self, doc: Document) -> Document:
        """Fulfil one order now (a fulfilled one is returned unchanged)."""
        state = doc["order"]["state"]
        if state == "fulfilled":
            return doc
        if state == "cancelled":
            raise forbidden("Order is cancelled")
        allocations = self._inventory.allocate(
            doc["account_id"], doc["portfolio_id"], doc["order"]["amount_kg"]
        )
        if allocations is None:
            raise insufficient_inventory()
        return self._orders.fulfil(doc, allocations)

    async def run(self) -> None:
        """The worker loop (runs until cancelled)."""
        self._wake = asyncio.Event()
        for doc in self._orders.placed():
            self.schedule(doc["order"]["id"])
        try:
            while True:
                self._fulfil_due()
                await self._sleep_until_next()
        finally:
            self._wake = None

    def _fulfil_due(self) -> None:
        now = time.monotonic()
        while self._due and self._due[0][0] <= now:
            _, order_id = heapq.heappop(self._due)
            doc = self._orders.get(order_id)
            if doc is None or doc["order"]["state"] != "placed":
                continue
            try:
                self.fulfil(doc)
            except ProblemError:
                logger.warning("order %s stays placed: not enough credits in its portfolio", order_id)
            except Exception:  # a bug must not stop the worker for every other order
                logger.exception("fulfilling order %s failed", order_id)

    async def _sleep_until_next(self) -> None:
        assert self._wake is not None
        self._wake.clear()
        timeout = max(0.0, self._due[0][0] - time.monotonic()) if self._due else None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)
