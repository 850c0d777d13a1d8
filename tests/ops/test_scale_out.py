"""Three gateway processes behind haproxy (Debian's, with deploy/haproxy.cfg), sharing one redis-server, over
a standalone sandbox: the replicas act as one gateway.

- the rate-limit budget is shared exactly (an in-memory limiter would admit three times as much);
- an APQ document registered through one replica is found through the others;
- an idempotent mutation retried through another replica is not repeated upstream;
- killing one replica under load fails only requests it held: nothing sent after the kill fails.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import re
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.ops.processes import (
    Process,
    gateway_process,
    haproxy_process,
    redis_process,
    running,
    sandbox_process,
)
from tests.servers import free_port

pytestmark = pytest.mark.e2e

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
API_KEY = "sk_test_scale_out"
TOKENS = {"budget": "tok-budget-0123456789", "ops": "tok-ops-0123456789", "load": "tok-load-0123456789"}
BUDGET = 200
BUDGET_QUERY = "query Budget { portfolios { name } }"


@dataclass
class Cluster:
    sandbox: Process
    gateways: list[Process]
    balancer: str

    def sandbox_orders(self) -> list[dict[str, Any]]:
        auth = {"Authorization": f"Bearer {API_KEY}"}
        response = httpx.get(f"{self.sandbox.url}/v1/orders", params={"limit": 100}, headers=auth)
        return list(response.json()["data"])


def _clients_file(tmp: Path) -> Path:
    clients = [
        {
            "name": name,
            "token_sha256": hashlib.sha256(token.encode()).hexdigest(),
            "scopes": ["read", "orders:write"],
        }
        for name, token in TOKENS.items()
    ]
    path = tmp / "clients.json"
    path.write_text(json.dumps({"clients": clients}), encoding="utf-8")
    return path


def _haproxy_config(port: int, gateways: list[Process]) -> str:
    """deploy/haproxy.cfg itself, with its bind and server addresses pointed at this machine's processes."""
    config = (DEPLOY / "haproxy.cfg").read_text(encoding="utf-8")
    config = config.replace("bind *:8080", f"bind 127.0.0.1:{port}")
    for index, gateway in enumerate(gateways, start=1):
        config, n = re.subn(rf"gateway-{index}:8000", f"127.0.0.1:{gateway.port}", config)
        assert n == 1
    return config


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    tmp = tmp_path_factory.mktemp("scale")
    redis, sandbox = redis_process(tmp), sandbox_process(tmp)
    env = {
        "GATEWAY_UPSTREAM_URL": f"{sandbox.url}/v1",
        "GATEWAY_UPSTREAM_API_KEY": API_KEY,
        "GATEWAY_CLIENTS_FILE": str(_clients_file(tmp)),
        "GATEWAY_REDIS_URL": redis.extra["url"],
        "GATEWAY_RATE_LIMIT_COST": str(BUDGET),
        "GATEWAY_CATALOGUE_CACHE_TTL": "0",  # every portfolios query reaches the sandbox
        "GATEWAY_LOG_FORMAT": "json",
    }
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        gateways = list(pool.map(lambda i: gateway_process(f"gateway-{i}", tmp, env), (1, 2, 3)))
    port = free_port()
    balancer = haproxy_process(tmp, _haproxy_config(port, gateways), port)
    with running(balancer, *gateways, sandbox, redis):
        yield Cluster(sandbox, gateways, balancer.url)


def _post(url: str, token: str, body: dict[str, Any], timeout: float = 30) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.post(f"{url}/graphql", json=body, headers=headers, timeout=timeout)


def _operations(gateway: Process, name: str) -> list[dict[str, Any]]:
    entries = [json.loads(line) for line in gateway.stderr_lines()]
    return [e for e in entries if e["logger"] == "gateway.operations" and e.get("operation_name") == name]


