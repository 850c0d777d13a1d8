"""Benchmark: nested order data the REST way (N+1) against one GraphQL query through the gateway.

The data: the newest 50 orders, each with its subaccount's name and, per project allocation, the project's
credit issuance vintages - the issue's example query
``orders(first: 50) { edges { node { subaccount { name } projectAllocations { project { creditIssuances
{ vintageYear } } } } } }``. Variants, measured in one run and interleaved (one iteration of each in turn,
so a noisy neighbour slows all of them alike):

- ``rest-naive``: what a REST client writes first: list the orders, then per order GET its subaccount and per
  allocation GET its project, one request after another (1 + N + N*allocations round trips);
- ``rest-concurrent``: the same requests, 10 in flight at once (still N+1, just overlapped);
- ``rest-dedup``: the hand-optimised client: every *distinct* subaccount and project once, 10 at once -
  what the gateway's loaders do inside, without the extra hop;
- ``gateway-cold``: the one GraphQL query through a gateway whose catalogue cache is off;
- ``gateway-warm``: the same through a gateway whose catalogue cache (projects) is warm.

The sandbox and both gateways run as uvicorn subprocesses (uvloop, httptools, no access log); the clients are
httpx in this process, the same library the gateway uses upstream. Upstream requests are counted by the
sandbox itself (its request log, cleared before each iteration). Run on demand, never from the test suite:

    python bench/gateway_nested.py --iterations 30
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sandbox_orders import API_KEY, AUTH, Server, Usage, cpu_pressure, usage, uvicorn_server

CONCURRENCY = 10  # the gateway's default GATEWAY_MAX_CONCURRENT_UPSTREAM, for the concurrent REST clients
QUERY = (
    "query Nested($first: Int!) { orders(first: $first) { edges { node { subaccount { name }"
    " projectAllocations { project { creditIssuances { vintageYear } } } } } } }"
)

# One order's headline data, the same shape from every variant: (subaccount name, vintages per allocation).
Headline = list[tuple[str, list[list[int]]]]


def sandbox_env() -> dict[str, str]:
    return {
        "SANDBOX_API_KEYS": json.dumps([API_KEY]),
        "SANDBOX_FULFILMENT_DELAY": "0",  # fulfilled right after the response: allocations exist
        "SANDBOX_ENABLE_ADMIN": "true",  # the request log's /_sandbox/stats
    }


def gateway_env(sandbox: Server, *, cache_ttl: float) -> dict[str, str]:
    return {
        "GATEWAY_UPSTREAM_URL": f"{sandbox.url}/v1",
        "GATEWAY_UPSTREAM_API_KEY": API_KEY,
        "GATEWAY_ALLOW_UNAUTHENTICATED": "true",  # a benchmark on loopback, not a deployment
        "GATEWAY_MAX_COST": "100000",  # the static estimate of this query exceeds the default 2000
        "GATEWAY_RATE_LIMIT_COST": "0",
        "GATEWAY_CATALOGUE_CACHE_TTL": str(cache_ttl),
        "GATEWAY_LOG_LEVEL": "warning",
    }


# --- seeding -----------------------------------------------------------------------------------------------


def seed(sandbox: Server, orders: int, subaccounts: int) -> None:
    """`orders` fulfilled orders spread round-robin over `subaccounts` new subaccounts."""
    with httpx.Client(base_url=sandbox.url, headers=AUTH, timeout=30) as http:
        ids = [_post(http, "/v1/subaccounts", {"name": f"Bench {n}"}, {})["id"] for n in range(subaccounts)]
        for n in range(orders):
            _post(http, "/v1/orders", {"amount_kg": 5 + n}, {"X-Subaccount-Id": ids[n % subaccounts]})
        listed = http.get("/v1/orders", params={"limit": orders}).json()["data"]
        if any(order["state"] != "fulfilled" for order in listed):
            raise SystemExit("seeded orders are not fulfilled")


def _post(http: httpx.Client, path: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
    response = http.post(path, json=body, headers=headers)
    response.raise_for_status()
    return response.json()


# --- the variants ------------------------------------------------------------------------------------------


def _project_vintages(project: dict[str, Any]) -> list[int]:
    return [issuance["vintage_year"] for issuance in project["credit_issuances"]]


async def _get(http: httpx.AsyncClient, path: str, **params: Any) -> Any:
    response = await http.get(path, params=params or None)
    response.raise_for_status()
    return response.json()


async def rest_naive(http: httpx.AsyncClient, first: int) -> Headline:
    """List, then one request per order's subaccount and per allocation's project, in sequence."""
    orders = (await _get(http, "/v1/orders", limit=first))["data"]
    headline: Headline = []
    for order in orders:
        subaccount = await _get(http, f"/v1/subaccounts/{order['subaccount_id']}")
        vintages = []
        for allocation in order["project_allocations"]:
            project = await _get(http, f"/v1/projects/{allocation['project']['id']}")
            vintages.append(_project_vintages(project))
        headline.append((subaccount["name"], vintages))
    return headline


async def rest_concurrent(http: httpx.AsyncClient, first: int) -> Headline:
    """The same requests as `rest_naive`, `CONCURRENCY` in flight at once."""
    orders = (await _get(http, "/v1/orders", limit=first))["data"]
    limit = asyncio.Semaphore(CONCURRENCY)

    async def bounded(path: str) -> Any:
        async with limit:
            return await _get(http, path)

    async def one(order: dict[str, Any]) -> tuple[str, list[list[int]]]:
        paths = [f"/v1/projects/{a['project']['id']}" for a in order["project_allocations"]]
        subaccount, *projects = await asyncio.gather(
            bounded(f"/v1/subaccounts/{order['subaccount_id']}"), *(bounded(p) for p in paths)
        )
        return subaccount["name"], [_project_vintages(p) for p in projects]

    return list(await asyncio.gather(*(one(order) for order in orders)))


async def rest_dedup(http: httpx.AsyncClient, first: int) -> Headline:
    """Every distinct subaccount and project once, `CONCURRENCY` in flight: the REST minimum."""
    orders = (await _get(http, "/v1/orders", limit=first))["data"]
    paths = {f"/v1/subaccounts/{o['subaccount_id']}" for o in orders}
    paths |= {f"/v1/projects/{a['project']['id']}" for o in orders for a in o["project_allocations"]}
    limit = asyncio.Semaphore(CONCURRENCY)

    async def bounded(path: str) -> tuple[str, Any]:
        async with limit:
            return path, await _get(http, path)

    fetched = dict(await asyncio.gather(*(bounded(path) for path in sorted(paths))))
    return [
        (
            fetched[f"/v1/subaccounts/{o['subaccount_id']}"]["name"],
            [
                _project_vintages(fetched[f"/v1/projects/{a['project']['id']}"])
                for a in o["project_allocations"]
            ],
        )
        for o in orders
    ]


async def through_gateway(http: httpx.AsyncClient, first: int) -> Headline:
    """The one GraphQL query."""
    response = await http.post("/graphql", json={"query": QUERY, "variables": {"first": first}})
    body = response.json()
    if response.status_code != 200 or body.get("errors"):
        raise SystemExit(f"gateway answered {response.status_code}: {body.get('errors')}")
    return [
        (
            edge["node"]["subaccount"]["name"],
            [
                [issuance["vintageYear"] for issuance in allocation["project"]["creditIssuances"]]
                for allocation in edge["node"]["projectAllocations"]
            ],
        )
        for edge in body["data"]["orders"]["edges"]
    ]


Fetch = Callable[[httpx.AsyncClient, int], Awaitable[Headline]]


@dataclass
class Variant:
    """One way of getting the data, and what its iterations cost."""

    name: str
    fetch: Fetch
    http: httpx.AsyncClient
    server_pid: int | None  # the gateway process, when there is one
    seconds: list[float] = field(default_factory=list)
    upstream: list[int] = field(default_factory=list)
    sandbox_cpu: float = 0.0
    gateway_cpu: float = 0.0
    client_cpu: float = 0.0


# --- measuring ---------------------------------------------------------------------------------------------


class SandboxLog:
    """The sandbox's own count of the API requests it received (admin API; its own calls are not logged)."""

    def __init__(self, sandbox: Server) -> None:
        self.http = httpx.AsyncClient(base_url=sandbox.url, headers=AUTH, timeout=30)

    async def clear(self) -> None:
        (await self.http.delete("/_sandbox/requests")).raise_for_status()

    async def add_latency(self, milliseconds: float) -> None:
        """Delay every API request (a fault rule matching everything): a network round trip to a far API."""
        response = await self.http.put("/_sandbox/faults", json=[{"latency_ms": milliseconds}])
        response.raise_for_status()

    async def api_requests(self) -> int:
        stats = (await self.http.get("/_sandbox/stats")).json()
        return sum(count for route, count in stats["routes"].items() if " /v1/" in route)


