"""The upstream connection pool: an httpx transport over one aiohttp session.

Why not httpx's own transport: httpcore's pool rescans every connection when a request starts and when it
ends (a few hundred ``is_idle`` calls per request at 32 in flight), so its CPU per request grows with
concurrency. aiohttp keeps idle connections in a per-host queue and parses responses in C. The backend
client keeps speaking httpx (requests, responses, timeouts, the error types it maps), and tests keep
replacing the transport (`httpx.MockTransport`, `httpx.ASGITransport`).

What carries over from httpx's defaults: the CA bundle (`httpx.create_ssl_context`), proxies from the
environment (``HTTP(S)_PROXY``/``NO_PROXY``), no redirects followed, the body left encoded for httpx to
decode (so a lying ``Content-Encoding`` is still an `httpx.DecodingError`), and no cookies kept (the session
is shared by every caller and tenant). Timeouts: ``connect`` bounds opening a connection, ``pool`` plus
``connect`` the wait for one, ``read`` each wait for response bytes; aiohttp has no write timeout, so a
request body's upload is bounded by ``read`` only through the response wait. Errors map to httpx's tree:
a connect failure is `httpx.ConnectError`, a timeout `httpx.ConnectTimeout`/`httpx.ReadTimeout`, a
connection lost mid-response `httpx.RemoteProtocolError`, a broken body `httpx.ReadError`.

`AiohttpTransport.fetch` is the same exchange without httpx's objects: the backend client's own calls
(`gateway.backend._http`) go through it when the app runs on this transport, skipping httpx's request
building, client send machinery and response model (about 0.25 ms of CPU per upstream call on the
development machine, against 0.15 ms for the exchange itself). Same pool, same headers on the wire, same
timeouts and the same httpx errors; a body with a ``Content-Encoding`` is still decoded by httpx.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import aiohttp
import httpx
from aiohttp.helpers import get_env_proxy_for_url
from yarl import URL

from gateway.backend.http11 import Http11Pool
from gateway.backend.upstream import UpstreamResponse

_Proxy = tuple[URL | None, aiohttp.BasicAuth | None]
_TimeoutKey = tuple[float | None, float | None, float | None]


class AiohttpTransport(httpx.AsyncBaseTransport):
    """An httpx transport sending each request over a pooled aiohttp session (created on first use).

    limits: ``max_connections`` caps open connections (aiohttp has no separate keep-alive cap; idle ones
    close after ``keepalive_expiry`` seconds). lean: `fetch` sends to origins reached without a proxy
    through `http11.Http11Pool` (its own connections, under the same limits), not aiohttp.
    """

    def __init__(self, limits: httpx.Limits, *, lean: bool = True) -> None:
        self._limits = limits
        self._session: aiohttp.ClientSession | None = None
        self._proxies: dict[tuple[str, str | None, int | None], _Proxy] = {}
        self._timeouts: dict[_TimeoutKey, aiohttp.ClientTimeout] = {}
        self._ssl = httpx.create_ssl_context()
        self._lean = (
            Http11Pool(
                max_connections=limits.max_connections or 0,
                keepalive_expiry=limits.keepalive_expiry or 5.0,
                ssl_context=self._ssl,
            )
            if lean
            else None
        )

    def _open(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=self._limits.max_connections or 0,
            limit_per_host=0,
            keepalive_timeout=self._limits.keepalive_expiry or 5.0,
            ssl=self._ssl,
        )
        return aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False,  # the environment's proxies are looked up once per origin (`_proxy_for`)
            auto_decompress=False,
            skip_auto_headers=("User-Agent", "Accept-Encoding", "Content-Type"),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeout = request.extensions.get("timeout", {})
        url = URL(str(request.url), encoded=True)
        response, content = await self._exchange(
            request.method,
            url,
            request.headers.multi_items(),
            request.content or None,
            self._client_timeout(timeout.get("connect"), timeout.get("pool"), timeout.get("read")),
        )
        return _httpx_response(response, content, request)

    async def fetch(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        content: bytes | None,
        timeouts: httpx.Timeout,
    ) -> UpstreamResponse:
        """Send one request without httpx's request and response objects (see the module docstring).

        url: absolute and already percent-encoded (it is not encoded again). Raises the same httpx errors
        as `handle_async_request`, `httpx.DecodingError` included.
        """
        lean = self._lean
        if lean is not None and method != "HEAD" and self._direct(lean, url):
            answer = await lean.fetch(method, url, headers, content, timeouts)
        else:
            client_timeout = self._client_timeout(timeouts.connect, timeouts.pool, timeouts.read)
            response, body = await self._exchange(
                method, URL(url, encoded=True), headers, content, client_timeout
            )
            answer = UpstreamResponse(response.status, response.reason or "", response.headers, body)
        if "content-encoding" in answer.headers:  # rare: let httpx decode it (or refuse a lying one)
            return decoded(answer)
        return answer

    def _direct(self, lean: Http11Pool, url: str) -> bool:
        """Whether `url`'s origin is reached without a proxy (looked up once per origin)."""
        proxy = self._proxies.get(lean.origin(url))
        if proxy is None:
            proxy = self._proxy_for(URL(url, encoded=True))
        return proxy[0] is None

    async def _exchange(
        self,
        method: str,
        url: URL,
        headers: Any,
        content: bytes | None,
        timeouts: aiohttp.ClientTimeout,
    ) -> tuple[aiohttp.ClientResponse, bytes]:
        if self._session is None:
            self._session = self._open()
        proxy, proxy_auth = self._proxy_for(url)
        with _mapped_errors():
            async with self._session.request(
                method,
                url,
                proxy=proxy,
                proxy_auth=proxy_auth,
                headers=headers,
                data=content,
                allow_redirects=False,
                timeout=timeouts,
            ) as response:
                return response, await response.read()

    def _client_timeout(
        self, connect: float | None, pool: float | None, read: float | None
    ) -> aiohttp.ClientTimeout:
        """aiohttp's timeout for httpx's values, made once per distinct set."""
        key = (connect, pool, read)
        found = self._timeouts.get(key)
        if found is None:
            found = self._timeouts[key] = _timeout(connect, pool, read)
        return found

    def _proxy_for(self, url: URL) -> _Proxy:
        """The environment's proxy for `url`'s origin, read on its first request.

        aiohttp's ``trust_env`` reads the environment again on every request, in a worker thread (a thread
        hop per upstream call); proxies are a deployment setting, so once per origin is enough (httpx, too,
        reads them once, when its client is made).
        """
        origin = (url.scheme, url.host, url.port)
        found = self._proxies.get(origin)
        if found is None:
            try:
                found = get_env_proxy_for_url(url)
            except LookupError:  # no proxy for this origin, or NO_PROXY exempts it
                found = (None, None)
            self._proxies[origin] = found
        return found

    async def aclose(self) -> None:
        if self._lean is not None:
            await self._lean.aclose()
        if self._session is not None:
            await self._session.close()
            self._session = None


