"""Per-credential rate limiting by query cost (the `limits` library), in memory or shared through Redis.

Each operation is charged its *requested* cost before it runs (as GitHub and Shopify do), so a caller out of
budget causes no upstream call at all. The sliding-window-counter strategy needs two counters per key,
whatever the cost, so charging thousands of points stays cheap in Redis.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

from limits import RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.storage import storage_from_string

from gateway.auth.principal import Principal


@dataclass(frozen=True)
class RateDecision:
    """The outcome of charging one operation."""

    allowed: bool
    remaining: int
    retry_after: int


def rate_key(principal: Principal) -> str:
    """The budget a principal draws from: its name, or a hash of its own key in pass-through mode."""
    if principal.api_key is not None:
        return "key:" + hashlib.sha256(principal.api_key.encode()).hexdigest()[:24]
    return principal.name


def redis_storage_uri(redis_url: str) -> str:
    """The `limits` async storage URI for a ``redis://`` or ``rediss://`` URL."""
    return redis_url if redis_url.startswith("async+") else f"async+{redis_url}"


class CostRateLimiter:
    """A cost budget of `budget` points per `window` seconds for every credential."""

    def __init__(self, budget: int, window: int, *, redis_url: str | None = None) -> None:
        self._storage = _storage(redis_url)
        self._limiter = SlidingWindowCounterRateLimiter(self._storage)
        self._item = RateLimitItemPerSecond(budget, window, namespace="gateway-cost")

    async def charge(self, key: str, cost: int) -> RateDecision:
        """Spend `cost` points of `key`'s budget, or refuse and say when to retry."""
        allowed = await self._limiter.hit(self._item, key, cost=max(cost, 1))
        stats = await self._limiter.get_window_stats(self._item, key)
        retry_after = 0 if allowed else max(1, math.ceil(stats.reset_time - time.time()))
        return RateDecision(allowed, stats.remaining, retry_after)

    async def reset(self) -> None:
        """Forget every budget (tests and operators)."""
        await self._storage.reset()


def _storage(redis_url: str | None) -> Storage:
    if not redis_url:
        return MemoryStorage()
    storage = storage_from_string(redis_storage_uri(redis_url), implementation="redispy")
    if not isinstance(storage, Storage):  # a sync storage would block the event loop
        raise ValueError("GATEWAY_REDIS_URL must be a redis:// or rediss:// URL")
    return storage