async def run_once(variant: Variant, log: SandboxLog, sandbox_pid: int, first: int) -> Headline:
    """One timed iteration; upstream requests and CPU are charged to the variant."""
    await log.clear()
    sandbox0 = usage(sandbox_pid)
    gateway0 = usage(variant.server_pid) if variant.server_pid else Usage(0, 0, 0)
    cpu0 = time.process_time()
    started = time.perf_counter()
    headline = await variant.fetch(variant.http, first)
    variant.seconds.append(time.perf_counter() - started)
    variant.client_cpu += time.process_time() - cpu0
    variant.sandbox_cpu += (usage(sandbox_pid) - sandbox0).cpu
    if variant.server_pid:
        variant.gateway_cpu += (usage(variant.server_pid) - gateway0).cpu
    variant.upstream.append(await log.api_requests())
    return headline


async def measure(variants: list[Variant], sandbox: Server, args: argparse.Namespace) -> None:
    """Check every variant returns the same data, warm up, then interleave the timed iterations."""
    log = SandboxLog(sandbox)
    if args.upstream_latency_ms:
        await log.add_latency(args.upstream_latency_ms)
    reference = await rest_naive(variants[0].http, args.orders)
    for variant in variants:
        for _ in range(args.warmup):
            if await variant.fetch(variant.http, args.orders) != reference:
                raise SystemExit(f"{variant.name} returned different data than the REST client")
    for _ in range(args.iterations):
        for variant in variants:
            await run_once(variant, log, sandbox.pid, args.orders)
    await log.http.aclose()


