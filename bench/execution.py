"""In-process A/B of the gateway's execution: CPU per query of `order(id)` and the dashboard (issue 8).

    python bench/execution.py                    # fast execution vs graphql-core's, 5 alternating rounds
    python bench/execution.py --rounds 3 --queries 100
    python bench/execution.py --profile /tmp/exec.prof --only fast   # cProfile of the fast variant
    python bench/execution.py --workload order --only fast --only fast-no-plans   # plans kept or not

The sandbox runs as a uvicorn process (seeded as for `peers/run.py`: 50 fulfilled orders over 5
subaccounts); the gateway app runs in *this* process and is called straight through ASGI (no HTTP
server, no load generator), one query at a time, so `time.process_time()` around a round is the CPU the
gateway spent on it: middlewares, view, execution and its upstream client (aiohttp), nothing else.
Variants differ only in the schema's execution-context class and run in alternating rounds, so a
noisy neighbour slows both alike. The table gives CPU-ms per query, median and min-max over rounds, and
(`<variant> gc`) the part of it the garbage collector took (`gc.callbacks`).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import os
import resource
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent / "peers"))

import variants as v
from gateway_nested import sandbox_env, seed
from run import gateway_env
from sandbox_orders import uvicorn_server

from gateway.app import create_app
from gateway.schema.errors import UpstreamErrorsExecutionContext
from gateway.schema.execution import FastFieldsExecutionContext

WORKLOADS = ("order", "dashboard")


class NoPlansExecutionContext(FastFieldsExecutionContext):
    """The short path with fields collected afresh per request (no `gateway.schema.plans`), for A/B."""

    plans = None


CONTEXTS = {
    "fast": FastFieldsExecutionContext,
    "fast-no-plans": NoPlansExecutionContext,
    "graphql-core": UpstreamErrorsExecutionContext,
}
App = Callable[..., Any]


async def call(app: App, body: bytes, state: dict[str, Any]) -> dict[str, Any]:
    """One POST /graphql through the ASGI app; the decoded JSON answer."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"content-type", b"application/json"),
            (b"accept", b"application/json"),
            (b"authorization", v.AUTHORIZATION["Authorization"].encode()),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "state": dict(state),  # as uvicorn gives each request a copy of the lifespan's state
    }
    chunks: list[bytes] = []
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    answer: dict[str, Any] = orjson.loads(b"".join(chunks))
    return answer


@contextmanager
def gateway_app(env: dict[str, str]) -> Iterator[Any]:
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        yield create_app()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def schema_of(app: Any) -> Any:
    route = next(r for r in app.routes if getattr(r, "path", None) == "/graphql")
    return route.endpoint.schema


class GcTimer:
    """CPU time spent in the garbage collector (all generations), from `gc.callbacks`."""

    def __init__(self) -> None:
        self.spent = 0.0
        self.by_generation = [0.0, 0.0, 0.0]
        self.runs = [0, 0, 0]
        self._start = 0.0
        gc.callbacks.append(self._on_gc)

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._start = time.process_time()
        else:
            spent = time.process_time() - self._start
            self.spent += spent
            self.by_generation[info["generation"]] += spent
            self.runs[info["generation"]] += 1


async def measure(app: Any, state: dict[str, Any], args: argparse.Namespace, order_id: str) -> None:
    bodies = {
        "order": orjson.dumps({"query": v.GATEWAY_ORDER, "variables": {"id": order_id}}),
        "dashboard": orjson.dumps({"query": v.GATEWAY_DASHBOARD, "variables": {"first": args.orders}}),
    }
    schema = schema_of(app)
    names = args.only or list(CONTEXTS)
    answers = {}
    for name in names:
        schema.execution_context_class = CONTEXTS[name]
        answers[name] = [await call(app, body, state) for body in bodies.values()]
        assert "errors" not in answers[name][1], answers[name][1]
    if len({orjson.dumps(a, option=orjson.OPT_SORT_KEYS) for a in answers.values()}) != 1:
        raise SystemExit("the variants answered differently")
    figures: dict[tuple[str, str], list[float]] = {}
    collections = GcTimer()
    profile = cProfile.Profile() if args.profile else None
    for _ in range(args.rounds):
        for name in names:
            schema.execution_context_class = CONTEXTS[name]
            for workload, body in bodies.items():
                if args.workload and workload not in args.workload:
                    continue
                count = args.queries if workload == "order" else max(1, args.queries // 10)
                for _ in range(3):  # warm the loaders' connections and caches
                    await call(app, body, state)
                if profile:
                    profile.enable()
                start, collected = time.process_time(), collections.spent
                for _ in range(count):
                    await call(app, body, state)
                spent = time.process_time() - start
                if profile:
                    profile.disable()
                figures.setdefault((workload, name), []).append(spent / count * 1000)
                figures.setdefault((workload, name + " gc"), []).append(
                    (collections.spent - collected) / count * 1000
                )
    print(f"{'workload':<10} {'variant':<16} {'CPU-ms/query':>12} {'(min-max)':>14}")
    for (workload, name), values in figures.items():
        low, high = min(values), max(values)
        print(f"{workload:<10} {name:<16} {statistics.median(values):>12.3f} {low:>6.3f}-{high:<7.3f}")
    runs = ", ".join(
        f"gen{n}: {count} runs, {spent * 1000:.0f} ms"
        for n, (count, spent) in enumerate(zip(collections.runs, collections.by_generation, strict=True))
    )
    print(f"garbage collections while measuring ({gc.get_threshold()}): {runs}")
    print(f"max RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    print(f"loadavg at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if profile:
        profile.dump_stats(args.profile)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds per variant")
    parser.add_argument("--queries", type=int, default=300, help="order queries per round (dashboard: 1/10)")
    parser.add_argument("--orders", type=int, default=50, help="orders seeded and shown on the dashboard")
    parser.add_argument("--only", action="append", choices=list(CONTEXTS), help="run only this variant")
    parser.add_argument("--workload", action="append", choices=WORKLOADS, help="run only this workload")
    parser.add_argument("--profile", type=Path, help="write cProfile stats of the measured calls here")
    parser.add_argument("--gc-threshold", help="gc.set_threshold after start-up, e.g. 10000,20,10")
    args = parser.parse_args(argv)
    with uvicorn_server("sandbox.app:create_app", sandbox_env(), "/v1/portfolios") as sandbox:
        seed(sandbox, args.orders, 5)
        with httpx.Client(base_url=sandbox.url, headers=v.AUTHORIZATION) as http:
            order_id = http.get("/v1/orders", params={"limit": 1}).json()["data"][0]["id"]
        with gateway_app({**gateway_env(sandbox), "GATEWAY_LOG_LEVEL": "warning"}) as app:
            asyncio.run(_run(app, args, order_id))
    return 0


async def _run(app: Any, args: argparse.Namespace, order_id: str) -> None:
    async with app.router.lifespan_context(app) as state:
        if args.gc_threshold:
            gc.set_threshold(*(int(n) for n in args.gc_threshold.split(",")))
        await measure(app, dict(state or {}), args, order_id)


if __name__ == "__main__":
    raise SystemExit(main())
