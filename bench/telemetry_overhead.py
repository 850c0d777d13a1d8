"""Benchmark: what the telemetry costs per request, in gateway CPU.

Variants, interleaved (one round of each in turn, so a noisy neighbour slows all alike), each an in-process
gateway on the embedded sandbox answering the same small query (one upstream call):

- ``tracing off, logs warning``: no OTEL endpoint, GATEWAY_LOG_LEVEL=warning (no per-request lines);
- ``tracing off, logs info json``: the default level: one access line and one operation line per request;
- ``tracing on``: an OTEL endpoint (a local port nobody listens on: spans are built, batched and dropped by
  the exporter's background thread), logs at warning.

"Tracing off" has no tracing code on the request path (no middleware, no span objects); what remains are
``None`` checks in the backend transport and the loaders. CPU is `time.process_time` of this process
(client included, the same for every variant). Run on demand, never from the test suite:

    python bench/telemetry_overhead.py --requests 300 --rounds 5
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from contextlib import ExitStack

from starlette.testclient import TestClient

from gateway.app import create_app
from gateway.config import OtelSettings, Settings
from gateway.telemetry.logs import configure_logging

QUERY = {"query": "query Bench { portfolios { name } }"}


def _variants() -> dict[str, Callable[[], Settings]]:
    return {
        "tracing off, logs warning": lambda: Settings(log_level="warning", catalogue_cache_ttl=0),
        "tracing off, logs info json": lambda: Settings(log_format="json", catalogue_cache_ttl=0),
        "tracing on": lambda: Settings(
            log_level="warning",
            catalogue_cache_ttl=0,
            otel=OtelSettings(exporter_otlp_endpoint="http://127.0.0.1:9"),
        ),
    }


def _round(client: TestClient, requests: int) -> float:
    started = time.process_time()
    for _ in range(requests):
        assert client.post("/graphql", json=QUERY).status_code == 200
    return (time.process_time() - started) / requests * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300, help="requests per round and variant")
    parser.add_argument("--rounds", type=int, default=5, help="rounds (the median is reported)")
    args = parser.parse_args()
    samples: dict[str, list[float]] = {name: [] for name in _variants()}
    with ExitStack() as stack:
        clients = {}
        for name, settings in _variants().items():
            chosen = settings()
            clients[name] = (stack.enter_context(TestClient(create_app(chosen))), chosen)
        for _ in range(args.rounds):
            for name, (client, chosen) in clients.items():
                configure_logging(chosen.log_level, chosen.log_format)  # one process, one log set-up
                samples[name].append(_round(client, args.requests))
    base = statistics.median(samples["tracing off, logs warning"])
    print(f"{'variant':32} {'CPU ms/request':>15} {'vs. base':>9}")
    for name, values in samples.items():
        median = statistics.median(values)
        print(f"{name:32} {median:15.3f} {median / base:8.2f}x")


if __name__ == "__main__":
    main()
