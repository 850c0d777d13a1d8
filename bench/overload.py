"""Overload: open-loop load at 150% of the gateway's measured capacity, with and without admission control.

    python bench/overload.py                         # capacity, then 60 s at 150% of it
    python bench/overload.py --duration 120 --compare    # also the same load with admission control off
    python bench/overload.py --max-in-flight 32 --upstream-latency-ms 50
    python bench/overload.py --sweep --upstream-latency-ms 100   # throughput by concurrency, no limit

Steps: start the sandbox and one gateway (uvicorn subprocesses, uvloop + httptools, like production);
measure the gateway's closed-loop capacity (`--connections` keep-alive connections sending the query back
to back); then send the query open-loop - on a fixed schedule, whatever the answers - at `--load` times
that rate. Latency is counted from each request's *scheduled* time, so a gateway that falls behind is
charged for the wait (no coordinated omission). The gateway's RSS is sampled every second. See
bench/README.md for the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sandbox_orders import API_KEY, AUTH, Server, cpu_pressure, split_response, uvicorn_server

#: One upstream call per query (the order list), so the load reaches the whole path.
QUERY = "{ orders(first: 5) { edges { node { id amountKg state } } } }"
#: Connections the open-loop generator may hold at once (a request needs a connection of its own).
MAX_CONNECTIONS = 2000


def sandbox_env() -> dict[str, str]:
    return {
        "SANDBOX_API_KEYS": json.dumps([API_KEY]),
        "SANDBOX_FULFILMENT_DELAY": "0",
        "SANDBOX_ENABLE_ADMIN": "true",  # the faults API, for --upstream-latency-ms
    }


def gateway_env(sandbox: Server, max_in_flight: int | None) -> dict[str, str]:
    env = {
        "GATEWAY_UPSTREAM_URL": f"{sandbox.url}/v1",
        "GATEWAY_UPSTREAM_API_KEY": API_KEY,
        "GATEWAY_ALLOW_UNAUTHENTICATED": "true",  # a benchmark on loopback, not a deployment
        "GATEWAY_RATE_LIMIT_COST": "0",
        "GATEWAY_LOG_LEVEL": "warning",
    }
    if max_in_flight is not None:
        env["GATEWAY_MAX_IN_FLIGHT"] = str(max_in_flight)
    return env


@contextmanager
def servers(max_in_flight: int | None, upstream_latency_ms: float) -> Iterator[Server]:
    """The sandbox (seeded with a few orders) and a gateway over it; yields the gateway."""
    with uvicorn_server("sandbox.app:create_app", sandbox_env(), "/v1/portfolios") as sandbox:
        with httpx.Client(base_url=sandbox.url, headers=AUTH, timeout=30) as http:
            for _ in range(5):
                http.post("/v1/orders", json={"amount_kg": 5}).raise_for_status()
            if upstream_latency_ms:
                http.put("/_sandbox/faults", json=[{"latency_ms": upstream_latency_ms}]).raise_for_status()
        env = gateway_env(sandbox, max_in_flight)
        with uvicorn_server("gateway.app:create_app", env, "/healthz") as gateway:
            yield gateway


def request_bytes(host: str, port: int) -> bytes:
    body = json.dumps({"query": QUERY}).encode()
    head = (
        f"POST /graphql HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


# --- an HTTP/1.1 keep-alive connection that reports each response ------------------------------------------


class _Connection(asyncio.Protocol):
    def __init__(self, on_response: Callable[[_Connection, int], None]) -> None:
        self.on_response = on_response
        self.buffer = b""
        self.transport: asyncio.WriteTransport | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # TCP transports write (uvloop's too)

    def send(self, request: bytes) -> None:
        assert self.transport is not None
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        response = split_response(self.buffer)
        if response is not None:
            status, self.buffer = response
            self.on_response(self, status)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True


# --- closed loop: capacity ---------------------------------------------------------------------------------


async def capacity(url: str, connections: int, warmup: float, duration: float) -> float:
    """Responses per second with `connections` connections sending back to back (after a warm-up)."""
    host, port = url.removeprefix("http://").split(":")
    request = request_bytes(host, int(port))
    loop = asyncio.get_running_loop()
    counted = {"n": 0}
    window = [time.perf_counter() + warmup, time.perf_counter() + warmup + duration]

    def on_response(connection: _Connection, status: int) -> None:
        now = time.perf_counter()
        counted["n"] += window[0] <= now <= window[1] and status == 200
        if now < window[1]:
            connection.send(request)

    opened = []
    for _ in range(connections):
        transport, protocol = await loop.create_connection(lambda: _Connection(on_response), host, int(port))
        protocol.send(request)
        opened.append(transport)
    await asyncio.sleep(warmup + duration + 0.5)
    for transport in opened:
        transport.close()
    return counted["n"] / duration


# --- open loop ---------------------------------------------------------------------------------------------


@dataclass
class Slice:
    """What happened to the requests scheduled in one second, and the gateway's RSS at its end."""

    ok: list[float] = field(default_factory=list)  # latencies of 200s
    shed: list[float] = field(default_factory=list)  # latencies of 503s
    other: int = 0
    other_kinds: collections.Counter[str] = field(default_factory=collections.Counter)
    rss: float = 0.0


