"""Benchmark: offsets-gateway side by side with Hive Gateway, a hand-written Apollo Server, and direct REST.

One command (from the repository root, virtualenv active):

    python bench/peers/run.py                      # 3 interleaved repetitions, 4 s windows
    python bench/peers/run.py --baseline /tmp/before   # also another checkout's gateway, same run
    python bench/peers/run.py --soak 600           # 10 min mixed load on offsets-gateway: RSS over time

It starts the sandbox (seeded: 50 fulfilled orders over 5 subaccounts), composes a supergraph of the
sandbox's ``/v1/openapi.json`` with Mesh Compose (``@omnigraph/openapi``, the caller's Authorization
forwarded), and runs Hive Gateway (one process) on it, the hand-written Apollo Server 4 +
``@apollo/datasource-rest`` (``apollo.mjs``), and offsets-gateway under uvicorn (uvloop, httptools).
Node packages come from the committed package-lock.json (``npm ci`` on first run).

Before timing, every variant must return the same data (`variants.py` reduces each answer to plain values)
and the sandbox's request log counts the upstream requests per query. Then, per repetition, each workload
runs on each variant in turn (interleaved, so a noisy neighbour slows all of them alike): `order` at
concurrency 1 and 32, `dashboard` at 1 and 8. The headline column is the CPU milliseconds per query of
the server's process tree, read from /proc over the measured window: on a shared machine it is the
figure that does not depend on what else runs. Run on demand only, never from the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
import variants as v  # noqa: E402
from gateway_nested import sandbox_env, seed  # noqa: E402
from load import Tally, run_iterations, run_load  # noqa: E402
from sandbox_orders import Server, uvicorn_server  # noqa: E402
from servers import apollo_server, compose_supergraph, hive_gateway, npm_ci, process_tree, tree_usage  # noqa: E402

WORKLOADS = [("order", 1), ("order", 32), ("dashboard", 1), ("dashboard", 8)]


def gateway_env(sandbox: Server) -> dict[str, str]:
    """offsets-gateway as deployed in front of the API, forwarding each caller's key (like the peers)."""
    return {
        # No GATEWAY_UPSTREAM_API_KEY: each caller's key passes through, as the peers forward it.
        "GATEWAY_UPSTREAM_URL": f"{sandbox.url}/v1",
        "GATEWAY_ALLOW_UNAUTHENTICATED": "true",  # no caller authentication layer, as for the peers
        "GATEWAY_MAX_COST": "100000",  # the dashboard's static estimate exceeds the default 2000
        "GATEWAY_RATE_LIMIT_COST": "0",  # the load would exhaust any budget
        "GATEWAY_CATALOGUE_CACHE_TTL": "0",  # the peers cache nothing: the same 10 upstream calls
        "GATEWAY_LOG_LEVEL": "warning",
    }


@dataclass
class Cell:
    """One (variant, workload, concurrency) over all repetitions."""

    queries: int = 0
    failed: int = 0
    seconds: float = 0.0
    cpu: list[float] = field(default_factory=list)  # CPU-ms per query, per repetition
    rps: list[float] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    rss_mb: float = 0.0
    first_failure: bytes = b""


async def measure_cell(
    variant: v.Variant, workload: str, concurrency: int, args: argparse.Namespace, cell: Cell
) -> None:
    iteration = getattr(variant, workload)
    host, port = variant.host.split(":")
    load = asyncio.ensure_future(
        run_load(host, int(port), iteration, concurrency, args.warmup, args.duration)
    )
    await asyncio.sleep(args.warmup)
    before = tree_usage(variant.pids)
    await asyncio.sleep(args.duration)
    after = tree_usage(variant.pids)
    tally: Tally = await load
    done = tally.ok + tally.failed
    cell.queries += done
    cell.failed += tally.failed
    cell.first_failure = cell.first_failure or tally.first_failure
    cell.latencies += tally.latencies
    cell.rps.append(done / args.duration)
    if variant.pids and done:
        cell.cpu.append((after.cpu - before.cpu) / done * 1000)
    cell.rss_mb = max(cell.rss_mb, after.rss_mb)


def check_same_data(checks: dict[str, Any]) -> None:
    """Every variant's answers, reduced, must equal direct REST's."""
    with httpx.Client(timeout=60) as http:
        reference = checks["rest"](http)
        for name, check in checks.items():
            order, dashboard = check(http)
            if order != reference[0]:
                raise SystemExit(f"{name}: order(id) differs from REST: {order} != {reference[0]}")
            if dashboard is not None and dashboard != reference[1]:
                raise SystemExit(f"{name}: the dashboard differs from REST")
    print(f"same data from every variant: order and {len(reference[1])}-order dashboard", flush=True)


