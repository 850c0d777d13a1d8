"""Order callbacks: POST ``{"order": {...}}`` to the order's ``callback_url`` on every state change.

The receiver must answer 200; anything else (or no answer) is retried with doubling backoff
(``callback_backoff_initial`` .. ``callback_backoff_max`` seconds) until ``callback_deadline`` seconds after
the change (24 hours by default, as documented). [?] Only exactly 200 counts, as the docs say; deliveries for
one order are sent in the order of its changes (a later one waits for the earlier one); pending deliveries
are not persisted, so a restart forgets them. No signature is sent (none is documented). Deliveries need the
app's lifespan (it owns the HTTP client); without it they are skipped.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from typing import Any

import httpx
import orjson

logger = logging.getLogger("sandbox.callbacks")


class Notifier:
    """Sends order callbacks in the background."""

    def __init__(self, *, deadline: float, backoff_initial: float, backoff_max: float) -> None:
        self._deadline = deadline
        self._initial = backoff_initial
        self._max = backoff_max
        self._http: httpx.AsyncClient | None = None
        self._last: dict[str, asyncio.Task[None]] = {}

    def start(self, http: httpx.AsyncClient) -> None:
        """Begin delivering with `http` (called by the app's lifespan)."""
        self._http = http

    async def stop(self) -> None:
        """Abandon pending deliveries."""
        self._http = None
        tasks = list(self._last.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._last.clear()

    def order_changed(self, order: dict[str, Any]) -> None:
        """Queue a callback for `order` (a snapshot is taken now)."""
        url = order.get("callback_url")
        if not url or self._http is None:
            return
        body = orjson.dumps({"order": order})
        previous = self._last.get(order["id"])
        task = asyncio.get_running_loop().create_task(self._deliver_after(previous, url, body))
        self._last[order["id"]] = task
        task.add_done_callback(functools.partial(self._forget, order["id"]))

    def _forget(self, order_id: str, task: asyncio.Task[None]) -> None:
        if self._last.get(order_id) is task:
            del self._last[order_id]

    async def _deliver_after(self, previous: asyncio.Task[None] | None, url: str, body: bytes) -> None:
        if previous is not None:
            await asyncio.wait([previous])  # waits without raising the earlier delivery's outcome
        await self._deliver(url, body)

    async def _deliver(self, url: str, body: bytes) -> None:
        give_up_at = time.monotonic() + self._deadline
        delay = self._initial
        while not await self._attempt(url, body):
            if time.monotonic() + delay > give_up_at:
                logger.warning("order callback abandoned after the deadline")
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._max)

    async def _attempt(self, url: str, body: bytes) -> bool:
        http = self._http
        if http is None:
            return True  # shutting down: nothing more to do
        try:
            response = await http.post(url, content=body, headers={"Content-Type": "application/json"})
        except httpx.HTTPError:
            return False
        return response.status_code == 200
