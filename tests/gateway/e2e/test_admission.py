"""Admission control over real HTTP: past GATEWAY_MAX_IN_FLIGHT the excess is shed at once, never queued."""

from __future__ import annotations

import asyncio

import httpx

from tests.gateway.e2e.conftest import GatewayServer, SandboxServer, StartGateway

QUERY = {"query": "{ portfolios { id } }"}
LIMIT = 3
SENT = 10


async def _burst(gateway: GatewayServer) -> list[tuple[int, httpx.Response]]:
    """SENT concurrent queries; each response with its rank in completion order."""
    finished: list[tuple[int, httpx.Response]] = []
    limits = httpx.Limits(max_connections=SENT * 2)
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30, limits=limits) as http:

        async def one() -> None:
            response = await http.post("/graphql", json=QUERY)
            finished.append((len(finished), response))

        async def probe() -> None:
            await asyncio.sleep(0.3)  # while the admitted ones wait on the slow upstream
            health = await http.get("/healthz")
            metrics = await http.get("/metrics")
            finished.append((-1, health))
            finished.append((-1, metrics))

        await asyncio.gather(*(one() for _ in range(SENT)), probe())
    return finished


def test_excess_requests_are_shed_with_503_overloaded(
    start_gateway: StartGateway, sandbox: SandboxServer
) -> None:
    gateway = start_gateway(max_in_flight=LIMIT, queue_timeout=0.1, catalogue_cache_ttl=0)
    sandbox.app.state.faults.set([{"route": "GET /v1/portfolios", "latency_ms": 1500}])
    try:
        results = asyncio.run(_burst(gateway))
    finally:
        sandbox.app.state.faults.clear()
    graphql = [(rank, r) for rank, r in results if rank >= 0]
    admitted = [rank for rank, r in graphql if r.status_code == 200]
    shed = [(rank, r) for rank, r in graphql if r.status_code == 503]
    assert len(admitted) == LIMIT and len(shed) == SENT - LIMIT, [r.text for _, r in graphql]
    for _, response in graphql:
        if response.status_code == 200:
            assert response.json()["data"]["portfolios"]
    for rank, response in shed:
        assert rank < min(admitted)  # answered while the admitted ones were still waiting upstream
        assert response.headers["retry-after"] == "1"
        assert response.headers["x-request-id"]
        assert response.json()["errors"][0]["extensions"]["code"] == "OVERLOADED"
    # The shed requests never reached the upstream; probes and scrapes were not held back.
    assert sandbox.request_log.count(route="GET /v1/portfolios") == LIMIT
    health, metrics = (r for rank, r in results if rank < 0)
    assert health.status_code == 200 and metrics.status_code == 200
    assert f"gateway_requests_shed_total {float(SENT - LIMIT)}" in gateway.http.get("/metrics").text


def test_a_queued_request_takes_the_next_free_slot(
    start_gateway: StartGateway, sandbox: SandboxServer
) -> None:
    # One slot, a generous queue wait: the second request waits for the first instead of being shed.
    gateway = start_gateway(max_in_flight=1, queue_timeout=10, catalogue_cache_ttl=0)
    sandbox.app.state.faults.set([{"route": "GET /v1/portfolios", "latency_ms": 300}])
    try:
        results = asyncio.run(_pair(gateway))
    finally:
        sandbox.app.state.faults.clear()
    assert [r.status_code for r in results] == [200, 200]


async def _pair(gateway: GatewayServer) -> list[httpx.Response]:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as http:
        return list(await asyncio.gather(*(http.post("/graphql", json=QUERY) for _ in range(2))))
