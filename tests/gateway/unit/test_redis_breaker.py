"""The Redis circuit breaker: fail fast while down, probe once per interval, one log line per change."""

from __future__ import annotations

import logging

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from gateway.redis_breaker import RedisBreaker, RedisUnavailableError


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_down_fails_fast_probes_per_interval_and_logs_each_change_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock, calls = Clock(), []
    breaker = RedisBreaker(probe_interval=1.0, clock=clock)
    redis_up = False

    async def operation() -> str:
        calls.append(clock.now)
        if not redis_up:
            raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379")
        return "ok"

    caplog.set_level(logging.WARNING, logger="gateway.redis_breaker")
    for _ in range(50):  # many requests while Redis is down, within one probe interval
        with pytest.raises(RedisUnavailableError):
            await breaker.call(operation)
    assert calls == [100.0] and not breaker.up  # only the first reached Redis
    clock.now += 1.0
    with pytest.raises(RedisUnavailableError):
        await breaker.call(operation)  # the probe, failing
    assert len(calls) == 2
    redis_up = True
    with pytest.raises(RedisUnavailableError):
        await breaker.call(operation)  # back, but the next probe is not due yet
    clock.now += 1.0
    assert await breaker.call(operation) == "ok" and breaker.up
    assert await breaker.call(operation) == "ok"
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 2
    assert messages[0].startswith("redis unavailable") and messages[1].startswith("redis available again")
