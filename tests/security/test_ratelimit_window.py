"""The cost budget holds in every window: a burst across a window boundary gets no extra points.

The limiter reads the clock through `time.time()` in `limits`' storages and in `gateway.ratelimit`; each is
replaced by a controlled clock, so every boundary position is exact and the tests never sleep. Each test runs
on the memory storage and on a real redis-server (the path replicas share).
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from types import SimpleNamespace

import limits.aio.storage.memory
import limits.aio.storage.redis.redispy
import pytest
from redis.asyncio import Redis

import gateway.ratelimit
from gateway.ratelimit import CostRateLimiter

BUDGET = 80
WINDOW = 60


class Clock:
    """A wall clock that moves only when told to."""

    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock(1_000 * WINDOW)
    for module in (limits.aio.storage.memory, limits.aio.storage.redis.redispy, gateway.ratelimit):
        monkeypatch.setattr(module, "time", SimpleNamespace(time=fake.time))
    return fake


@pytest.fixture(params=["memory", "redis"])
async def limiter(request: pytest.FixtureRequest) -> AsyncIterator[CostRateLimiter]:
    if request.param == "memory":
        yield CostRateLimiter(BUDGET, WINDOW)
        return
    client = Redis.from_url(request.getfixturevalue("redis_url"))
    try:
        shared = CostRateLimiter(BUDGET, WINDOW, redis_client=client)
        await shared.reset()
        yield shared
    finally:
        await client.aclose()


def _in_window(admitted: list[tuple[float, int]], now: float) -> int:
    """Points admitted in the window ending now (an entry exactly one window old still counts)."""
    return sum(cost for at, cost in admitted if at >= now - WINDOW)


async def test_burst_across_a_boundary_is_refused(clock: Clock, limiter: CostRateLimiter) -> None:
    # The reported case: the whole budget just before a window boundary, then a burst half a window later.
    # A weighted two-counter estimate that rounds down would admit 41 more here (121 points in 60 s).
    clock.now += WINDOW - 0.1
    assert (await limiter.charge("k", BUDGET)).allowed
    clock.now += 30.7
    refused = await limiter.charge("k", 41)
    assert not refused.allowed and refused.remaining == 0
    assert refused.retry_after == 30  # the first 80 points leave the window 29.3 s from now
    clock.now += WINDOW - 30.7  # exactly one window after the burst: it still counts
    assert not (await limiter.charge("k", 1)).allowed
    clock.now += 0.001
    assert (await limiter.charge("k", BUDGET)).allowed


async def test_every_window_holds_at_most_the_budget(clock: Clock, limiter: CostRateLimiter) -> None:
    # Many charges at random and boundary-aligned times; each is admitted exactly when it fits the window.
    rng = random.Random(20261122)
    admitted: list[tuple[float, int]] = []
    refusals = 0
    for _ in range(600):
        clock.now += rng.choice([0.0, 0.5, WINDOW / 2, WINDOW, rng.uniform(0, WINDOW / 3)])
        cost = rng.choice([1, 2, 7, 20, 41, BUDGET])
        fits = _in_window(admitted, clock.now) + cost <= BUDGET
        decision = await limiter.charge("k", cost)
        assert decision.allowed == fits, (clock.now, cost)
        if decision.allowed:
            admitted.append((clock.now, cost))
        refusals += not decision.allowed
        assert _in_window(admitted, clock.now) <= BUDGET
    assert refusals and len(admitted) > 100  # both outcomes were exercised
