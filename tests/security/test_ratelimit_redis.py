"""One cost budget shared by two gateway processes through one real Redis."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from tests.security.conftest import UPSTREAM_KEY, SecureSetup
from tests.servers import free_port, wait_healthy

QUERY = "{ orders(first: 50) { edges { node { subaccount { name } } } } }"  # cost 51


def _spawn(secure: SecureSetup, redis_url: str, port: int) -> subprocess.Popen[bytes]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")},
        "GATEWAY_UPSTREAM_URL": f"{secure.sandbox_url}/v1",
        "GATEWAY_UPSTREAM_API_KEY": UPSTREAM_KEY,
        "GATEWAY_CLIENTS_FILE": str(secure.clients_file),
        "GATEWAY_REDIS_URL": redis_url,
        "GATEWAY_RATE_LIMIT_COST": "120",
        "GATEWAY_RATE_LIMIT_WINDOW": "60",
    }
    command = [sys.executable, "-m", "uvicorn", "--factory", "gateway.app:create_app", "--port", str(port)]
    return subprocess.Popen(
        [*command, "--host", "127.0.0.1", "--log-level", "warning"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.fixture
def two_gateways(secure: SecureSetup, redis_url: str) -> Iterator[tuple[str, str]]:
    ports = [free_port(), free_port()]
    processes = [_spawn(secure, redis_url, port) for port in ports]
    try:
        urls = [f"http://127.0.0.1:{port}" for port in ports]
        for url, process in zip(urls, processes, strict=True):
            wait_healthy(url, process)
        yield urls[0], urls[1]
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=15)


def test_two_processes_share_one_budget(two_gateways: tuple[str, str], secure: SecureSetup) -> None:
    first, second = two_gateways
    auth = {"authorization": f"Bearer {secure.token('writer')}"}

    def post(url: str, headers: dict[str, str] = auth) -> httpx.Response:
        return httpx.post(f"{url}/graphql", json={"query": QUERY}, headers=headers, timeout=10)

    assert post(first).status_code == 200  # 51 of 120
    assert post(second).status_code == 200  # 102 of 120, spent on the other process
    for url in (first, second):
        refused = post(url)
        assert refused.status_code == 429, refused.text
        assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        assert 1 <= int(refused.headers["retry-after"]) <= 60
    other = {"authorization": f"Bearer {secure.token('reader')}"}
    assert post(second, other).status_code == 200  # budgets are per credential
