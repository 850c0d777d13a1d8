"""The aiohttp-backed httpx transport against real loopback sockets: what goes out, what comes back, and
which httpx error each failure becomes (the backend client maps those to its own tree) - through httpx's
client and through `AiohttpTransport.fetch`, the backend client's path without httpx's objects."""

from __future__ import annotations

import asyncio
import datetime
import gzip
import ipaddress
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from gateway.app import NoCookieJar
from gateway.backend import CallOptions, OffsetsClient, RetryPolicy
from gateway.backend.models import CreateOrderParams
from gateway.backend.transport import AiohttpTransport

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@asynccontextmanager
async def raw_server(handler: Handler) -> AsyncIterator[str]:
    async def closing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client gave up first: fine for these tests
        finally:
            writer.close()

    server = await asyncio.start_server(closing, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()


async def read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":")[1])
            for line in head.lower().split(b"\r\n")
            if line.startswith(b"content-length")
        ),
        0,
    )
    return head, await reader.readexactly(length)


async def keep_answering(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    reply: bytes,
    seen: list[tuple[bytes, bytes]] | None = None,
) -> None:
    """Answer each request of a kept-alive connection with `reply` (noting it in `seen`) until it closes."""
    while not reader.at_eof():
        try:
            request = await read_request(reader)
        except asyncio.IncompleteReadError:
            break
        if seen is not None:
            seen.append(request)
        writer.write(reply)
        await writer.drain()