# --- the table ---------------------------------------------------------------------------------------------


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, round(0.9 * len(ordered)) - 1)]


def print_table(variants: list[Variant], args: argparse.Namespace) -> None:
    n = args.iterations
    header = f"{'variant':<17}{'median ms':>10}{'p90 ms':>9}{'upstream req':>14}"
    header += f"{'sandbox CPU ms':>16}{'gateway CPU ms':>16}{'client CPU ms':>15}"
    latency = (
        f", {args.upstream_latency_ms:g} ms added to every API request" if args.upstream_latency_ms else ""
    )
    print(f"\n{args.orders} orders over {args.subaccounts} subaccounts, {n} iterations per variant{latency}")
    print(header)
    print("-" * len(header))
    for v in variants:
        counts = sorted(set(v.upstream))
        upstream = str(counts[0]) if len(counts) == 1 else f"{counts[0]}-{counts[-1]}"
        line = f"{v.name:<17}{statistics.median(v.seconds) * 1000:>10.1f}{p90(v.seconds) * 1000:>9.1f}"
        line += f"{upstream:>14}{v.sandbox_cpu / n * 1000:>16.1f}"
        line += f"{(v.gateway_cpu / n * 1000 if v.server_pid else 0):>16.1f}{v.client_cpu / n * 1000:>15.1f}"
        print(line)
    base = variants[0]
    print(f"\nratios to {base.name} (same run; < 1 is faster / fewer):")
    for v in variants[1:]:
        time_ratio = statistics.median(v.seconds) / statistics.median(base.seconds)
        upstream_ratio = statistics.median(v.upstream) / statistics.median(base.upstream)
        print(f"  {v.name:<15} wall time {time_ratio:5.3f}x   upstream requests {upstream_ratio:5.3f}x")
    cold, baseline = (
        next((v for v in variants if v.name == n), None) for n in ("gateway-cold", "baseline-cold")
    )
    if cold and baseline:
        ratio = cold.gateway_cpu / baseline.gateway_cpu
        print(f"  gateway-cold vs baseline-cold: {ratio:.2f}x gateway CPU per query")
    dedup = next(v for v in variants if v.name == "rest-dedup")
    for v in (v for v in variants if v.server_pid):
        extra = statistics.median(v.seconds) / statistics.median(dedup.seconds)
        print(f"  {v.name} vs rest-dedup (the extra hop and GraphQL): {extra:.2f}x wall time")
    print(f"machine CPU pressure (tasks waiting for a CPU): {cpu_pressure()}")