@dataclass
class OpenLoop:
    """An open-loop run: `rate` requests per second for `duration` seconds against `url`."""

    url: str
    pid: int
    rate: float
    duration: float
    slices: list[Slice] = field(default_factory=list)
    unsent: int = 0  # scheduled while MAX_CONNECTIONS were busy (counted as errors)
    unanswered: int = 0  # no answer by the end (the run waits `drain` seconds after the last send)

    async def run(self, drain: float = 30.0) -> None:
        host, port = self.url.removeprefix("http://").split(":")
        self._host, self._port = host, int(port)
        self._request = request_bytes(host, int(port))
        self._idle: list[_Connection] = []
        self._busy: dict[_Connection, tuple[float, int]] = {}
        self._opening = 0
        self.slices = [Slice() for _ in range(int(self.duration) + 1)]
        start = time.perf_counter()
        sampler = asyncio.create_task(self._sample_rss(start))
        await self._schedule(start)
        deadline = time.perf_counter() + drain
        while (self._busy or self._opening) and time.perf_counter() < deadline:  # noqa: ASYNC110 - polls two counters
            await asyncio.sleep(0.05)
        self.unanswered = len(self._busy) + self._opening
        sampler.cancel()
        for connection in [*self._idle, *self._busy]:
            if connection.transport is not None:
                connection.transport.close()

    async def _schedule(self, start: float) -> None:
        sent = 0
        total = int(self.rate * self.duration)
        while sent < total:
            due = min(total, int((time.perf_counter() - start) * self.rate) + 1)
            while sent < due:
                self._launch(start + sent / self.rate, sent)
                sent += 1
            await asyncio.sleep(max(0.0, start + sent / self.rate - time.perf_counter()))

    def _launch(self, scheduled: float, index: int) -> None:
        second = int(index / self.rate)
        while self._idle:
            connection = self._idle.pop()
            if not connection.closed:
                self._send(connection, scheduled, second)
                return
        if len(self._busy) + self._opening >= MAX_CONNECTIONS:
            self.unsent += 1
            return
        self._opening += 1
        asyncio.get_running_loop().create_task(self._open_and_send(scheduled, second))

    async def _open_and_send(self, scheduled: float, second: int) -> None:
        loop = asyncio.get_running_loop()
        try:
            _, connection = await loop.create_connection(
                lambda: _Connection(self._on_response), self._host, self._port
            )
        except OSError:
            self.slices[second].other += 1
            self.slices[second].other_kinds["connect failed"] += 1
            return
        finally:
            self._opening -= 1
        self._send(connection, scheduled, second)

    def _send(self, connection: _Connection, scheduled: float, second: int) -> None:
        self._busy[connection] = (scheduled, second)
        connection.send(self._request)

    def _on_response(self, connection: _Connection, status: int) -> None:
        scheduled, second = self._busy.pop(connection)
        latency = time.perf_counter() - scheduled
        bucket = self.slices[second]
        if status == 200:
            bucket.ok.append(latency)
        elif status == 503:
            bucket.shed.append(latency)
        else:
            bucket.other += 1
            bucket.other_kinds[str(status)] += 1
        self._idle.append(connection)

    async def _sample_rss(self, start: float) -> None:
        while True:
            second = int(time.perf_counter() - start)
            if second < len(self.slices):
                self.slices[second].rss = rss_mb(self.pid)
            await asyncio.sleep(0.25)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summary(run: OpenLoop) -> dict[str, float]:
    """Totals over the run, and RSS over its first and last tenth."""
    ok = [x for s in run.slices for x in s.ok]
    shed = [x for s in run.slices for x in s.shed]
    rss = [s.rss for s in run.slices if s.rss]
    tenth = max(1, len(rss) // 10)
    return {
        "sent": len(ok) + len(shed) + sum(s.other for s in run.slices) + run.unanswered,
        "ok": len(ok),
        "shed": len(shed),
        "errors": sum(s.other for s in run.slices) + run.unsent + run.unanswered,
        "ok_p50": percentile(ok, 0.50) * 1000,
        "ok_p99": percentile(ok, 0.99) * 1000,
        "shed_p99": percentile(shed, 0.99) * 1000,
        "rss_start": statistics.mean(rss[:tenth]) if rss else 0.0,
        "rss_end": statistics.mean(rss[-tenth:]) if rss else 0.0,
        "rss_max": max(rss, default=0.0),
    }


def print_slices(run: OpenLoop, every: int) -> None:
    """Per-interval figures, to see whether latency or memory drifts during the run."""
    print(
        f"{'from s':>6} {'ok/s':>7} {'503/s':>7} {'err':>5} {'ok p50 ms':>10} {'ok p99 ms':>10} {'RSS MB':>7}"
    )
    for first in range(0, len(run.slices) - 1, every):
        chunk = run.slices[first : first + every]
        ok = [x for s in chunk for x in s.ok]
        shed = sum(len(s.shed) for s in chunk)
        errors = sum(s.other for s in chunk)
        rss = max((s.rss for s in chunk), default=0.0)
        print(
            f"{first:>6} {len(ok) / len(chunk):>7.0f} {shed / len(chunk):>7.0f} {errors:>5}"
            f" {percentile(ok, 0.5) * 1000:>10.0f} {percentile(ok, 0.99) * 1000:>10.0f} {rss:>7.0f}"
        )


def error_kinds(run: OpenLoop) -> str:
    """What the errors were: statuses other than 200/503, failed connects, unsent and unanswered requests."""
    kinds: collections.Counter[str] = collections.Counter()
    for bucket in run.slices:
        kinds.update(bucket.other_kinds)
    kinds.update({"unsent": run.unsent, "unanswered": run.unanswered})
    return ", ".join(f"{kind}: {count}" for kind, count in sorted(kinds.items()) if count) or "none"


def print_summary(label: str, rate: float, figures: dict[str, float]) -> None:
    print(
        f"{label:<22} {rate:>6.0f} {figures['sent']:>7.0f} {figures['ok']:>7.0f} {figures['shed']:>6.0f}"
        f" {figures['errors']:>6.0f} {figures['ok_p50']:>7.0f} {figures['ok_p99']:>7.0f}"
        f" {figures['shed_p99']:>8.0f} {figures['rss_start']:>6.0f} {figures['rss_end']:>6.0f}"
        f" {figures['rss_max']:>6.0f}"
    )


SUMMARY_HEADER = (
    f"{'gateway':<22} {'req/s':>6} {'sent':>7} {'200':>7} {'503':>6} {'errors':>6} {'p50 ms':>7}"
    f" {'p99 ms':>7} {'503 p99':>8} {'RSS0':>6} {'RSS1':>6} {'RSSmax':>6}"
)


def measure_capacity(gateway: Server, args: argparse.Namespace) -> float:
    rate = asyncio.run(capacity(gateway.url, args.connections, warmup=2.0, duration=args.capacity_seconds))
    print(f"closed-loop capacity ({args.connections} connections): {rate:.0f} req/s; {cpu_pressure()}")
    return rate


def open_loop(gateway: Server, rate: float, duration: float) -> OpenLoop:
    run = OpenLoop(gateway.url, gateway.pid, rate, duration)
    asyncio.run(run.run())
    return run


def sweep(args: argparse.Namespace) -> None:
    """Closed-loop throughput at growing concurrency with admission off: where it stops growing is the
    concurrency the worker needs; past it, requests only wait (latency by Little's law: c / throughput)."""
    with servers(0, args.upstream_latency_ms) as gateway:
        print(f"{'connections':>11} {'req/s':>7} {'latency ms':>10}")
        for connections in (1, 2, 4, 8, 16, 32, 64, 128, 256):
            rate = asyncio.run(capacity(gateway.url, connections, 1.0, args.capacity_seconds))
            print(f"{connections:>11} {rate:>7.0f} {connections / rate * 1000 if rate else 0:>10.0f}")
        print(cpu_pressure())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of open-loop load")
    parser.add_argument("--load", type=float, default=1.5, help="open-loop rate as a multiple of capacity")
    parser.add_argument("--rate", type=float, help="open-loop req/s (skips the capacity measurement)")
    parser.add_argument("--connections", type=int, default=32, help="closed-loop connections (capacity)")
    parser.add_argument("--capacity-seconds", type=float, default=10.0)
    parser.add_argument("--max-in-flight", type=int, help="GATEWAY_MAX_IN_FLIGHT (default: the gateway's)")
    parser.add_argument("--upstream-latency-ms", type=float, default=0.0, help="sandbox latency per call")
    parser.add_argument("--compare", action="store_true", help="also run with admission control off")
    parser.add_argument("--slices", type=int, default=10, help="print per-interval figures every N s")
    parser.add_argument("--sweep", action="store_true", help="closed-loop req/s by concurrency, no limit")
    args = parser.parse_args(argv)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    if args.sweep:
        sweep(args)
        return 0
    variants = [("admission on", args.max_in_flight)] + ([("admission off", 0)] if args.compare else [])
    results = []
    rate = args.rate
    for label, limit in variants:
        with servers(limit, args.upstream_latency_ms) as gateway:
            if rate is None:
                rate = measure_capacity(gateway, args) * args.load
            run = open_loop(gateway, rate, args.duration)
            print(f"\n{label}: {rate:.0f} req/s open-loop for {args.duration:g} s")
            print_slices(run, args.slices)
            print(f"errors: {error_kinds(run)}")
            results.append((label, summary(run)))
    print(f"\n{SUMMARY_HEADER}")
    for label, figures in results:
        print_summary(label, rate or 0.0, figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
