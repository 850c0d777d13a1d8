"""A small HTTP/1.1 keep-alive client for the backend client's own upstream calls (`AiohttpTransport.fetch`).

Why: after httpx's objects were taken off the path, aiohttp's request machinery (its request and response
objects, header multidicts, timers, tracing hooks, connector bookkeeping) was the largest cost of an
upstream call the gateway controls, ~140 us of CPU per call on the development machine. A call here is
the request written in one piece and the answer parsed by httptools (uvicorn's C parser): ~55 us.

What it does, and no more: one request at a time per connection (no pipelining); idle connections kept
per origin, reused newest first, closed when older than the keep-alive expiry or when the server closed
them; ``Content-Length`` and chunked answers; TLS with the given context. Proxies are not its business:
the transport sends proxied origins through aiohttp. The number of connections follows the calls in
flight, which the backend client bounds (``max_concurrency``, GATEWAY_MAX_CONNECTIONS).

Failures are httpx's errors, as the transport maps aiohttp's: `httpx.ConnectError` /
`httpx.ConnectTimeout` while connecting, `httpx.ReadTimeout` when no byte of the answer arrives for
``read`` seconds, `httpx.RemoteProtocolError` for a connection closed before a complete answer or an answer
that is not HTTP. A connection whose exchange did not end cleanly (an error, or the caller cancelled) is
closed, never reused.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Mapping
from typing import cast

import httptools
import httpx
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

#: Methods whose request carries a body: without one they send ``Content-Length: 0``, as httpx does.
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})

Answer = tuple[int, str, CIMultiDictProxy[str], bytes]


class Http1Pool:
    """Keep-alive connections per origin. `ssl_context` is used for ``https`` origins."""

    def __init__(self, *, keepalive_expiry: float, ssl_context: ssl.SSLContext) -> None:
        self._expiry = keepalive_expiry
        self._ssl = ssl_context
        self._idle: dict[tuple[str, str, int], list[tuple[float, _Connection]]] = {}

    async def request(
        self,
        method: str,
        url: URL,
        headers: Mapping[str, str],
        content: bytes | None,
        *,
        connect_timeout: float | None,
        read_timeout: float | None,
    ) -> Answer:
        """Send one request and return (status, reason, headers, body). `url` is absolute and encoded."""
        origin = (url.scheme, url.raw_host or "", url.port or 0)
        head = _head(method, url, headers, content)
        connection = self._idle_connection(origin) or await self._connect(origin, connect_timeout)
        try:
            answer, keep_alive = await connection.exchange(head + (content or b""), read_timeout)
        except BaseException:
            connection.close()  # mid-exchange (an error, or the caller gave up): never reused
            raise
        if keep_alive:
            self._idle.setdefault(origin, []).append((time.monotonic(), connection))
        else:
            connection.close()
        return answer

    def _idle_connection(self, origin: tuple[str, str, int]) -> _Connection | None:
        idle = self._idle.get(origin)
        oldest_usable = time.monotonic() - self._expiry
        while idle:
            since, connection = idle.pop()
            if since >= oldest_usable and connection.usable:
                return connection
            connection.close()
        return None

    async def _connect(self, origin: tuple[str, str, int], limit: float | None) -> _Connection:
        scheme, host, port = origin
        tls = self._ssl if scheme == "https" else None
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(limit):
                transport, connection = await loop.create_connection(
                    _Connection, host, port, ssl=tls, server_hostname=host if tls else None
                )
        except TimeoutError:
            raise httpx.ConnectTimeout(f"timed out connecting to {host}:{port}") from None
        except OSError as exc:
            raise httpx.ConnectError(f"cannot connect to {host}:{port}: {exc.strerror or exc}") from None
        connection.connection_made(transport)  # uvloop calls it only on the loop's next turn
        return connection

    def close(self) -> None:
        for idle in self._idle.values():
            for _, connection in idle:
                connection.close()
        self._idle.clear()


def _head(method: str, url: URL, headers: Mapping[str, str], content: bytes | None) -> bytes:
    lines = [f"{method} {url.raw_path_qs} HTTP/1.1", f"Host: {_host(url)}"]
    for name, value in headers.items():
        if "\r" in value or "\n" in value:
            raise httpx.LocalProtocolError(f"invalid value for header {name}")
        lines.append(f"{name}: {value}")
    if content:
        lines.append(f"Content-Length: {len(content)}")
    elif method in _BODY_METHODS:
        lines.append("Content-Length: 0")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _host(url: URL) -> str:
    host = url.raw_host or ""
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    return host if url.is_default_port() else f"{host}:{url.port}"


class _Connection(asyncio.Protocol):
    """One upstream connection; `exchange` sends a request and waits for its complete answer."""

    def __init__(self) -> None:
        self._transport: asyncio.Transport | None = None
        self._closed = False
        self._answer: asyncio.Future[tuple[Answer, bool]] | None = None
        self._deadline: asyncio.Timeout | None = None
        self._read_timeout: float | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._reason = ""
        self._headers: list[tuple[str, str]] = []
        self._body: list[bytes] = []
        self._received = False

    @property
    def usable(self) -> bool:
        return not self._closed and self._transport is not None and not self._transport.is_closing()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not `asyncio.Transport` subclasses, though they have its methods.
        self._transport = cast("asyncio.Transport", transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        what = "the answer" if self._received else "an answer"
        self._fail(httpx.RemoteProtocolError(f"server disconnected before {what} was complete"))

    async def exchange(self, request: bytes, read_timeout: float | None) -> tuple[Answer, bool]:
        assert self._transport is not None
        loop = asyncio.get_running_loop()
        self._answer = loop.create_future()
        self._parser = httptools.HttpResponseParser(self)
        self._reason, self._headers, self._body, self._received = "", [], [], False
        self._read_timeout = read_timeout
        self._transport.write(request)
        try:
            async with asyncio.timeout(read_timeout) as deadline:
                self._deadline = deadline
                return await self._answer
        except TimeoutError:
            raise httpx.ReadTimeout("timed out waiting for the answer") from None
        finally:
            self._deadline = None

    def data_received(self, data: bytes) -> None:
        if self._answer is None or self._answer.done():  # bytes nobody asked for: the connection is unusable
            self.close()
            return
        self._received = True
        if self._deadline is not None and self._read_timeout is not None:
            self._deadline.reschedule(asyncio.get_running_loop().time() + self._read_timeout)
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(httpx.RemoteProtocolError(f"the answer is not HTTP/1.1: {exc}"))
            self.close()

    # httptools callbacks

    def on_status(self, status: bytes) -> None:
        self._reason += status.decode("latin-1")

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name.decode("latin-1"), value.decode("latin-1")))

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        if self._answer is None or self._answer.done():
            return
        headers = CIMultiDictProxy(CIMultiDict(self._headers))
        answer = (self._parser.get_status_code(), self._reason, headers, b"".join(self._body))
        self._answer.set_result((answer, self._parser.should_keep_alive()))

    def _fail(self, error: Exception) -> None:
        if self._answer is not None and not self._answer.done():
            self._answer.set_exception(error)

    def close(self) -> None:
        self._closed = True
        if self._transport is not None:
            self._transport.close()