# --- main --------------------------------------------------------------------------------------------------


async def _run(gateways: dict[str, Server], sandbox: Server, args: argparse.Namespace) -> list[Variant]:
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with (
        httpx.AsyncClient(base_url=sandbox.url, headers=AUTH, limits=limits, timeout=60) as rest,
        httpx.AsyncClient(base_url=gateways["cold"].url, timeout=60) as cold,
        httpx.AsyncClient(base_url=gateways["warm"].url, timeout=60) as warm,
        httpx.AsyncClient(base_url=gateways.get("baseline", gateways["cold"]).url, timeout=60) as baseline,
    ):
        variants = [
            Variant("rest-naive", rest_naive, rest, None),
            Variant("rest-concurrent", rest_concurrent, rest, None),
            Variant("rest-dedup", rest_dedup, rest, None),
            Variant("gateway-cold", through_gateway, cold, gateways["cold"].pid),
            Variant("gateway-warm", through_gateway, warm, gateways["warm"].pid),
        ]
        if "baseline" in gateways:
            variants.append(Variant("baseline-cold", through_gateway, baseline, gateways["baseline"].pid))
        await measure(variants, sandbox, args)
    return variants


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=50, help="orders seeded and fetched (<= 100)")
    parser.add_argument("--subaccounts", type=int, default=5, help="subaccounts the orders are spread over")
    parser.add_argument("--iterations", type=int, default=30, help="timed iterations per variant")
    parser.add_argument("--warmup", type=int, default=3, help="untimed iterations per variant first")
    parser.add_argument(
        "--upstream-latency-ms",
        type=float,
        default=0.0,
        help="added by the sandbox to every API request, whoever sends it (a remote API's round trip)",
    )
    parser.add_argument(
        "--profile-gateway", type=Path, help="run the cold gateway under cProfile, stats here"
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        help="another checkout (e.g. `git worktree add /tmp/before HEAD~1`): also run its gateway, cache "
        "off, as `baseline-cold` in the same run",
    )
    args = parser.parse_args(argv)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    with ExitStack() as stack:
        sandbox = stack.enter_context(
            uvicorn_server("sandbox.app:create_app", sandbox_env(), "/v1/portfolios")
        )
        seed(sandbox, args.orders, args.subaccounts)
        gateways = {
            name: stack.enter_context(
                uvicorn_server(
                    "gateway.app:create_app", gateway_env(sandbox, cache_ttl=ttl), "/healthz", profile
                )
            )
            for name, ttl, profile in (("cold", 0.0, args.profile_gateway), ("warm", 3600.0, None))
        }
        if args.baseline:
            env = gateway_env(sandbox, cache_ttl=0.0)
            gateways["baseline"] = stack.enter_context(
                uvicorn_server("gateway.app:create_app", env, "/healthz", tree=args.baseline.resolve())
            )
        variants = asyncio.run(_run(gateways, sandbox, args))
    print_table(variants, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
