"""Order callbacks: POST ``{"order": {...}}`` to the order's ``callback_url`` on every state change.

The receiver must answer 200; anything else (or no answer) is retried with doubling backoff
(``callback_backoff_initial`` .. ``callback_backoff_max`` seconds) until ``callback_deadline`` seconds after
the change (24 hours by default, as documented). [?] Only exactly 200 counts, as the docs say; deliveries for
one order are sent in the order of its changes (a later one waits for the earlier one); pending deliveries
are not persisted, so a restart forgets them. No signature is sent (none is documented). Deliveries need the
app's lifespan (it starts and stops the notifier); without it they are skipped. The HTTP client is opened on
the first delivery, because building one (TLS context) costs more than most tests take.
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
ATTEMPT_TIMEOUT = httpx.Timeout(10.0)


class Notifier:
    """Sends order callbacks in the background."""

    def __init__(self, *, deadline: float, backoff_initial: float, backoff_max: float) -> None:
        self._deadline = deadline
        self._initial = backoff_initial
        self._max = backoff_max
        self._running = False
        self._http: httpx.AsyncClient | None = None
        self._last: dict[str, asyncio.Task[None]] = {}
        self._mounts: dict[str, httpx.AsyncBaseTransport] = {}

    def mount(self, prefix: str, transport: httpx.AsyncBaseTransport) -> None:
        """Deliver callbacks for URLs under `prefix` through `transport` (an embedding app, in-process)."""
        self._mounts[prefix] = transport

    def start(self) -> None:
        """Begin delivering (called by the app's lifespan)."""
        self._running = True

    async def stop(self) -> None:
        """Abandon pending deliveries and close the HTTP client."""
        self._running = False
        tasks = list(self._last.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._last.clear()
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    @property
    def pending(self) -> int:
        """How many orders still have a callback being delivered (tests wait on it instead of sleeping)."""
        return len(self._last)

    def order_changed(self, order: dict[str, Any]) -> None:
        """Queue a callback for `order` (a snapshot is taken now)."""
        url = order.get("callback_url")
        if not url or not self._running:
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
        if not self._running:
            return True  # shutting down: nothing more to do
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=ATTEMPT_TIMEOUT, mounts=self._mounts)
        try:
            response = await self._http.post(url, content=body, headers={"Content-Type": "application/json"})
        except (httpx.HTTPError, httpx.InvalidURL):
            return False
        return response.status_code == 200
