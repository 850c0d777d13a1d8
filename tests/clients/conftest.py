"""Fixtures of the client conformance suite: one real gateway per module and a runner for the Node clients.

- ``client_gateway`` -> `ClientGateway`: the gateway as ``offsets-gateway serve`` runs it with no settings
  (embedded sandbox, open auth, CSRF prevention and APQ on, the default limits), under uvicorn on loopback,
  except that orders are fulfilled at once. One per test module: the clients' scripts share its data.
- ``secured_gateway`` -> `ClientGateway`: the same with a clients file, so every caller needs
  ``Authorization: Bearer <gateway.token>`` (scopes read, orders:write, subaccounts:write), as deployed.
- ``seed_orders(gateway, count)`` places orders through the gateway; their global ids, oldest first.
- ``assert_paged_every_order(gateway, ids, at_least=n)``: a client's paging lost and repeated nothing.
- ``run_node(script, *args)`` runs ``tests/clients/js/<script>`` with Node and returns the JSON it printed:
  ``{check: {"ok": value} | {"error": message}}``; a script exits non-zero when any check failed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import secrets
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from gateway.app import create_app
from gateway.config import Settings
from gateway.security.settings import SecuritySettings
from tests.servers import serve

JS_DIR = Path(__file__).parent / "js"
REPO = Path(__file__).parents[2]

RunNode = Callable[..., dict[str, Any]]


@dataclass
class ClientGateway:
    """A gateway with its embedded sandbox, served by uvicorn."""

    url: str
    app: Starlette
    http: httpx.Client = field(repr=False)
    token: str | None = None
    """The bearer token callers need; None when the gateway is open (sandbox mode)."""

    @property
    def graphql_url(self) -> str:
        return f"{self.url}/graphql"

    def gql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """POST one operation as JSON; the decoded body."""
        response = self.http.post("/graphql", json={"query": query, "variables": variables or {}})
        body: dict[str, Any] = response.json()
        return body

    def order_ids(self) -> list[str]:
        """Every order's global id, newest first, in one plain page."""
        edges = self.gql("{ orders(first: 100) { edges { node { id } } } }")["data"]["orders"]["edges"]
        return [edge["node"]["id"] for edge in edges]


@contextlib.contextmanager
def _running(settings: Settings, token: str | None = None) -> Iterator[ClientGateway]:
    app = create_app(settings)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with serve(app) as url, httpx.Client(base_url=url, headers=headers, timeout=30) as http:
        yield ClientGateway(url, app, http, token)


@pytest.fixture(scope="module")
def client_gateway() -> Iterator[ClientGateway]:
    with _running(Settings(sandbox_fulfilment_delay=0)) as gateway:
        yield gateway


@pytest.fixture(scope="module")
def secured_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClientGateway]:
    with running_secured(tmp_path_factory) as gateway:
        yield gateway


@contextlib.contextmanager
def running_secured(
    tmp_path_factory: pytest.TempPathFactory, *, fulfilment_delay: float = 0
) -> Iterator[ClientGateway]:
    """A `secured_gateway`; with `fulfilment_delay`, orders stay PLACED that many seconds."""
    token = secrets.token_urlsafe(32)
    client = {
        "name": "conformance",
        "token_sha256": hashlib.sha256(token.encode()).hexdigest(),
        "scopes": ["read", "orders:write", "subaccounts:write"],
    }
    clients_file = tmp_path_factory.mktemp("clients") / "clients.json"
    clients_file.write_text(json.dumps({"clients": [client]}))
    security = SecuritySettings(clients_file=clients_file)
    settings = Settings(sandbox_fulfilment_delay=fulfilment_delay, security=security)
    with _running(settings, token) as gateway:
        yield gateway


PLACE_ORDER = """
mutation Seed($input: PlaceOrderInput!) {
  placeOrder(input: $input) { order { id } userErrors { code message } }
}
"""


def seed_orders(gateway: ClientGateway, count: int, *, prefix: str = "seed") -> list[str]:
    """Place `count` orders (1..count kg) and return their global ids, oldest first."""
    ids = []
    for n in range(1, count + 1):
        variables = {"input": {"amountKg": n, "description": f"{prefix} {n}"}}
        payload = gateway.gql(PLACE_ORDER, variables)["data"]["placeOrder"]
        assert payload["userErrors"] == [], payload
        ids.append(payload["order"]["id"])
    return ids


@pytest.fixture(scope="session")
def run_node() -> RunNode:
    node = shutil.which("node")
    assert node, "node is needed (scripts/test installs npm, which brings it)"
    assert (JS_DIR / "node_modules/@apollo/client").is_dir(), (
        "run: npm ci --prefix tests/clients/js (scripts/test does)"
    )

    def run(script: str, *args: str, timeout: float = 60) -> dict[str, Any]:
        command = [node, script, *args]
        run = subprocess.run(command, cwd=JS_DIR, capture_output=True, text=True, timeout=timeout)
        assert run.stdout, f"{script} printed nothing (exit {run.returncode}): {run.stderr}"
        results: dict[str, Any] = json.loads(run.stdout)
        failed = {name: r["error"] for name, r in results.items() if "error" in r}
        assert (run.returncode == 0) == (not failed), (run.returncode, failed, run.stderr)
        return results

    return run


def assert_paged_every_order(gateway: ClientGateway, paged: list[str], *, at_least: int) -> None:
    """`paged` (a client's merged pages) holds each order once, newest first, with none missing.

    Orders placed after the paging (by later checks) are newer, so `paged` is the tail of today's list.
    """
    expected = gateway.order_ids()
    assert len(paged) >= at_least and len(set(paged)) == len(paged)
    assert paged == expected[len(expected) - len(paged) :]


def ok(results: dict[str, Any], name: str) -> Any:
    """The value check `name` returned; fails with its error when it threw."""
    assert name in results, f"check {name} did not run: {sorted(results)}"
    assert "ok" in results[name], f"{name}: {results[name]['error']}"
    return results[name]["ok"]