async def upstream_counts(variants: list[v.Variant], sandbox: Server) -> dict[tuple[str, str], float]:
    """Upstream (sandbox API) requests per query, from the sandbox's request log, 5 queries each."""
    counts: dict[tuple[str, str], float] = {}
    async with httpx.AsyncClient(base_url=sandbox.url, headers=v.AUTHORIZATION) as admin:
        for variant in variants:
            for workload in ("order", "dashboard"):
                if getattr(variant, workload) is None:
                    continue
                (await admin.delete("/_sandbox/requests")).raise_for_status()
                host, port = variant.host.split(":")
                tally = await run_iterations(host, int(port), getattr(variant, workload), 5)
                stats = (await admin.get("/_sandbox/stats")).json()
                api = sum(n for route, n in stats["routes"].items() if " /v1/" in route)
                counts[variant.name, workload] = (api + stats["dropped"]) / max(1, tally.ok + tally.failed)
    return counts


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


async def run_all(variants: list[v.Variant], sandbox: Server, args: argparse.Namespace) -> None:
    counts = await upstream_counts(variants, sandbox)
    cells: dict[tuple[str, str, int], Cell] = {}
    loads = [loadavg()]
    for rep in range(args.repetitions):
        for workload, concurrency in WORKLOADS:
            order = variants[rep % len(variants) :] + variants[: rep % len(variants)]  # rotate who goes first
            for variant in order:
                if getattr(variant, workload) is None:
                    continue
                cell = cells.setdefault((variant.name, workload, concurrency), Cell())
                await measure_cell(variant, workload, concurrency, args, cell)
        loads.append(loadavg())
        print(f"repetition {rep + 1}/{args.repetitions} done (loadavg {loads[-1]})", flush=True)
    print_table(variants, cells, counts, loads, args)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values) or [0.0]
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def print_table(
    variants: list[v.Variant],
    cells: dict[tuple[str, str, int], Cell],
    counts: dict[tuple[str, str], float],
    loads: list[str],
    args: argparse.Namespace,
) -> None:
    header = f"{'workload':<14}{'variant':<10}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'CPU-ms/req':>12}"
    header += f"{'(min-max)':>14}{'vs hive':>9}{'upstream/q':>12}{'RSS MB':>8}{'failed':>8}"
    print(
        f"\n{args.repetitions} repetitions x {args.duration:g} s per cell;"
        f" loadavg (1/5/15 min) per repetition: {' | '.join(loads)}"
    )
    print(header)
    print("-" * len(header))
    for workload, concurrency in WORKLOADS:
        hive = cells.get(("hive", workload, concurrency))
        hive_cpu = statistics.median(hive.cpu) if hive and hive.cpu else None
        rest = cells.get(("rest", workload, concurrency))
        for variant in variants:
            cell = cells.get((variant.name, workload, concurrency))
            if cell is None:
                continue
            cpu = statistics.median(cell.cpu) if cell.cpu else None
            spread = f"{min(cell.cpu):.2f}-{max(cell.cpu):.2f}" if cell.cpu else "-"
            ratio = f"{cpu / hive_cpu:.2f}x" if cpu and hive_cpu else "-"
            p50, p99 = (_percentile(cell.latencies, q) * 1000 for q in (0.5, 0.99))
            rss = f"{cell.rss_mb:.0f}" if variant.pids else "-"
            line = f"{workload + ' c=' + str(concurrency):<14}{variant.name:<10}"
            line += f"{statistics.median(cell.rps):>8,.0f}{p50:>9.2f}{p99:>9.2f}"
            line += f"{(f'{cpu:.2f}' if cpu else '-'):>12}{spread:>14}{ratio:>9}"
            line += f"{counts.get((variant.name, workload), 0):>12.1f}{rss:>8}"
            line += f"{cell.failed:>8}"
            print(line)
            if cell.failed:
                print(f"    first failure: {cell.first_failure!r}")
        if rest and concurrency == 1:
            floor = _percentile(rest.latencies, 0.5)
            for variant in variants:
                cell = cells.get((variant.name, workload, concurrency))
                if cell and variant.name != "rest":
                    over = (_percentile(cell.latencies, 0.5) - floor) * 1000
                    print(f"    {variant.name}: p50 overhead over direct REST {over:+.2f} ms")
    print(
        "CPU-ms/req: median over repetitions of (server process tree CPU in the window / queries completed);"
    )
    print("for hive's dashboard a query is its 2 round trips. RSS: the largest seen after any window.")