def _timeout(connect: float | None, pool: float | None, read: float | None) -> aiohttp.ClientTimeout:
    waiting = None if connect is None or pool is None else connect + pool
    return aiohttp.ClientTimeout(total=None, connect=waiting, sock_connect=connect, sock_read=read)


def decoded(answer: UpstreamResponse) -> UpstreamResponse:
    """The answer with its body decoded by httpx per its ``Content-Encoding`` (`httpx.DecodingError` when
    the body is not what the header says)."""
    response = httpx.Response(
        answer.status_code, headers=list(answer.headers.items()), stream=httpx.ByteStream(answer.content)
    )
    return UpstreamResponse(answer.status_code, answer.reason_phrase, answer.headers, response.read())


def _httpx_response(
    response: aiohttp.ClientResponse, content: bytes, request: httpx.Request | None
) -> httpx.Response:
    return httpx.Response(
        response.status,
        headers=list(response.raw_headers),
        stream=httpx.ByteStream(content),
        request=request,
        extensions={"http_version": b"HTTP/1.1", "reason_phrase": (response.reason or "").encode()},
    )


@contextmanager
def _mapped_errors() -> Iterator[None]:
    """aiohttp's exceptions as the httpx ones the backend client handles (message only, no chaining)."""
    try:
        yield
    except aiohttp.ConnectionTimeoutError as exc:
        raise httpx.ConnectTimeout(str(exc) or "timed out opening a connection") from None
    except TimeoutError as exc:
        raise httpx.ReadTimeout(str(exc) or "timed out waiting for the response") from None
    except aiohttp.ClientConnectorError as exc:
        raise httpx.ConnectError(str(exc)) from None
    except aiohttp.ServerDisconnectedError as exc:
        raise httpx.RemoteProtocolError(str(exc) or "server disconnected") from None
    except aiohttp.ClientPayloadError as exc:
        raise httpx.ReadError(str(exc)) from None
    except aiohttp.ClientResponseError as exc:  # a response that does not parse as HTTP
        raise httpx.RemoteProtocolError(exc.message) from None
    except aiohttp.ClientError as exc:
        raise httpx.ReadError(str(exc) or type(exc).__name__) from None
