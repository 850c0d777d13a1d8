"""A lean keep-alive HTTP/1.1 client for the backend client's direct calls to the upstream (issue 8).

What an upstream call costs through aiohttp is mostly its own machinery around the exchange: a request
object, a response object, a writer, a stream reader, timer contexts, connector bookkeeping (~140 us of
CPU per call on the development machine). This pool does the exchange itself: one `asyncio.Protocol`
per connection, the request written in one `write`, the answer parsed by httptools (llhttp, the C
parser uvicorn uses), the body collected and handed back as `UpstreamResponse` - about a third of that.

It serves `AiohttpTransport.fetch` for origins reached directly (no proxy from the environment; aiohttp
keeps proxies, and httpx-object requests) and carries over what that path does:

- on the wire: the request line with the target as given (already encoded), ``Host`` (with the port only
  when it is not the scheme's default), the caller's headers in order, ``Accept: */*`` when the caller
  sent none, and ``Content-Length`` for a body (``0`` for POST, PUT, PATCH and DELETE without one);
- TLS with the same context (`httpx.create_ssl_context`) and the host name checked;
- connections kept alive per origin (scheme, host, port) unless the answer says otherwise, closed after
  `keepalive_expiry` seconds idle, at most `max_connections` open in all (0: no limit); a caller beyond
  that waits up to the connect plus pool timeout;
- the same httpx errors: `ConnectError` (refused, unreachable), `ConnectTimeout` (opening a connection, or
  waiting for one), `ReadTimeout` (``read`` seconds without a byte of the answer), `RemoteProtocolError`
  (closed before or during the answer, or an answer that is not HTTP) - never a timeout for a broken
  answer;
- a ``Content-Encoding`` is left for httpx to decode (`transport.decoded`), a lying one a `DecodingError`.

A connection whose exchange did not finish cleanly (an error, a cancelled caller) is closed, never reused.
Two things aiohttp did are kept too: a GET, HEAD, OPTIONS, PUT or DELETE sent on a kept-alive connection
that the server closed without a byte of answer (its own keep-alive timeout ran out as the connection
was taken) is sent again on another connection instead of failing, and interim 1xx answers (e.g. ``103
Early Hints``) are skipped on the way to the real one.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from collections.abc import Mapping
from typing import Final, cast
from urllib.parse import urlsplit

import httptools
import httpx
from multidict import CIMultiDict, CIMultiDictProxy

from gateway.backend.upstream import UpstreamResponse

_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
_BODY_METHODS: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_IDEMPOTENT: Final = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
Origin = tuple[str, str, int]


class _NoAnswer(httpx.RemoteProtocolError):
    """The connection closed before a byte of the answer arrived."""


class Http11Pool:
    """Keep-alive HTTP/1.1 connections to upstream origins (see the module docstring)."""

    def __init__(self, *, max_connections: int, keepalive_expiry: float, ssl_context: ssl.SSLContext) -> None:
        self._max = max_connections
        self._expiry = keepalive_expiry
        self._ssl = ssl_context
        self._idle: dict[Origin, list[_Connection]] = {}
        self._open = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._origins: dict[tuple[str, str], tuple[Origin, bytes]] = {}

    async def fetch(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        content: bytes | None,
        timeouts: httpx.Timeout,
    ) -> UpstreamResponse:
        """One exchange; `url` absolute and already percent-encoded (sent as it is)."""
        parts = urlsplit(url)
        origin, host = self._origin(parts.scheme, parts.netloc)
        target = parts.path or "/"
        if parts.query:
            target = f"{target}?{parts.query}"
        request = _request(method, target, host, headers, content)
        while True:
            connection = await self._acquire(origin, timeouts)
            reused = connection.answers > 0
            clean = False
            try:
                response = await connection.exchange(request, timeouts.read)
                clean = connection.reusable
                return response
            except _NoAnswer:
                # A kept-alive connection the server closed as it was taken (its own keep-alive timeout):
                # an idempotent request goes again on another connection, as aiohttp did; others fail.
                if not reused or method not in _IDEMPOTENT:
                    raise
            finally:
                self._release(origin, connection, clean)

    async def aclose(self) -> None:
        for connections in self._idle.values():
            for connection in connections:
                connection.close()
        self._idle.clear()

    def origin(self, url: str) -> Origin:
        """(scheme, host, port) of `url`, the port given or the scheme's default."""
        parts = urlsplit(url)
        return self._origin(parts.scheme, parts.netloc)[0]

    def _origin(self, scheme: str, netloc: str) -> tuple[Origin, bytes]:
        # Worked out once per origin: the port and host name properties of `urlsplit` parse the netloc.
        known = self._origins.get((scheme, netloc))
        if known is None:
            parts = urlsplit(f"{scheme}://{netloc}")
            name = parts.hostname or ""
            port = parts.port or _DEFAULT_PORTS.get(scheme, 80)
            host = f"[{name}]" if ":" in name else name
            if port != _DEFAULT_PORTS.get(scheme):
                host = f"{host}:{port}"
            known = self._origins[(scheme, netloc)] = (
                (scheme, name, port),
                host.encode("ascii") if host.isascii() else host.encode("idna"),
            )
        return known

    async def _acquire(self, origin: Origin, timeouts: httpx.Timeout) -> _Connection:
        """An idle connection to `origin`, else a new one once there is room under the limit (an idle
        connection to another origin is closed to make it)."""
        loop = asyncio.get_running_loop()
        waited = (
            None if timeouts.connect is None or timeouts.pool is None else timeouts.connect + timeouts.pool
        )
        deadline = None if waited is None else loop.time() + waited
        while True:
            idle = self._idle.get(origin)
            while idle:
                connection = idle.pop()
                if connection.usable(loop.time(), self._expiry):
                    return connection
                connection.close()
                self._forget()
            if not self._max or self._open < self._max or self._evict_idle():
                break
            await self._wait_for_room(loop, deadline)
        self._open += 1
        try:
            return await _connect(loop, origin, self._ssl, timeouts.connect)
        except BaseException:
            self._forget()
            raise

    def _evict_idle(self) -> bool:
        for connections in self._idle.values():
            if connections:
                connections.pop(0).close()
                self._open -= 1
                return True
        return False

    async def _wait_for_room(self, loop: asyncio.AbstractEventLoop, deadline: float | None) -> None:
        """Until a connection is released or closed (`_wake`), or the deadline."""
        waiter = loop.create_future()
        self._waiters.append(waiter)
        try:
            await asyncio.wait_for(waiter, None if deadline is None else max(0.0, deadline - loop.time()))
        except TimeoutError:
            raise httpx.ConnectTimeout("timed out waiting for a connection") from None
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    def _release(self, origin: Origin, connection: _Connection, clean: bool) -> None:
        if clean:
            connection.idle_since = asyncio.get_running_loop().time()
            self._idle.setdefault(origin, []).append(connection)
        else:
            connection.close()
            self._forget()
        self._wake()

    def _forget(self) -> None:
        self._open -= 1
        self._wake()

    def _wake(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return


def _request(
    method: str, target: str, host: bytes, headers: Mapping[str, str], content: bytes | None
) -> bytes:
    lines = [f"{method} {target} HTTP/1.1".encode("ascii"), b"Host: " + host]
    lines += [f"{name}: {value}".encode("latin-1") for name, value in headers.items()]
    if not any(name.lower() == "accept" for name in headers):
        lines.append(b"Accept: */*")
    if content:
        lines.append(b"Content-Length: %d" % len(content))
    elif method in _BODY_METHODS:
        lines.append(b"Content-Length: 0")
    head = b"\r\n".join(lines) + b"\r\n\r\n"
    return head + content if content else head


async def _connect(
    loop: asyncio.AbstractEventLoop, origin: Origin, context: ssl.SSLContext, connect_timeout: float | None
) -> _Connection:
    scheme, host, port = origin
    secure = scheme == "https"
    try:
        _, connection = await asyncio.wait_for(
            loop.create_connection(
                _Connection,
                host,
                port,
                ssl=context if secure else None,
                server_hostname=host if secure else None,
            ),
            connect_timeout,
        )
    except TimeoutError:
        raise httpx.ConnectTimeout("timed out opening a connection") from None
    except (OSError, ssl.SSLError) as exc:
        raise httpx.ConnectError(f"cannot connect to {host}:{port}: {exc.strerror or exc}") from None
    return connection


class _Connection(asyncio.Protocol):
    """One connection: one exchange at a time, the answer parsed as it arrives."""

    def __init__(self) -> None:
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._loop = asyncio.get_running_loop()
        self._waiter: asyncio.Future[UpstreamResponse] | None = None
        self._reason = b""
        self._headers: list[tuple[str, str]] = []
        self._body: list[bytes] = []
        self._last = 0.0
        self._read: float | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._closed = False
        self._until_close = False  # the answer's body ends when the connection does (no length given)
        self._received = False  # a byte of this exchange's answer arrived
        self.reusable = False
        self.idle_since = 0.0
        self.answers = 0  # exchanges completed on this connection

    # --- the exchange -----------------------------------------------------------------------------------

    async def exchange(self, request: bytes, read_timeout: float | None) -> UpstreamResponse:
        assert self._transport is not None
        self.reusable = False
        if self._closed:  # the upstream closed it since it was checked out
            raise _NoAnswer("server disconnected without answering")
        self._waiter = self._loop.create_future()
        self._reason, self._headers, self._body = b"", [], []
        self._until_close = self._received = False
        self._read, self._last = read_timeout, self._loop.time()
        if read_timeout is not None:
            self._timer = self._loop.call_later(read_timeout, self._check_timeout)
        try:
            self._transport.write(request)
            return await self._waiter
        finally:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self._waiter = None

    def usable(self, now: float, expiry: float) -> bool:
        return not self._closed and now - self.idle_since < expiry

    def close(self) -> None:
        self._closed = True
        if self._transport is not None:
            self._transport.close()

    def _fail(self, error: Exception) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)
        self.close()

    def _check_timeout(self) -> None:
        assert self._read is not None
        waited = self._loop.time() - self._last
        if waited >= self._read:
            self._timer = None
            self._fail(httpx.ReadTimeout("timed out waiting for the response"))
        else:
            self._timer = self._loop.call_later(self._read - waited, self._check_timeout)

    # --- asyncio.Protocol --------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, so no isinstance here.
        self._transport = cast("asyncio.Transport", transport)

    def data_received(self, data: bytes) -> None:
        self._last = self._loop.time()
        self._received = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(httpx.RemoteProtocolError(f"the upstream's answer is not HTTP: {exc}"))

    def eof_received(self) -> bool:
        if self._until_close:
            self._closed = True
            self.on_message_complete()
        self._fail(self._disconnected())
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        self._fail(self._disconnected())

    def _disconnected(self) -> httpx.RemoteProtocolError:
        if self._received:
            return httpx.RemoteProtocolError("server disconnected")
        return _NoAnswer("server disconnected without answering")

    # --- httptools callbacks -----------------------------------------------------------------------------

    def on_status(self, status: bytes) -> None:
        self._reason += status

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name.decode("latin-1"), value.decode("latin-1")))

    def on_headers_complete(self) -> None:
        status = self._parser.get_status_code()
        names = {name.lower() for name, _ in self._headers}
        self._until_close = (
            status >= 200 and status not in (204, 304) and not names & {"content-length", "transfer-encoding"}
        )

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        if 100 <= self._parser.get_status_code() < 200:  # an interim answer (103 Early Hints): skipped
            self._reason, self._headers, self._body = b"", [], []
            return
        self.answers += 1
        self.reusable = self._parser.should_keep_alive() and not self._closed
        waiter.set_result(
            UpstreamResponse(
                self._parser.get_status_code(),
                self._reason.decode("latin-1"),
                CIMultiDictProxy(CIMultiDict(self._headers)),
                b"".join(self._body),
            )
        )