def answer(body: bytes, *headers: str) -> bytes:
    lines = ["HTTP/1.1 200 OK", f"Content-Length: {len(body)}", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def client(*, lean: bool = True, connections: int = 10, **timeouts: float) -> httpx.AsyncClient:
    transport = AiohttpTransport(httpx.Limits(max_connections=connections), lean=lean)
    # As the app's client: httpx's own jar keeps nothing either, so any cookie sent came from the transport.
    return httpx.AsyncClient(
        transport=transport, timeout=httpx.Timeout(5.0, **timeouts), cookies=NoCookieJar()
    )


Get = Callable[[str], Awaitable[bytes]]


@pytest.fixture(params=["httpx", "fetch", "fetch-aiohttp"])
async def get(request: pytest.FixtureRequest) -> AsyncIterator[Callable[..., Get]]:
    """``get(**timeouts)(url)``: a GET's body, through httpx's client or `AiohttpTransport.fetch` (its
    lean HTTP/1.1 pool for direct origins, or aiohttp as for proxied ones)."""
    opened: list[httpx.AsyncClient] = []

    def make(**timeouts: float) -> Get:
        http = client(lean=request.param != "fetch-aiohttp", **timeouts)
        opened.append(http)

        async def through_httpx(url: str) -> bytes:
            return (await http.get(url)).content

        async def through_fetch(url: str) -> bytes:
            transport = http._transport  # the AiohttpTransport `client` made
            assert isinstance(transport, AiohttpTransport)
            return (await transport.fetch("GET", url, {}, None, http.timeout)).content

        return through_httpx if request.param == "httpx" else through_fetch

    yield make
    for http in opened:
        await http.aclose()


async def test_requests_go_out_as_built_and_answers_come_back_on_one_kept_alive_connection() -> None:
    seen: list[tuple[bytes, bytes]] = []
    connections = 0

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        reply = answer(b'{"ok": true}', "Set-Cookie: session=tenant-a", "X-Idempotent-Replay: true")
        await keep_answering(reader, writer, reply, seen)

    async with raw_server(handler) as url, client() as http:
        for _ in range(3):
            response = await http.post(
                f"{url}/v1/orders/a%2Fb", content=b'{"amount_kg": 5}', headers={"Authorization": "Bearer k"}
            )
            assert response.status_code == 200
            assert response.json() == {"ok": True}
            assert response.headers["x-idempotent-replay"] == "true"
    assert connections == 1
    assert len(seen) == 3
    head, body = seen[-1]
    assert head.startswith(b"POST /v1/orders/a%2Fb HTTP/1.1\r\n")  # the encoded id is not re-encoded
    assert b"\r\nauthorization: bearer k\r\n" in head.lower()
    assert b"cookie" not in head.lower()  # a cookie from one answer never rides on a later request
    assert body == b'{"amount_kg": 5}'


async def test_a_compressed_body_is_decoded_by_httpx_and_a_lying_one_is_a_decoding_error(
    get: Callable[..., Get],
) -> None:
    bodies = [gzip.compress(b'{"n": 1}'), b"not gzip at all"]

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(answer(bodies.pop(0), "Content-Encoding: gzip"))
        await writer.drain()

    async with raw_server(handler) as url:
        assert await get()(f"{url}/one") == b'{"n": 1}'
        with pytest.raises(httpx.DecodingError):
            await get()(f"{url}/two")


async def test_a_body_without_a_length_ends_with_the_connection(get: Callable[..., Get]) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it")
        await writer.drain()

    async with raw_server(handler) as url:
        assert await get()(f"{url}/unsized") == b"all of it"
        assert await get()(f"{url}/unsized") == b"all of it"


async def test_an_interim_answer_is_passed_over(get: Callable[..., Get]) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n" + answer(b"the real one"))
        await writer.drain()

    async with raw_server(handler) as url:
        assert await get()(f"{url}/interim") == b"the real one"


async def test_nothing_listening_is_a_connect_error(get: Callable[..., Get]) -> None:
    async with raw_server(lambda r, w: asyncio.sleep(0)) as url:
        pass  # closed: nothing listens on that port any more
    with pytest.raises(httpx.ConnectError):
        await get()(f"{url}/v1/orders")


async def test_an_upstream_that_never_answers_is_a_read_timeout(get: Callable[..., Get]) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await reader.read()  # until the client gives up and closes the connection

    async with raw_server(handler) as url:
        with pytest.raises(httpx.ReadTimeout):
            await get(read=0.2)(f"{url}/slow")


@pytest.mark.parametrize(
    "reply",
    [b"", b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"partial', b"garbage that is not HTTP\r\n\r\n"],
    ids=["closed-before-answering", "closed-mid-body", "not-http"],
)
async def test_a_broken_answer_is_a_transport_error_not_a_timeout(
    reply: bytes, get: Callable[..., Get]
) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(reply)
        await writer.drain()

    async with raw_server(handler) as url:
        with pytest.raises(httpx.TransportError) as caught:
            await get()(f"{url}/broken")
    assert not isinstance(caught.value, httpx.TimeoutException)


async def test_a_proxy_from_the_environment_carries_requests_unless_no_proxy_exempts_the_host(
    monkeypatch: pytest.MonkeyPatch, get: Callable[..., Get]
) -> None:
    seen: list[bytes] = []

    async def proxy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head, _ = await read_request(reader)
        seen.append(head.split(b"\r\n")[0])
        writer.write(answer(b"via proxy"))
        await writer.drain()

    async with raw_server(proxy) as proxy_url:
        for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HTTP_PROXY", proxy_url)
        proxied = get()
        bodies = [await proxied("http://upstream.invalid/v1/orders") for _ in range(2)]
        assert bodies == [b"via proxy", b"via proxy"]
        assert seen == [b"GET http://upstream.invalid/v1/orders HTTP/1.1"] * 2

        monkeypatch.setenv("NO_PROXY", "upstream.invalid")
        with pytest.raises(httpx.ConnectError):
            await get()("http://upstream.invalid/v1/orders")
        assert len(seen) == 2


async def test_the_backend_client_sends_the_same_requests_with_or_without_httpx_objects() -> None:
    """The direct path (`fetch`) puts on the wire what httpx's client would: request line (encoded id,
    query), headers (httpx's defaults such as Accept-Encoding included) and body."""
    seen: list[tuple[bytes, bytes]] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while not reader.at_eof():
            try:
                seen.append(await read_request(reader))
            except asyncio.IncompleteReadError:
                break
            body = b'{"data": [], "has_more": false}' if b" /v1/orders?" in seen[-1][0] else ORDER
            writer.write(answer(body, "Content-Type: application/json"))
            await writer.drain()

    options = CallOptions(api_key="k", subaccount_id="sub", request_id="rid", idempotency_key="idem")
    requests: dict[str, list[tuple[list[bytes], bytes]]] = {}
    async with raw_server(handler) as url:
        for way in ("httpx", "direct"):
            async with client() as http:
                transport = http._transport
                assert isinstance(transport, AiohttpTransport)
                offsets = OffsetsClient(
                    http,
                    base_url=f"{url}/v1",
                    retry=RetryPolicy(max_attempts=1),
                    direct=transport if way == "direct" else None,
                )
                seen.clear()
                await offsets.get_order("a/b c", opts=options)
                await offsets.list_orders(limit=2, starting_after="x y&z", opts=options)
                await offsets.create_order(CreateOrderParams(amount_kg=5), opts=options)
                requests[way] = [(sorted(head.lower().split(b"\r\n")), body) for head, body in seen]
    assert len(requests["httpx"]) == 3
    assert requests["direct"] == requests["httpx"]
    lines = requests["direct"][1][0]
    assert b"get /v1/orders?limit=2&starting_after=x+y%26z http/1.1" in lines
    assert b"accept-encoding: gzip, deflate" in lines and b"x-subaccount-id: sub" in lines


async def test_the_lean_pool_keeps_connections_alive_within_its_limit_and_honours_close() -> None:
    served: list[list[bytes]] = []  # per connection, the paths it served
    in_flight = most = 0

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal in_flight, most
        paths: list[bytes] = []
        served.append(paths)
        while not reader.at_eof():
            try:
                head, _ = await read_request(reader)
            except asyncio.IncompleteReadError:
                break
            paths.append(head.split(b" ")[1])
            in_flight += 1
            most = max(most, in_flight)
            await asyncio.sleep(0.01)
            in_flight -= 1
            if paths[-1] == b"/chunked":
                writer.write(
                    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
                )
            else:
                writer.write(answer(b"fine", *(["Connection: close"] if paths[-1] == b"/close" else [])))
            await writer.drain()
            if paths[-1] == b"/close":
                break

    async with raw_server(handler) as url, client(connections=2) as http:
        transport = http._transport
        assert isinstance(transport, AiohttpTransport)

        async def fetch(path: str) -> bytes:
            return (await transport.fetch("GET", f"{url}{path}", {}, None, http.timeout)).content

        assert await asyncio.gather(*(fetch("/a") for _ in range(6))) == [b"fine"] * 6
        assert most <= 2 and len(served) == 2  # never more than the limit, each connection reused
        assert await fetch("/chunked") == b"abcde"
        assert await fetch("/close") == b"fine"
        for _ in range(3):
            assert await fetch("/b") == b"fine"
    closing = next(paths for paths in served if b"/close" in paths)
    assert closing[-1] == b"/close"  # the answer that said `Connection: close` ended its connection
    assert sum(len(paths) for paths in served) == 11


async def test_a_caller_beyond_the_limit_waits_at_most_the_pool_timeout() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await asyncio.sleep(1)

    async with raw_server(handler) as url, client(connections=1, connect=0.1, pool=0.1) as http:
        transport = http._transport
        assert isinstance(transport, AiohttpTransport)
        slow = asyncio.ensure_future(transport.fetch("GET", f"{url}/slow", {}, None, http.timeout))
        await asyncio.sleep(0.05)
        with pytest.raises(httpx.ConnectTimeout):
            await transport.fetch("GET", f"{url}/next", {}, None, http.timeout)
        slow.cancel()
        with pytest.raises(asyncio.CancelledError):
            await slow


ORDER = (
    b'{"id": "Gre28Fc35bt3", "order_number": "1-2", "created_on": "2022-08-01T18:00:00.000000Z",'
    b' "amount_kg": 10, "state": "placed", "price_usd_cents": 20}'
)


# --- the lean pool under `fetch` (`gateway.backend.http11`): reuse, stale connections, odd answers ---


class Upstream:
    """A raw server counting connections; `reply(request_head)` gives each answer's bytes."""

    def __init__(self, reply: Callable[[bytes], bytes]) -> None:
        self.reply = reply
        self.connections = 0
        self.heads: list[bytes] = []

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        while not reader.at_eof():
            try:
                head, _ = await read_request(reader)
            except asyncio.IncompleteReadError:
                break
            self.heads.append(head)
            answer_bytes = self.reply(head)
            writer.write(answer_bytes)
            await writer.drain()
            if b"connection: close" in answer_bytes.lower():
                break


async def fetch(transport: AiohttpTransport, url: str, read: float = 5.0) -> bytes:
    return (await transport.fetch("GET", url, {}, None, httpx.Timeout(5.0, read=read))).content


@asynccontextmanager
async def pool(keepalive_expiry: float = 5.0) -> AsyncIterator[AiohttpTransport]:
    transport = AiohttpTransport(httpx.Limits(max_connections=10, keepalive_expiry=keepalive_expiry))
    try:
        yield transport
    finally:
        await transport.aclose()


async def test_fetch_reconnects_when_the_server_closed_the_idle_connection_or_it_expired() -> None:
    upstream = Upstream(lambda head: answer(b"ok"))
    async with raw_server(upstream) as url, pool(keepalive_expiry=0.2) as transport:
        assert await fetch(transport, f"{url}/a") == b"ok"
        await asyncio.sleep(0.3)  # idle longer than the keep-alive expiry: not reused
        assert await fetch(transport, f"{url}/b") == b"ok"
        assert upstream.connections == 2

    connections = 0

    async def close_after_one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await read_request(reader)
        writer.write(answer(b"ok"))
        await writer.drain()  # then the server closes its side while the connection idles in the pool

    async with raw_server(close_after_one) as url, pool() as transport:
        assert await fetch(transport, f"{url}/a") == b"ok"
        await asyncio.sleep(0.1)
        assert await fetch(transport, f"{url}/b") == b"ok"  # no error: a fresh connection
        assert connections == 2


async def test_fetch_reads_chunked_answers_and_keeps_headers_case_insensitive() -> None:
    chunked = (
        b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\nX-Request-Id: up-1\r\n\r\n"
        b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    )
    async with raw_server(Upstream(lambda head: chunked)) as url, pool() as transport:
        response = await transport.fetch("GET", f"{url}/x", {}, None, httpx.Timeout(5.0))
    assert (response.status_code, response.reason_phrase) == (404, "Not Found")
    assert response.content == b"hello world"
    assert response.headers.get("x-request-id") == "up-1" and not response.is_success


async def test_a_connection_whose_exchange_was_abandoned_is_never_reused() -> None:
    release = asyncio.Event()
    connections = 0

    async def slow_then_quick(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        while not reader.at_eof():
            try:
                head, _ = await read_request(reader)
            except asyncio.IncompleteReadError:
                break
            if b"/slow" in head:
                await release.wait()  # answers late, on a connection the client gave up on
            writer.write(answer(b"late" if b"/slow" in head else b"ok"))
            await writer.drain()

    async with raw_server(slow_then_quick) as url, pool() as transport:
        with pytest.raises(httpx.ReadTimeout):
            await fetch(transport, f"{url}/slow", read=0.1)
        release.set()
        assert await fetch(transport, f"{url}/next") == b"ok"  # not the late answer to /slow
        assert connections == 2


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_a_reused_connection_closed_before_answering_is_retried_only_for_idempotent_methods(
    method: str,
) -> None:
    connections = 0

    async def answer_once_per_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await read_request(reader)
        writer.write(answer(b"ok"))
        await writer.drain()
        await read_request(reader)  # the next request on this connection: closed without an answer

    async with raw_server(answer_once_per_connection) as url, pool() as transport:
        assert await fetch(transport, f"{url}/first") == b"ok"
        second = transport.fetch(method, f"{url}/second", {}, None, httpx.Timeout(5.0))
        if method == "GET":
            assert (await second).content == b"ok"  # sent again on a new connection
        else:
            with pytest.raises(httpx.RemoteProtocolError):  # may have been acted on: not resent
                await second
    assert connections == (2 if method == "GET" else 1)


@pytest.mark.parametrize(
    ("reply", "body"),
    [
        (b"HTTP/1.1 200 OK\r\n\r\nuntil the connection closes", b"until the connection closes"),
        (b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" + answer(b"final"), b"final"),
    ],
    ids=["body-until-close", "interim-answer-first"],
)
async def test_fetch_reads_answers_ended_by_close_and_skips_interim_ones(reply: bytes, body: bytes) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(reply)
        await writer.drain()

    async with raw_server(handler) as url, pool() as transport:
        response = await transport.fetch("GET", f"{url}/x", {}, None, httpx.Timeout(5.0))
    assert (response.status_code, response.content) == (200, body)


# --- TLS, as the real upstream is reached ------------------------------------------------------------------


def _certificates(tmp: Path) -> tuple[Path, ssl.SSLContext]:
    """A throwaway CA (its file) and a server context with a certificate for 127.0.0.1 it signed."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    server = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_file, cert_file, key_file = tmp / "ca.pem", tmp / "server.pem", tmp / "server.key"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(server.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return ca_file, context


@pytest.mark.parametrize("lean", [True, False], ids=["lean-pool", "aiohttp"])
async def test_https_upstreams_are_verified_and_kept_alive(tmp_path: Path, lean: bool) -> None:
    ca_file, server_context = _certificates(tmp_path)
    connections = 0

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await keep_answering(reader, writer, answer(b"secret"))

    server = await asyncio.start_server(handler, "127.0.0.1", 0, ssl=server_context)
    port = server.sockets[0].getsockname()[1]
    try:
        async with client(lean=lean) as http:
            transport = http._transport
            assert isinstance(transport, AiohttpTransport)
            url = f"https://127.0.0.1:{port}/v1/orders"
            with pytest.raises(httpx.ConnectError):  # the test CA is not trusted yet
                await transport.fetch("GET", url, {}, None, http.timeout)
            transport._ssl.load_verify_locations(ca_file)  # as a deployment's CA bundle would
            for _ in range(3):
                assert (await transport.fetch("GET", url, {}, None, http.timeout)).content == b"secret"
    finally:
        server.close()
    assert (
        connections == 1
    )  # one kept-alive connection for three requests (the refused handshake never got one)