def start_servers(
    stack: ExitStack, args: argparse.Namespace
) -> tuple[Server, list[v.Variant], dict[str, Any]]:
    sandbox = stack.enter_context(uvicorn_server("sandbox.app:create_app", sandbox_env(), "/v1/portfolios"))
    seed(sandbox, args.orders, 5)
    with httpx.Client(base_url=sandbox.url, headers=v.AUTHORIZATION) as http:
        order_id = http.get("/v1/orders", params={"limit": 1}).json()["data"][0]["id"]
    servers: dict[str, Server] = {}
    if not args.only_gateway:
        supergraph = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "supergraph.graphql"
        compose_supergraph(sandbox, supergraph)
        servers["hive"] = stack.enter_context(hive_gateway(supergraph))
        servers["apollo"] = stack.enter_context(apollo_server(sandbox))
    servers["gateway"] = stack.enter_context(
        uvicorn_server("gateway.app:create_app", gateway_env(sandbox), "/healthz", args.profile)
    )
    if args.baseline:
        tree = args.baseline.resolve()
        servers["baseline"] = stack.enter_context(
            uvicorn_server("gateway.app:create_app", gateway_env(sandbox), "/healthz", tree=tree)
        )
    built = [v.rest(sandbox.url, order_id, args.orders)]
    if "hive" in servers:
        built += [v.hive(servers["hive"].url, order_id, args.orders)]
        built += [v.apollo(servers["apollo"].url, order_id, args.orders)]
    built += [
        v.gateway(name, servers[name].url, order_id, args.orders)
        for name in ("gateway", "baseline")
        if name in servers
    ]
    for variant, _ in built:
        if variant.name in servers:
            variant.pids = process_tree(servers[variant.name].pid)
    return sandbox, [variant for variant, _ in built], {variant.name: check for variant, check in built}


async def soak(variant: v.Variant, args: argparse.Namespace) -> None:
    """Mixed load (order at c=32 and the dashboard at c=8 at once) for `args.soak` s; RSS every 30 s."""
    host, port = variant.host.split(":")
    assert variant.order is not None and variant.dashboard is not None
    loads = asyncio.gather(
        run_load(host, int(port), variant.order, 32, 0.0, args.soak),
        run_load(host, int(port), variant.dashboard, 8, 0.0, args.soak),
    )
    started = time.monotonic()
    print(f"{'seconds':>8}{'RSS MB':>9}{'CPU s':>8}  loadavg")
    while not loads.done():
        usage = tree_usage(variant.pids)
        print(
            f"{time.monotonic() - started:>8.0f}{usage.rss_mb:>9.1f}{usage.cpu:>8.1f}  {loadavg()}",
            flush=True,
        )
        await asyncio.wait([loads], timeout=30)
    tallies = await loads
    usage = tree_usage(variant.pids)
    print(f"{time.monotonic() - started:>8.0f}{usage.rss_mb:>9.1f}{usage.cpu:>8.1f}  {loadavg()}")
    print(f"queries: {sum(t.ok for t in tallies):,} ok, {sum(t.failed for t in tallies)} failed")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repetitions", type=int, default=3, help="interleaved rounds over every cell")
    parser.add_argument("--duration", type=float, default=4.0, help="measured seconds per cell")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds before each window")
    parser.add_argument("--orders", type=int, default=50, help="orders seeded and shown on the dashboard")
    parser.add_argument("--baseline", type=Path, help="another checkout whose gateway runs as `baseline`")
    parser.add_argument("--only-gateway", action="store_true", help="skip the Node peers (quick iterations)")
    parser.add_argument("--profile", type=Path, help="run offsets-gateway under cProfile, stats here")
    parser.add_argument("--workloads", help="only these cells, e.g. 'order:1,dashboard:8'")
    parser.add_argument("--soak", type=float, help="instead: mixed load on offsets-gateway for this many s")
    args = parser.parse_args(argv)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    if args.workloads:
        WORKLOADS[:] = [(w, int(c)) for w, c in (cell.split(":") for cell in args.workloads.split(","))]
    if args.soak:
        args.only_gateway = True
    if not args.only_gateway:  # the Node peers, and the supergraph Hive serves
        npm_ci()
    with ExitStack() as stack:
        sandbox, variants, checks = start_servers(stack, args)
        check_same_data(checks)
        if args.soak:
            asyncio.run(soak(next(x for x in variants if x.name == "gateway"), args))
        else:
            asyncio.run(run_all(variants, sandbox, args))
    print(f"loadavg at the end: {loadavg()}; {json.dumps({'python': sys.version.split()[0]})}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
