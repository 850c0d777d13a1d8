"""Admission control: a bound on the requests one worker serves at once, shedding the excess at once.

An asyncio server accepts every connection and starts every request, so past its capacity requests do not
fail - they queue inside the process, each taking a little of the CPU the others need, until all of them
are slow, time out, and memory grows with the backlog. `AdmissionMiddleware` (pure ASGI, outside everything
but the request id and metrics layers) lets at most `max_in_flight` HTTP requests run; a request arriving
when all slots are taken waits at most `queue_timeout` seconds for one (first come, first served), then is
answered ``503`` with ``Retry-After`` and a GraphQL-shaped error coded ``OVERLOADED`` - before its body is
read, so a shed request costs microseconds. Callers (and load balancers) retry elsewhere or later instead
of waiting into a timeout, and the admitted requests keep their latency.

Probes and scrapes (`EXEMPT_PATHS`) are never held back, so an overloaded worker still reports itself live
and exposes the metrics that show it shedding. WebSocket connections are not counted (they are long-lived
and bounded by their own limits).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.security.responses import send_error

OVERLOADED = "OVERLOADED"
EXEMPT_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
#: Seconds a shed caller is told to wait before retrying.
RETRY_AFTER = "1"


class AdmissionMiddleware:
    """Serve at most `max_in_flight` HTTP requests at once; queue others up to `queue_timeout` seconds.

    on_shed: called once per refused request (the metrics' counter).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_in_flight: int,
        queue_timeout: float,
        on_shed: Callable[[], None] | None = None,
    ) -> None:
        self.app, self.max_in_flight, self.queue_timeout = app, max_in_flight, queue_timeout
        self._on_shed = on_shed
        self._in_flight = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def in_flight(self) -> int:
        """Requests being served now."""
        return self._in_flight

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        if not await self._admit():
            await self._shed(send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self._release()

    async def _admit(self) -> bool:
        if self._in_flight < self.max_in_flight and not self._waiters:
            self._in_flight += 1
            return True
        if self.queue_timeout <= 0:
            return False
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await asyncio.wait((waiter,), timeout=self.queue_timeout)
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._release()  # the slot was handed over as this request was cancelled: pass it on
            raise
        finally:
            if not waiter.done():  # timed out, or this request was cancelled while it waited
                waiter.cancel()
                self._waiters.remove(waiter)
        return not waiter.cancelled()  # done: `_release` handed this request its slot

    def _release(self) -> None:
        # Hand the slot straight to the longest waiter, so the count never dips and lets a newcomer jump in.
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._in_flight -= 1

    async def _shed(self, send: Send) -> None:
        if self._on_shed is not None:
            self._on_shed()
        message = "the gateway is at capacity; retry after the time in the Retry-After header"
        await send_error(send, 503, OVERLOADED, message, headers={"retry-after": RETRY_AFTER})
