"""Per-credential rate limiting by query cost (the `limits` library), in memory or shared through Redis.

Each operation is charged its *requested* cost before it runs (as GitHub and Shopify do), so a caller out of
budget causes no upstream call at all. The moving-window strategy keeps one timestamp per point spent in
the last window (at most `budget` per key, in memory or in one Redis list updated by one atomic script), so
the points admitted in *any* `window` seconds never exceed the budget. The cheaper sliding-window counter
only estimates the previous window (weighting it evenly, rounding down), which admits up to twice the
budget in a window straddling a boundary.

With Redis configured but unreachable (`gateway.redis_breaker`), each process charges a budget of its own
in memory instead: callers keep being served and limited, but with N replicas a credential may spend up
to N times its budget while Redis is down. Those in-memory charges are forgotten when Redis returns.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass
from typing import Any

from limits import RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string
from redis.asyncio import Redis

from gateway.auth.principal import Principal
from gateway.redis_breaker import RedisBreaker, RedisUnavailableError


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


class CostRateLimiter:
    """A cost budget of `budget` points per `window` seconds for every credential.

    redis_client: share the budgets between processes through Redis; calls go through `breaker` and fall
        back to this process's own budgets while Redis is down.
    """

    def __init__(
        self,
        budget: int,
        window: int,
        *,
        redis_client: Redis | None = None,
        breaker: RedisBreaker | None = None,
    ) -> None:
        self._item = RateLimitItemPerSecond(budget, window, namespace="gateway-cost")
        self._local = MovingWindowRateLimiter(MemoryStorage())
        self._shared = MovingWindowRateLimiter(_storage(redis_client)) if redis_client else None
        self._breaker = breaker or RedisBreaker()

    async def charge(self, key: str, cost: int) -> RateDecision:
        """Spend `cost` points of `key`'s budget, or refuse and say when to retry."""
        if self._shared is not None:
            shared = self._shared
            try:
                return await self._breaker.call(lambda: self._charge(shared, key, cost))
            except RedisUnavailableError:
                pass  # the breaker logged the change of state; this process's budget applies
        return await self._charge(self._local, key, cost)

    async def _charge(self, limiter: MovingWindowRateLimiter, key: str, cost: int) -> RateDecision:
        allowed = await limiter.hit(self._item, key, cost=max(cost, 1))
        stats = await limiter.get_window_stats(self._item, key)
        retry_after = 0 if allowed else max(1, math.ceil(stats.reset_time - time.time()))
        return RateDecision(allowed, stats.remaining, retry_after)

    async def reset(self) -> None:
        """Forget every budget (tests and operators)."""
        await self._local.storage.reset()
        if self._shared is not None:
            await self._shared.storage.reset()


def _storage(client: Redis) -> Storage:
    # The gateway's own connection pool, so that closing the client at shutdown closes these connections.
    pool = client.connection_pool
    options: dict[str, Any] = {"connection_pool": pool}  # typed as scalars by `limits`, passed to redis-py
    storage = storage_from_string("async+redis://", implementation="redispy", **options)
    if not isinstance(storage, Storage):  # a sync storage would block the event loop
        raise ValueError("GATEWAY_REDIS_URL must be a redis:// or rediss:// URL")
    return storage
