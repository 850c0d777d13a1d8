"""A lean closed-loop HTTP/1.1 load client on raw keep-alive sockets (asyncio protocols, uvloop when present).

Each virtual user owns its connections and runs one *iteration* after another: a sequence of stages, each
stage one or more requests sent at once on the user's connections (one request per connection, so a REST
client's parallel fan-out is parallel here too); the next stage starts when the previous one has fully
answered. Latency is from the iteration's first byte sent to its last response received; no correction
for coordinated omission (a closed loop at concurrency 1 measures exactly what one client sees).

A request counts as failed when its status is not 200 or its body holds a GraphQL ``"errors"`` entry.
The client parses only the status line, ``Content-Length`` and chunked bodies, so it spends a few tens of
microseconds per request: far less than any of the servers it measures.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

Stage = list[bytes]  # raw HTTP requests sent together
Iteration = list[Stage]  # stages run one after another


def get_request(host: str, path: str, headers: dict[str, str]) -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def post_request(host: str, path: str, headers: dict[str, str], body: bytes) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}", *(f"{k}: {v}" for k, v in headers.items())]
    lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@dataclass
class Tally:
    """What the users saw inside the measured window."""

    ok: int = 0
    failed: int = 0
    latencies: list[float] = field(default_factory=list)
    first_failure: bytes = b""


class _Connection(asyncio.Protocol):
    """One keep-alive connection; one request in flight at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[tuple[bool, bytes]] | None = None
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def send(self, request: bytes) -> asyncio.Future[tuple[bool, bytes]]:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return self.waiter

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        parsed = _parse(self.buffer)
        if parsed is None or self.waiter is None:
            return
        consumed, ok, body = parsed
        del self.buffer[:consumed]
        waiter, self.waiter = self.waiter, None
        waiter.set_result((ok and b'"errors"' not in body, body))

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("server closed the connection"))
        if not self.closed.done():
            self.closed.set_result(None)


def _parse(buffer: bytearray) -> tuple[int, bool, bytes] | None:
    """(bytes consumed, status is 200, body) of one complete response at the buffer's start, else None."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = bytes(buffer[:end]).lower()
    ok = head[9:12] == b"200"
    start = head.find(b"\r\ncontent-length:")
    if start >= 0:
        stop = head.find(b"\r\n", start + 2)
        length = int(head[start + 17 : stop if stop >= 0 else len(head)])
        if len(buffer) < end + 4 + length:
            return None
        return end + 4 + length, ok, bytes(buffer[end + 4 : end + 4 + length])
    if b"transfer-encoding: chunked" in head:
        return _parse_chunked(buffer, end + 4, ok)
    return end + 4, ok, b""


def _parse_chunked(buffer: bytearray, pos: int, ok: bool) -> tuple[int, bool, bytes] | None:
    body = bytearray()
    while True:
        line_end = buffer.find(b"\r\n", pos)
        if line_end < 0:
            return None
        size = int(bytes(buffer[pos:line_end]).split(b";")[0], 16)
        if len(buffer) < line_end + 2 + size + 2:
            return None
        if size == 0:
            return line_end + 4, ok, bytes(body)
        body += buffer[line_end + 2 : line_end + 2 + size]
        pos = line_end + 2 + size + 2


async def _user(
    host: str,
    port: int,
    iteration: Iteration,
    tally: Tally,
    window: tuple[float, float],
    remaining: list[int] | None = None,
) -> None:
    loop = asyncio.get_running_loop()
    width = max(len(stage) for stage in iteration)
    connections = []
    for _ in range(width):
        _, protocol = await loop.create_connection(_Connection, host, port)
        connections.append(protocol)
    try:
        while (started := time.perf_counter()) < window[1]:
            if remaining is not None:
                if remaining[0] <= 0:
                    break
                remaining[0] -= 1
            ok, body = True, b""
            for stage in iteration:
                answers = await asyncio.gather(*(c.send(r) for c, r in zip(connections, stage, strict=False)))
                for answer_ok, answer_body in answers:
                    if not answer_ok:
                        ok, body = False, answer_body
            finished = time.perf_counter()
            if window[0] <= finished <= window[1]:
                tally.ok += ok
                tally.failed += not ok
                tally.latencies.append(finished - started)
                if not ok and not tally.first_failure:
                    tally.first_failure = body[:300]
    finally:
        for connection in connections:
            if connection.transport is not None:
                connection.transport.close()


async def run_load(
    host: str, port: int, iteration: Iteration, concurrency: int, warmup: float, duration: float
) -> Tally:
    """Run `concurrency` users for `warmup` + `duration` seconds; tally iterations that end in the window."""
    tally = Tally()
    start = time.perf_counter() + warmup
    window = (start, start + duration)
    await asyncio.gather(*(_user(host, port, iteration, tally, window) for _ in range(concurrency)))
    return tally


async def run_iterations(host: str, port: int, iteration: Iteration, count: int) -> Tally:
    """Run exactly `count` iterations from one user (for counting upstream requests per query)."""
    tally = Tally()
    await _user(host, port, iteration, tally, (0.0, float("inf")), [count])
    return tally
