"""Async client of the product platform (seed 000): record batch offsets and look recorded ones up.

Failures raise the backend client's error tree (`gateway.backend.errors`), mapped the same way from the
platform's problem+json (`error_from_response`), so resolvers handle both upstreams alike: 400 ->
`BadRequestError` (with the platform's `errors` map), 401 -> `UnauthorizedError`, 5xx -> `ServerError`,
no answer -> `BackendConnectionError`/`BackendTimeoutError`. Messages carry the method and the path relative
to the base URL only: never the base URL, the token or the client secret.

A 401 is answered once by dropping the token, fetching a new one and repeating the request: the token may
have expired or been revoked between the cache's check and the platform's. Nothing else is retried here:
`POST .../offsetting` is not idempotent, so retrying it is the caller's decision (see `recording`).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

import httpx
import orjson
from pydantic import ValidationError

from gateway.backend.errors import (
    BackendConnectionError,
    BackendDecodeError,
    BackendTimeoutError,
    error_from_response,
)
from gateway.products._tokens import TokenSource
from gateway.products.models import BatchRecord
from gateway.request_id import HEADER, is_sane

__all__ = ["ProductPlatformClient"]


class ProductPlatformClient:
    """The product platform's two endpoints the gateway uses.

    http: the HTTP client (its transport decides where requests go; the embedded sandbox's is in-process).
    base_url: the platform's base URL, e.g. `https://platform.example/product-api`.
    tokens: the OAuth2 client-credentials token source for this platform.
    timeout: per request (the platform is a second upstream with its own patience).
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        tokens: TokenSource,
        timeout: httpx.Timeout | None = None,
    ) -> None:
        self._http = http
        self._timeout = timeout or httpx.Timeout(10.0)
        self._base_url = base_url.rstrip("/")
        self.tokens = tokens
        self._batch_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def __repr__(self) -> str:
        return "ProductPlatformClient(<configured>)"

    def batch_lock(self, key: str) -> asyncio.Lock:
        """The lock serialising this process's check-then-send of one batch key (see `recording`)."""
        lock = self._batch_locks.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._batch_locks[key] = lock
        return lock

    async def record_offsets(
        self,
        product_id: str,
        batches: Sequence[BatchRecord],
        *,
        idempotency_key: str | None = None,
        request_id: str | None = None,
    ) -> None:
        """`POST /products/{productId}/offsetting` with the batches as a JSON array; returns on 201.

        `idempotency_key` is sent as an `Idempotency-Key` header for platforms that honour one; the gateway
        does not rely on it (see `recording`). `request_id`: the caller's correlation id (`X-Request-Id`).
        """
        headers = {"Content-Type": "application/json", **_correlation(request_id)}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        body = orjson.dumps([batch.to_wire() for batch in batches])
        await self._send("POST", _offsetting_path(product_id), content=body, headers=headers)

    async def find_offsets(
        self, product_id: str, batch_number: str, *, request_id: str | None = None
    ) -> list[BatchRecord]:
        """The records the platform already holds for `batch_number` of `product_id`.

        Uses `GET /products/{productId}/offsetting?batchNumber=...`, which the sandbox serves for this
        purpose; a real platform needs an equivalent lookup for the gateway's lost-response check.
        `request_id`: the caller's correlation id (`X-Request-Id`).
        """
        path = _offsetting_path(product_id)
        params = {"batchNumber": batch_number}
        response = await self._send("GET", path, params=params, headers=_correlation(request_id))
        return _decode_records(response, path)

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        token = await self.tokens.token()
        response = await self._attempt(method, path, token, **kwargs)
        if response.status_code == 401:
            self.tokens.invalidate(token)
            response = await self._attempt(method, path, await self.tokens.token(), **kwargs)
        if response.is_error:
            raise error_from_response(response, method=method, path=path)
        return response

    async def _attempt(self, method: str, path: str, token: str, **kwargs: Any) -> httpx.Response:
        headers = {**kwargs.pop("headers", {}), "Authorization": f"Bearer {token}"}
        try:
            return await self._http.request(
                method, self._base_url + path, headers=headers, timeout=self._timeout, **kwargs
            )
        except httpx.TimeoutException as exc:
            raise BackendTimeoutError("product platform timed out", method=method, path=path) from exc
        except httpx.TransportError as exc:
            raise BackendConnectionError("product platform unreachable", method=method, path=path) from exc


def _correlation(request_id: str | None) -> dict[str, str]:
    """The `X-Request-Id` header for one caller's call; an unusable id is left off, not an error.

    Only per-caller calls carry it: the token request is shared by all callers (see `_tokens`).
    """
    return {HEADER: request_id} if request_id is not None and is_sane(request_id) else {}


def _offsetting_path(product_id: str) -> str:
    return f"/products/{quote(product_id, safe='')}/offsetting"


def _decode_records(response: httpx.Response, path: str) -> list[BatchRecord]:
    try:
        body = orjson.loads(response.content)
        items = body.get("data", []) if isinstance(body, dict) else body
        return [BatchRecord.model_validate(item) for item in items]
    except (orjson.JSONDecodeError, ValidationError, TypeError, AttributeError) as exc:
        raise BackendDecodeError(
            "product platform lookup is not a list of records", method="GET", path=path
        ) from exc
