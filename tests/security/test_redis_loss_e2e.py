"""Redis lost, frozen and back: the gateway keeps serving, says so once, and shares state again by itself.

A real redis-server is stopped, restarted on the same port, then frozen with SIGSTOP and thawed, under a
gateway started by its own CLI; its log is read from the process's output.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from tests.processes import GatewayProcess, RedisServer
from tests.security.conftest import UPSTREAM_KEY, SecureSetup

QUERY = "{ portfolios { id name } }"
DIGEST = hashlib.sha256(QUERY.encode()).hexdigest()
HASH_ONLY = {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": DIGEST}}}
WITH_DOCUMENT = {"query": QUERY, **HASH_ONLY}


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def gateway(secure: SecureSetup, redis_server: RedisServer, tmp_path: Path) -> Iterator[GatewayProcess]:
    env = {
        "GATEWAY_UPSTREAM_URL": f"{secure.sandbox_url}/v1",
        "GATEWAY_UPSTREAM_API_KEY": UPSTREAM_KEY,
        "GATEWAY_CLIENTS_FILE": str(secure.clients_file),
        "GATEWAY_REDIS_URL": redis_server.url,
    }
    process = GatewayProcess(env, tmp_path / "gateway.log")
    try:
        yield process.wait_healthy()
    finally:
        process.stop()


class Client:
    def __init__(self, url: str, token: str) -> None:
        # A short timeout: a request held by a dead Redis (5 s before the fix) fails the test.
        self.http = httpx.Client(base_url=url, timeout=3, headers={"authorization": f"Bearer {token}"})

    def post(self, body: dict[str, Any]) -> httpx.Response:
        return self.http.post("/graphql", json=body)

    def redis_state(self) -> tuple[int, dict[str, Any]]:
        response = self.http.get("/readyz")
        return response.status_code, response.json()


def _assert_served(response: httpx.Response, redis_server: RedisServer) -> None:
    assert response.status_code == 200, response.text
    assert response.json()["data"]["portfolios"], response.text
    assert str(redis_server.port) not in response.text


def _assert_not_found(response: httpx.Response) -> None:
    assert response.status_code == 200, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


def _wait_for_redis(client: Client, state: str) -> None:
    deadline = time.monotonic() + 10
    while client.redis_state()[1].get("redis") != state:
        assert time.monotonic() < deadline, f"readyz never reported redis {state}"
        time.sleep(0.1)


def _check_degraded(client: Client, redis_server: RedisServer) -> None:
    for _ in range(15):
        _assert_served(client.post({"query": QUERY}), redis_server)
    _assert_not_found(client.post(HASH_ONLY))
    _assert_served(client.post(WITH_DOCUMENT), redis_server)  # registration fails, the request does not
    assert client.redis_state() == (200, {"status": "degraded", "redis": "down"})


def _check_shared(client: Client, redis_server: RedisServer) -> None:
    _wait_for_redis(client, "up")
    _assert_served(client.post(WITH_DOCUMENT), redis_server)
    _assert_served(client.post(HASH_ONLY), redis_server)
    with redis.Redis(port=redis_server.port) as direct:
        assert direct.get(f"apq:{DIGEST}") == QUERY.encode()  # stored in the new server
        assert any(direct.scan_iter("*gateway-cost*"))  # budgets are charged in Redis again
    assert client.redis_state() == (200, {"status": "ready", "redis": "up"})


def test_redis_down_frozen_and_back(
    gateway: GatewayProcess, redis_server: RedisServer, secure: SecureSetup
) -> None:
    client = Client(gateway.url, secure.token("reader"))
    with client.http:
        _run(client, redis_server)
    log = gateway.log()
    assert log.count("redis unavailable") == 2, log
    assert log.count("redis available again") == 2, log
    for marker in ("Traceback", "Logging error", "GRAPHQL_VALIDATION_FAILED"):
        assert marker not in log, log


def _run(client: Client, redis_server: RedisServer) -> None:
    _check_shared(client, redis_server)

    redis_server.stop()
    _check_degraded(client, redis_server)
    redis_server.start()  # same port, empty
    _check_shared(client, redis_server)

    redis_server.freeze()
    _check_degraded(client, redis_server)
    redis_server.thaw()
    _check_shared(client, redis_server)
