"""How events and hints reach every replica, and claims that let one replica act where N could.

`MemoryBroker`: one process on its own. `RedisBroker` (``GATEWAY_REDIS_URL``): messages go through one
Redis pub/sub channel to every replica (each replica's subscribers see every event once, in the order
Redis delivered them); claims are ``SET key NX PX`` - the first replica to claim a key wins it until it
expires, which is how one replica (not N) re-reads a hinted order, runs a poll, or announces a state.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

CHANNEL = "offsets-gateway:order-updates"
CLAIM_PREFIX = "offsets-gateway:claim:"
#: Claims a memory broker remembers at most (oldest forgotten first; a forgotten claim only means an
#: announcement may repeat, which subscribers drop as a duplicate).
MEMORY_CLAIMS = 100_000

Handler = Callable[[bytes], Awaitable[None]]


class Broker(Protocol):
    async def start(self, handler: Handler) -> None: ...
    async def stop(self) -> None: ...
    async def publish(self, message: bytes) -> None: ...
    async def claim(self, key: str, ttl: float) -> bool: ...


class MemoryBroker:
    """Delivers to this process only; claims live in a bounded dict."""

    def __init__(self) -> None:
        self._handler: Handler | None = None
        self._claims: OrderedDict[str, float] = OrderedDict()

    async def start(self, handler: Handler) -> None:
        self._handler = handler

    async def stop(self) -> None:
        self._handler = None

    async def publish(self, message: bytes) -> None:
        if self._handler is not None:
            await self._handler(message)

    async def claim(self, key: str, ttl: float) -> bool:
        now = time.monotonic()
        expires = self._claims.get(key)
        if expires is not None and expires > now:
            return False
        self._claims[key] = now + ttl
        self._claims.move_to_end(key)
        while len(self._claims) > MEMORY_CLAIMS:
            self._claims.popitem(last=False)
        return True


class RedisBroker:
    """Redis pub/sub for messages, ``SET NX PX`` for claims."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._listener: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def start(self, handler: Handler) -> None:
        self._listener = asyncio.get_running_loop().create_task(self._listen(handler))
        # Subscribed before serving, so an event published right after start-up is not missed here.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ready.wait(), timeout=5)

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            await asyncio.gather(self._listener, return_exceptions=True)

    async def publish(self, message: bytes) -> None:
        try:
            await self._redis.publish(CHANNEL, message)
        except RedisError as exc:
            logger.warning("subscriptions: could not publish to redis: %s", type(exc).__name__)

    async def claim(self, key: str, ttl: float) -> bool:
        try:
            won = await self._redis.set(CLAIM_PREFIX + key, b"1", nx=True, px=max(1, int(ttl * 1000)))
        except RedisError as exc:
            logger.warning("subscriptions: redis claim failed: %s", type(exc).__name__)
            return True  # better a duplicate (subscribers drop it) than a lost update
        return bool(won)

    async def _listen(self, handler: Handler) -> None:
        while True:
            try:
                await self._read(handler)
            except RedisError as exc:
                logger.warning("subscriptions: redis subscription lost (%s); retrying", type(exc).__name__)
                await asyncio.sleep(1)

    async def _read(self, handler: Handler) -> None:
        async with self._redis.pubsub() as pubsub:
            await pubsub.subscribe(CHANNEL)
            self._ready.set()
            async for message in pubsub.listen():
                if message.get("type") == "message":
                    await _handle(handler, message["data"])


async def _handle(handler: Handler, data: bytes) -> None:
    try:
        await handler(data)
    except Exception:  # one bad message must not stop the listener for every subscriber
        logger.exception("subscriptions: handling a broker message failed")