def test_the_rate_limit_budget_is_shared_exactly(cluster: Cluster) -> None:
    statuses, cost = [], None
    with httpx.Client(base_url=cluster.balancer, timeout=30) as http:
        headers = {"Authorization": f"Bearer {TOKENS['budget']}"}
        for _ in range(BUDGET):  # more than enough: each admitted request costs at least 2 points
            response = http.post("/graphql", json={"query": BUDGET_QUERY}, headers=headers)
            statuses.append(response.status_code)
            if response.status_code == 200:
                cost = response.json()["extensions"]["cost"]["requested"]
            else:
                assert response.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert cost is not None
    # One arrival point plus the requested cost per admitted operation, out of one budget for all three.
    admitted = BUDGET // (1 + cost)
    assert statuses[:admitted] == [200] * admitted
    assert set(statuses[admitted:]) == {429}
    served = [
        len([e for e in _operations(g, "Budget") if e["outcome"] == "success"]) for g in cluster.gateways
    ]
    assert sum(served) == admitted and all(n > 0 for n in served), served  # haproxy used every replica


def test_an_apq_document_registered_on_one_replica_is_found_on_the_others(cluster: Cluster) -> None:
    query = "query Shared { portfolios { id } }"
    digest = hashlib.sha256(query.encode()).hexdigest()
    hash_only = {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest}}}
    first, second, third = (g.url for g in cluster.gateways)
    token = TOKENS["ops"]
    missing = _post(second, token, hash_only).json()
    assert missing["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"

    registered = _post(first, token, {**hash_only, "query": query}).json()
    assert registered["data"]["portfolios"]
    for url in (second, third):
        assert _post(url, token, hash_only).json()["data"] == registered["data"]


def test_an_idempotent_mutation_retried_on_another_replica_is_not_repeated(cluster: Cluster) -> None:
    mutation = (
        'mutation { placeOrder(input: {amountKg: 4, description: "scale-out retry", '
        'idempotencyKey: "retry-1"}) { order { upstreamId } replayed userErrors { code } } }'
    )
    first, second = (_post(g.url, TOKENS["ops"], {"query": mutation}).json() for g in cluster.gateways[:2])
    placed, again = first["data"]["placeOrder"], second["data"]["placeOrder"]
    assert (placed["replayed"], again["replayed"]) == (False, True)
    assert again["order"]["upstreamId"] == placed["order"]["upstreamId"]
    orders = [o for o in cluster.sandbox_orders() if o.get("description") == "scale-out retry"]
    assert len(orders) == 1


@dataclass
class _Outcome:
    started: float
    status: int | None


def test_killing_a_replica_under_load_fails_only_the_requests_it_held(cluster: Cluster) -> None:
    admin = httpx.Client(base_url=cluster.sandbox.url, timeout=10)
    # Slow upstream answers, so every replica holds requests when one is killed.
    admin.put(
        "/_sandbox/faults", json=[{"route": "GET /v1/portfolios", "latency_ms": 300}]
    ).raise_for_status()
    outcomes: list[_Outcome] = []
    stop = threading.Event()

    def worker() -> None:
        with httpx.Client(base_url=cluster.balancer, timeout=30) as http:
            headers = {"Authorization": f"Bearer {TOKENS['load']}"}
            while not stop.is_set():
                started = time.monotonic()
                try:
                    status: int | None = http.post(
                        "/graphql", json={"query": "query Load { portfolios { name } }"}, headers=headers
                    ).status_code
                except httpx.TransportError:
                    status = None
                outcomes.append(_Outcome(started, status))

    threads = [threading.Thread(target=worker) for _ in range(6)]
    try:
        for thread in threads:
            thread.start()
        time.sleep(1.5)
        cluster.gateways[2].stop(signal.SIGKILL)  # returns once the process is gone
        killed_at = time.monotonic()
        time.sleep(2.5)
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
        admin.delete("/_sandbox/faults")
        admin.close()

    failed = [o for o in outcomes if o.status != 200]
    after = [o for o in outcomes if o.started > killed_at]
    assert failed, "the killed replica held no request: the test did not test anything"
    assert all(o.started < killed_at for o in failed), [
        (o.started - killed_at, o.status) for o in failed
    ]  # only requests sent before the kill failed
    assert len(failed) <= len(threads)  # at most what was in flight
    assert len(after) >= len(threads) and all(o.status == 200 for o in after)
