"""Benchmark: how many ``GET /v1/orders/{id}`` per second one sandbox process serves.

The sandbox runs under uvicorn (uvloop, httptools, no access log) in its own process; the load comes from
other processes. The default load generator is a minimal keep-alive HTTP/1.1 client written on asyncio
protocols (uvloop when present), because a general-purpose client like httpx spends more CPU per request
than the server does and would measure itself. ``--client httpx`` runs the same load through httpx for
comparison; ``--client wrk`` uses wrk when it is installed.

On a 2-core machine the generator and the sandbox share the CPU, so the table also shows the CPU the
sandbox process used: near 100% means the figure is the sandbox's single-core capacity; well below means
the generator or another process was the limit (the context-switch line says which), and
"req/sandbox-CPU-s" (requests per CPU-second the sandbox spent) estimates what one free core would serve.
Run on demand only (never from the test suite):

    python bench/sandbox_orders.py --duration 10 --connections 32
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
API_KEY = "bench-key"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
TARGET_RPS = 3000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class Usage:
    """What the kernel says about a process: CPU seconds, and how often it gave up or lost the CPU."""

    cpu: float
    waits: int  # voluntary context switches: it had nothing to do (waiting for requests)
    preemptions: int  # involuntary ones: another process took the CPU while it had work

    def __sub__(self, other: Usage) -> Usage:
        return Usage(self.cpu - other.cpu, self.waits - other.waits, self.preemptions - other.preemptions)


def usage(pid: int) -> Usage:
    """`Usage` of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    status = dict(
        line.split(":\t") for line in Path(f"/proc/{pid}/status").read_text().splitlines() if "ctxt" in line
    )
    return Usage(
        cpu=(int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"),
        waits=int(status["voluntary_ctxt_switches"]),
        preemptions=int(status["nonvoluntary_ctxt_switches"]),
    )


@dataclass
class Server:
    """A uvicorn subprocess."""

    url: str
    pid: int


@contextmanager
def uvicorn_server(
    factory: str,
    env: dict[str, str],
    probe: str,
    profile: Path | None = None,
    tree: Path = ROOT,
    access_log: bool = False,
) -> Iterator[Server]:
    """Run ``uvicorn --factory <factory>`` in checkout `tree` with `env` added; yield when `probe` answers.

    uvloop and httptools, as in production; `profile` runs it under cProfile (stats written on exit).
    """
    port = free_port()
    cmd = [sys.executable] + (["-m", "cProfile", "-o", str(profile)] if profile else [])
    cmd += ["-m", "uvicorn", "--factory", factory, "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--loop", "uvloop", "--http", "httptools", "--log-level", "warning"]
    cmd += [] if access_log else ["--no-access-log"]
    # PYTHONPATH first: the tree's own packages, not the editable install's, even for another checkout.
    proc = subprocess.Popen(cmd, cwd=tree, env={**os.environ, **env, "PYTHONPATH": str(tree)})
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url + probe, proc)
        yield Server(url, proc.pid)
    finally:
        proc.send_signal(2)  # SIGINT: uvicorn shuts down cleanly (and cProfile writes its file)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_until_up(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{url}: server exited with {proc.returncode}")
        try:
            httpx.get(url, headers=AUTH, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise SystemExit(f"{url}: server did not start")


def sandbox_server(*, access_log: bool, profile: Path | None) -> Iterator[Server]:
    """Start the sandbox under uvicorn in a subprocess; yield once it answers."""
    env = {"SANDBOX_API_KEYS": json.dumps([API_KEY]), "SANDBOX_FULFILMENT_DELAY": "0"}
    return uvicorn_server("sandbox.app:create_app", env, "/v1/portfolios", profile, access_log=access_log)


def create_order(url: str) -> str:
    """Place one order to read back during the run."""
    headers = {"Authorization": f"Bearer {API_KEY}"}
    response = httpx.post(f"{url}/v1/orders", json={"amount_kg": 10}, headers=headers, timeout=10)
    response.raise_for_status()
    order_id: str = response.json()["id"]
    return order_id


# --- the raw keep-alive load generator -------------------------------------------------------------------


@dataclass
class Tally:
    """What one load-generator process saw during the measured window."""

    ok: int = 0
    other: int = 0
    latencies: list[float] = field(default_factory=list)
    cpu: float = 0.0


def split_response(buffer: bytes) -> tuple[int, bytes] | None:
    """(status, the bytes after it) when `buffer` starts with a whole Content-Length response, else None."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = buffer[:end].lower()
    start = head.find(b"content-length:")
    stop = head.find(b"\r\n", start)
    length = int(head[start + 15 : stop if stop >= 0 else len(head)])
    if len(buffer) < end + 4 + length:
        return None
    return int(head[9:12]), buffer[end + 4 + length :]


class _Connection(asyncio.Protocol):
    """One keep-alive connection sending the same request back to back (one in flight at a time)."""

    def __init__(self, request: bytes, tally: Tally, window: tuple[float, float], done: asyncio.Future[None]):
        self.request, self.tally, self.window, self.done = request, tally, window, done
        self.buffer = b""
        self.sent_at = 0.0
        self.transport: asyncio.WriteTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # TCP transports write (uvloop's too)
        self._send()

    def _send(self) -> None:
        assert self.transport is not None
        self.sent_at = time.perf_counter()
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        response = split_response(self.buffer)
        if response is not None:
            status, self.buffer = response
            self._completed(status == 200)

    def _completed(self, ok: bool) -> None:
        now = time.perf_counter()
        if self.window[0] <= self.sent_at and now <= self.window[1]:
            self.tally.ok += ok
            self.tally.other += not ok
            self.tally.latencies.append(now - self.sent_at)
        if now < self.window[1]:
            self._send()
        else:
            assert self.transport is not None
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(None)


def _factory(
    request: bytes, tally: Tally, window: tuple[float, float], done: asyncio.Future[None]
) -> Callable[[], _Connection]:
    return lambda: _Connection(request, tally, window, done)


async def _raw_load(
    host: str, port: int, path: str, connections: int, warmup: float, duration: float
) -> Tally:
    loop = asyncio.get_running_loop()
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {API_KEY}\r\n\r\n".encode()
    )
    tally = Tally()
    start = time.perf_counter() + warmup
    window = (start, start + duration)
    futures = [loop.create_future() for _ in range(connections)]
    for done in futures:
        await loop.create_connection(_factory(request, tally, window, done), host, port)
    await asyncio.sleep(max(0.0, start - time.perf_counter()))
    cpu0 = time.process_time()
    await asyncio.gather(*futures)
    tally.cpu = time.process_time() - cpu0
    return tally


async def _httpx_load(url: str, path: str, connections: int, warmup: float, duration: float) -> Tally:
    tally = Tally()
    start = time.perf_counter() + warmup
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    headers = {"Authorization": f"Bearer {API_KEY}"}
    async with httpx.AsyncClient(base_url=url, limits=limits, headers=headers) as client:

        async def worker() -> None:
            while (sent_at := time.perf_counter()) < start + duration:
                response = await client.get(path)
                now = time.perf_counter()
                if sent_at >= start and now <= start + duration:
                    tally.ok += response.status_code == 200
                    tally.other += response.status_code != 200
                    tally.latencies.append(now - sent_at)

        await asyncio.sleep(0)
        cpu0 = time.process_time()
        await asyncio.gather(*(worker() for _ in range(connections)))
        tally.cpu = time.process_time() - cpu0
    return tally


def _run_load(client: str, url: str, path: str, connections: int, warmup: float, duration: float) -> Tally:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    if client == "httpx":
        return asyncio.run(_httpx_load(url, path, connections, warmup, duration))
    host, port = url.removeprefix("http://").split(":")
    return asyncio.run(_raw_load(host, int(port), path, connections, warmup, duration))


def _wrk(url: str, path: str, connections: int, duration: float) -> Tally:
    script = ROOT / "bench" / ".wrk_auth.lua"
    script.write_text(f'wrk.headers["Authorization"] = "Bearer {API_KEY}"\n')
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{int(duration)}s", "-s", str(script), f"{url}{path}"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    script.unlink()
    requests = int(next(line for line in out.splitlines() if "requests in" in line).split()[0])
    return Tally(ok=requests)


# --- one scenario, and the table ------------------------------------------------------------------------


@dataclass
class Row:
    scenario: str
    client: str
    connections: int
    seconds: float
    ok: int
    other: int
    p50_ms: float
    p99_ms: float
    server_cpu: float
    server_waits: float
    server_preemptions: float
    client_cpu: float

    @property
    def rps(self) -> float:
        return self.ok / self.seconds

    @property
    def per_cpu_second(self) -> float:
        """Requests per CPU-second the sandbox spent: its capacity per core, whatever else ran."""
        return self.rps / self.server_cpu if self.server_cpu else 0.0


def run_scenario(args: argparse.Namespace, *, access_log: bool) -> Row:
    """Start a sandbox, read one order as fast as the generator can for `args.duration` seconds."""
    scenario = "access log on" if access_log else "default"
    with sandbox_server(access_log=access_log, profile=args.profile) as sandbox:
        path = f"/v1/orders/{create_order(sandbox.url)}"
        tallies, server, window = _generate(args, sandbox, path)
    latencies = sorted(x for t in tallies for x in t.latencies) or [0.0]
    return Row(
        scenario=scenario,
        client=args.client,
        connections=args.connections * args.processes,
        seconds=args.duration,
        ok=sum(t.ok for t in tallies),
        other=sum(t.other for t in tallies),
        p50_ms=statistics.median(latencies) * 1000,
        p99_ms=latencies[int(len(latencies) * 0.99) - 1] * 1000
        if len(latencies) > 1
        else latencies[0] * 1000,
        server_cpu=server.cpu / window,
        server_waits=server.waits / window,
        server_preemptions=server.preemptions / window,
        client_cpu=sum(t.cpu for t in tallies) / args.duration,
    )


def _generate(args: argparse.Namespace, sandbox: Server, path: str) -> tuple[list[Tally], Usage, float]:
    """Run the load; also return the sandbox's `Usage` inside the measured window, and its length."""
    if args.client == "wrk":
        before = usage(sandbox.pid)
        tallies = [_wrk(sandbox.url, path, args.connections, args.duration)]
        return tallies, usage(sandbox.pid) - before, args.duration
    job = (args.client, sandbox.url, path, args.connections, args.warmup, args.duration)
    with multiprocessing.get_context("spawn").Pool(args.processes) as pool:
        pending = pool.starmap_async(_run_load, [job] * args.processes)
        time.sleep(args.warmup + 0.5)  # spawn + warm-up; measure the server only inside the window
        before = usage(sandbox.pid)
        time.sleep(args.duration - 1.0)
        server = usage(sandbox.pid) - before
        return pending.get(), server, args.duration - 1.0


def cpu_pressure() -> str:
    """The kernel's CPU pressure (share of time some task waited for a CPU), when available."""
    try:
        some = Path("/proc/pressure/cpu").read_text().splitlines()[0].split()
    except (OSError, IndexError):
        return "unknown"
    return some[1].removeprefix("avg10=") + "% over the last 10 s"


def print_table(rows: list[Row]) -> None:
    header = f"{'scenario':<15}{'client':<7}{'conns':>6}{'req/s':>10}{'non-200':>9}{'p50 ms':>9}{'p99 ms':>9}"
    header += f"{'sandbox CPU':>13}{'client CPU':>12}{'req/sandbox-CPU-s':>19}"
    print(header)
    print("-" * len(header))
    for r in rows:
        line = f"{r.scenario:<15}{r.client:<7}{r.connections:>6}{r.rps:>10,.0f}{r.other:>9}{r.p50_ms:>9.2f}"
        line += f"{r.p99_ms:>9.2f}{r.server_cpu:>12.0%}{r.client_cpu:>12.0%}{r.per_cpu_second:>19,.0f}"
        print(line)
    best = rows[0].rps
    verdict = "meets" if best >= TARGET_RPS else "is BELOW"
    print(
        f"\nGET /v1/orders/{{id}}: {best:,.0f} req/s from one sandbox process"
        f" ({verdict} the {TARGET_RPS:,} target)"
    )
    print(
        f"  the sandbox used {rows[0].server_cpu:.0%} of a core:"
        f" {rows[0].per_cpu_second:,.0f} req per CPU-second"
    )
    first = rows[0]
    print(
        f"  the sandbox waited for requests {first.server_waits:,.0f} times/s and was preempted"
        f" {first.server_preemptions:,.0f} times/s"
    )
    if first.server_cpu < 0.9 and first.server_preemptions > first.server_waits:
        print(
            "  (it was starved of CPU by other processes: req per CPU-second is the better capacity figure)"
        )
    elif first.server_cpu < 0.9:
        print("  (it was waiting for work: the load generator was the limit; try --processes 2)")
    print(f"  machine CPU pressure (tasks waiting for a CPU): {cpu_pressure()}")
    for r in rows[1:]:
        print(f"  {r.scenario} / {r.client}: {r.rps / best:.2f}x the first row (same run, same machine)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds per scenario")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds before each")
    parser.add_argument("--connections", type=int, default=32, help="keep-alive connections per process")
    parser.add_argument("--processes", type=int, default=1, help="load-generator processes")
    parser.add_argument("--client", choices=["raw", "httpx", "wrk"], default="raw")
    parser.add_argument("--compare", action="store_true", help="also run httpx and access-log scenarios")
    parser.add_argument("--profile", type=Path, help="run the sandbox under cProfile, write stats here")
    args = parser.parse_args(argv)
    if args.client == "wrk" and shutil.which("wrk") is None:
        parser.error("wrk is not installed (apt-get install wrk), use --client raw")
    rows = [run_scenario(args, access_log=False)]
    if args.compare:
        rows.append(run_scenario(argparse.Namespace(**{**vars(args), "client": "httpx"}), access_log=False))
        rows.append(run_scenario(args, access_log=True))
    print_table(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
