"""Redis as an optional run-time dependency: short timeouts and a circuit breaker in front of every call.

Redis holds state the gateway can serve without (shared rate-limit budgets, APQ documents), so its loss
must cost callers nothing but that sharing. `connect` builds a client that fails fast (a connect timeout
well under a second, no retries of timeouts), and
`RedisBreaker.call` runs each Redis operation under a deadline:

- **up**: the call goes to Redis; a Redis or socket error (refused, reset, timed out, any `RedisError`)
  opens the breaker and raises `RedisUnavailableError`, so the caller applies its fallback;
- **down**: calls fail at once with `RedisUnavailableError`, without touching the network, except one
  probe every `probe_interval` seconds (the next call after the interval goes through): its success closes
  the breaker, so service returns within about a second of Redis coming back, with no restart.

Each change of state is one log line (``redis unavailable ...`` / ``redis available again``), never one
per request; the reason logged is the error's class and message (which name the host, never a password).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: Seconds to open a TCP connection to Redis.
CONNECT_TIMEOUT = 0.25
#: Seconds one call through the breaker may take (a frozen server is given up after this). A deadline per
#: call rather than a socket read timeout: the same client serves blocking pub/sub reads (subscriptions).
CALL_TIMEOUT = 0.5
#: Seconds between two probes of a Redis that is down.
PROBE_INTERVAL = 1.0


class RedisUnavailableError(Exception):
    """Redis did not answer (or is known to be down); the caller falls back."""


def connect(url: str) -> Redis:
    """A lazily connecting client (a pool) with a short connect timeout.

    A failed connection is retried once at once (a pooled connection the server closed while it restarted
    fails on first use), a timeout never. Reads have no socket timeout (pub/sub waits for messages);
    `RedisBreaker.call` bounds each call instead.
    """
    return Redis.from_url(
        url,
        socket_connect_timeout=CONNECT_TIMEOUT,
        retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
        health_check_interval=0,
    )


class RedisBreaker:
    """Tracks whether Redis answers; see the module docstring for the states."""

    def __init__(
        self,
        *,
        probe_interval: float = PROBE_INTERVAL,
        timeout: float = CALL_TIMEOUT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._interval, self._timeout, self._clock = probe_interval, timeout, clock
        self._up = True
        self._next_probe = 0.0

    @property
    def up(self) -> bool:
        """False while Redis is considered unreachable."""
        return self._up

    async def call(self, operation: Callable[[], Awaitable[T]]) -> T:
        """Run `operation` against Redis, or raise `RedisUnavailableError` (at once while down)."""
        if not self._up:
            now = self._clock()
            if now < self._next_probe:
                raise RedisUnavailableError
            self._next_probe = now + self._interval  # this call is the probe; the others keep failing fast
        try:
            async with asyncio.timeout(self._timeout):
                result = await operation()
        except (RedisError, OSError) as exc:  # OSError: TimeoutError from the deadline, socket errors
            self._trip(exc)
            raise RedisUnavailableError from None
        self._recover()
        return result

    def _trip(self, exc: Exception) -> None:
        self._next_probe = self._clock() + self._interval
        if self._up:
            self._up = False
            logger.warning(
                "redis unavailable (%s: %s): rate limits fall back to per-process budgets, persisted "
                "queries are not found until it returns; probing every %gs",
                type(exc).__name__,
                exc,
                self._interval,
            )

    def _recover(self) -> None:
        if not self._up:
            self._up = True
            logger.warning("redis available again: shared rate limits and persisted queries restored")
