"""OAuth2 client-credentials tokens for the product platform (RFC 6749 section 4.4), cached and shared.

One `TokenSource` per gateway process. A token is reused until shortly before it expires; when it must be
(re)fetched, an `asyncio.Lock` makes concurrent callers wait for the one request in flight instead of each
asking for its own (20 concurrent calls -> 1 token request). `invalidate(token)` only drops the token it is
given, so many callers that all saw the same 401 cause one refresh, not one each.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import orjson

from gateway.backend.errors import (
    BackendConnectionError,
    BackendDecodeError,
    BackendTimeoutError,
    error_from_response,
)

# Refresh this long before the platform's expiry (capped at a tenth of the lifetime, so very short-lived
# tokens are still reused), so a token never expires between being read and reaching the platform.
_REFRESH_MARGIN = 30.0
# RFC 6749 makes `expires_in` optional; without it, assume a short life rather than forever.
_DEFAULT_LIFETIME = 60.0


@dataclass(frozen=True)
class _Token:
    value: str
    refresh_at: float


class TokenSource:
    """Fetches and caches client-credentials access tokens.

    http: the client to send token requests with (its transport decides where they go).
    token_url: the token endpoint. client_id / client_secret: sent with HTTP Basic auth, the RFC's
    preferred client authentication. audience: optional `audience` parameter (Auth0-style platforms).
    timeout: per token request.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        token_url: str,
        client_id: str,
        client_secret: str,
        audience: str | None = None,
        timeout: httpx.Timeout | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self._token_url = token_url
        self._auth = httpx.BasicAuth(client_id, client_secret)
        self._audience = audience
        self._timeout = timeout or httpx.Timeout(10.0)
        self._clock = clock
        self._lock = asyncio.Lock()
        self._token: _Token | None = None
        self.fetch_count = 0

    def __repr__(self) -> str:
        return "TokenSource(<client credentials hidden>)"

    async def token(self) -> str:
        """A valid access token, fetching one only when the cached one is missing or about to expire."""
        current = self._fresh()
        if current is not None:
            return current
        async with self._lock:
            current = self._fresh()  # another caller may have refreshed while this one waited
            if current is None:
                self._token = await self._fetch()
                current = self._token.value
        return current

    def invalidate(self, token: str) -> None:
        """Forget `token` (the platform refused it); a newer token fetched meanwhile is kept."""
        if self._token is not None and self._token.value == token:
            self._token = None

    def _fresh(self) -> str | None:
        token = self._token
        if token is None or self._clock() >= token.refresh_at:
            return None
        return token.value

    async def _fetch(self) -> _Token:
        form = {"grant_type": "client_credentials"}
        if self._audience:
            form["audience"] = self._audience
        self.fetch_count += 1
        try:
            response = await self._http.post(
                self._token_url, data=form, auth=self._auth, timeout=self._timeout
            )
        except httpx.TimeoutException as exc:
            raise BackendTimeoutError("product platform token request timed out") from exc
        except httpx.TransportError as exc:
            raise BackendConnectionError("product platform token endpoint unreachable") from exc
        if response.is_error:
            raise error_from_response(response, method="POST", path="/oauth/token")
        return self._parse(response)

    def _parse(self, response: httpx.Response) -> _Token:
        try:
            body = orjson.loads(response.content)
            value = body["access_token"]
            lifetime = float(body.get("expires_in") or _DEFAULT_LIFETIME)
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
            raise BackendDecodeError(
                "product platform token response is not a token", path="/oauth/token"
            ) from exc
        if not isinstance(value, str) or not value:
            raise BackendDecodeError(
                "product platform token response has no access_token", path="/oauth/token"
            )
        margin = min(_REFRESH_MARGIN, lifetime / 10)
        return _Token(value, self._clock() + lifetime - margin)
