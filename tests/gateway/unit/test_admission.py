"""Admission control's slot accounting: hand-over to waiters, shedding, no slot lost to a cancelled wait."""

from __future__ import annotations

import asyncio
from typing import Any

from gateway.admission import AdmissionMiddleware


class SlowApp:
    """An ASGI app whose requests finish when told to."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.started = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.started += 1
        await self.release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})


async def _request(app: AdmissionMiddleware, path: str = "/graphql") -> int:
    statuses: list[int] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    await app({"type": "http", "path": path}, receive, send)
    return statuses[0]


async def test_a_waiter_gets_the_slot_and_the_excess_is_shed() -> None:
    inner, shed = SlowApp(), []
    app = AdmissionMiddleware(inner, max_in_flight=1, queue_timeout=0.05, on_shed=lambda: shed.append(1))
    first = asyncio.create_task(_request(app))
    await asyncio.sleep(0)
    assert await _request(app) == 503  # waited 50 ms, then shed
    second = asyncio.create_task(_request(app))
    await asyncio.sleep(0)
    inner.release.set()  # the first finishes and hands its slot to the waiting second
    assert await first == 200 and await second == 200
    assert shed == [1] and app.in_flight == 0 and inner.started == 2


async def test_probes_bypass_the_limit() -> None:
    inner = SlowApp()
    app = AdmissionMiddleware(inner, max_in_flight=1, queue_timeout=0)
    first = asyncio.create_task(_request(app))
    await asyncio.sleep(0)
    probe = asyncio.create_task(_request(app, "/readyz"))
    await asyncio.sleep(0)
    assert inner.started == 2  # the probe reached the app although the only slot is taken
    inner.release.set()
    assert await first == 200 and await probe == 200
    assert app.in_flight == 0


async def test_a_cancelled_waiter_loses_no_slot() -> None:
    inner = SlowApp()
    app = AdmissionMiddleware(inner, max_in_flight=1, queue_timeout=10)
    first = asyncio.create_task(_request(app))
    await asyncio.sleep(0)
    waiting = asyncio.create_task(_request(app))
    await asyncio.sleep(0)
    waiting.cancel()  # e.g. the client went away while queued
    await asyncio.gather(waiting, return_exceptions=True)
    queued = asyncio.create_task(_request(app))
    await asyncio.sleep(0)
    inner.release.set()
    assert await first == 200 and await queued == 200  # the queued one got the slot handed over
    assert app.in_flight == 0 and inner.started == 2
