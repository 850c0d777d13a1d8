"""Unguessable callback tokens: which upstream key partition and subaccount a callback URL belongs to.

A token is ``<payload>.<mac>``: the payload names the key's fingerprint (a hash, never the key) and the
subaccount, the MAC is HMAC-SHA256 over it with the webhook secret. Nothing is stored per order, any
replica holding the secret can check a token, and a token cannot be made or altered without the secret.
A valid token only makes the gateway re-read an order upstream, so a leaked one costs a few reads.

The secret: ``GATEWAY_WEBHOOK_SECRET``; else one shared through Redis (``GATEWAY_REDIS_URL``: the first
replica to start stores a random one, the others read it); else a random one per process, which is fine
for one process but means callbacks of orders placed before a restart are refused (the poller still
catches those orders up).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import secrets

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

SECRET_KEY = "offsets-gateway:webhook-secret"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class CallbackTokens:
    """Issues and checks callback tokens with one secret."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def issue(self, partition: str, subaccount_id: str | None) -> str:
        payload = _b64(orjson.dumps([partition, subaccount_id]))
        return f"{payload}.{self._mac(payload)}"

    def verify(self, token: str) -> tuple[str, str | None] | None:
        """(partition, subaccount) of a genuine token; None for anything else."""
        payload, _, mac = token.partition(".")
        if not payload or not hmac.compare_digest(mac, self._mac(payload)):
            return None
        try:
            partition, subaccount = orjson.loads(_unb64(payload))
        except (binascii.Error, orjson.JSONDecodeError, ValueError, TypeError):
            return None
        if not isinstance(partition, str) or not isinstance(subaccount, str | None):
            return None
        return partition, subaccount

    def _mac(self, payload: str) -> str:
        return _b64(hmac.new(self._secret, payload.encode(), hashlib.sha256).digest())


async def load_secret(configured: str | None, redis: Redis | None) -> bytes:
    """The webhook secret: configured, else shared through Redis, else random for this process."""
    if configured:
        return hashlib.sha256(configured.encode()).digest()
    candidate = secrets.token_bytes(32)
    if redis is None:
        return candidate
    try:
        await redis.set(SECRET_KEY, candidate, nx=True)
        stored = await redis.get(SECRET_KEY)
    except RedisError as exc:
        logger.warning(
            "subscriptions: no shared webhook secret (%s); using this process's own", type(exc).__name__
        )
        return candidate
    if isinstance(stored, str):
        return stored.encode()
    return stored or candidate
