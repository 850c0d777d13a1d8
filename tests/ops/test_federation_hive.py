"""The gateway as a subgraph behind a real router: composed with a second (CRM) subgraph by The Guild's
federation composition and served by Hive Gateway (npm packages pinned in tests/ops/federation), a query
spanning both subgraphs is answered, and the gateway's upstream calls stay batched."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
import strawberry
import strawberry.federation
from starlette.applications import Starlette
from starlette.routing import Route
from strawberry.asgi import GraphQL

from gateway.ids import to_global_id
from tests.ops.processes import start
from tests.servers import free_port, serve

pytestmark = pytest.mark.e2e

HERE = Path(__file__).resolve().parent / "federation"
HIVE = HERE / "node_modules" / ".bin" / "hive-gateway"


#: The CRM subgraph's data, set by the test: its key accounts (global Subaccount ids) and their tiers.
CRM: dict[str, Any] = {"accounts": [], "tiers": {}}


@strawberry.federation.type(keys=["id"])
class Subaccount:
    """The gateway's Subaccount, extended by the CRM with a tier."""

    id: strawberry.ID

    @strawberry.field
    def crm_tier(self) -> str:
        return str(CRM["tiers"].get(str(self.id), "standard"))

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> Subaccount:
        return cls(id=id)


@strawberry.type
class Query:
    @strawberry.field
    def key_accounts(self) -> list[Subaccount]:
        return [Subaccount(id=strawberry.ID(account)) for account in CRM["accounts"]]


def crm_app() -> Starlette:
    """A small CRM subgraph (strawberry's federation support, not the gateway's code)."""
    schema = strawberry.federation.Schema(query=Query, federation_version="2.5")
    return Starlette(routes=[Route("/graphql", GraphQL(schema))])


def _sdl(url: str) -> str:
    response = httpx.post(url, json={"query": "{ _service { sdl } }"}, timeout=30)
    return str(response.json()["data"]["_service"]["sdl"])


@pytest.mark.skipif(not HIVE.exists(), reason="scripts/test installs tests/ops/federation (npm ci)")
def test_hive_gateway_serves_a_query_spanning_the_gateway_and_a_crm_subgraph(
    start_gateway, sandbox, tmp_path: Path
) -> None:
    subs = []
    for name in ("Acme", "Globex", "Initech"):
        response = sandbox.http.post("/v1/subaccounts", json={"name": name})
        subs.append(response.json()["id"])
    accounts = [to_global_id("Subaccount", s) for s in [*subs, subs[0]]]  # one listed twice
    CRM.update(accounts=accounts, tiers={accounts[0]: "gold"})
    gateway = start_gateway(federation=True)

    with serve(crm_app()) as crm:
        services = [
            {"name": "offsets", "url": gateway.graphql_url, "sdl": _sdl(gateway.graphql_url)},
            {"name": "crm", "url": f"{crm}/graphql", "sdl": _sdl(f"{crm}/graphql")},
        ]
        (tmp_path / "services.json").write_text(json.dumps(services))
        node = shutil.which("node") or "node"
        subprocess.run(
            [
                node,
                str(HERE / "compose.mjs"),
                str(tmp_path / "services.json"),
                str(tmp_path / "supergraph.graphql"),
            ],
            check=True,
            timeout=120,
        )
        port = free_port()
        argv = [node, str(HIVE), "supergraph", str(tmp_path / "supergraph.graphql"), "--host", "127.0.0.1"]
        router = start("hive", [*argv, "--port", str(port)], port=port, tmp=tmp_path, probe="/healthcheck")
        try:
            sandbox.request_log.clear()
            query = "{ keyAccounts { id crmTier name upstreamId } }"
            response = httpx.post(f"{router.url}/graphql", json={"query": query}, timeout=60)
        finally:
            router.stop()

    body = response.json()
    assert "errors" not in body, body
    rows = body["data"]["keyAccounts"]
    assert [row["name"] for row in rows] == ["Acme", "Globex", "Initech", "Acme"]
    assert [row["crmTier"] for row in rows] == ["gold", "standard", "standard", "gold"]
    assert [row["upstreamId"] for row in rows] == [*subs, subs[0]]
    # The router sent the references to the gateway's _entities: one upstream call per distinct subaccount.
    assert sorted(r.path for r in sandbox.request_log.entries) == sorted(f"/v1/subaccounts/{s}" for s in subs)
