"""A page of orders fetches what it links to only when the operation selects it, through fragments too,
and a failed link still fails only its own field (the prefetch keeps the loaders' per-key errors)."""

from __future__ import annotations

import pytest

from tests.gateway.e2e.conftest import GatewayServer, SandboxServer

pytestmark = pytest.mark.e2e

PAGE = """
query Page($skip: Boolean!) {
  orders(first: 10) {
    edges { node { ...Links } }
  }
}
fragment Links on Order {
  upstreamId
  subaccount @skip(if: $skip) { name }
  projectAllocations { project { creditIssuances @skip(if: $skip) { vintageYear } } }
}
"""


def _seed(sandbox: SandboxServer, orders: int = 6, subaccounts: int = 3) -> None:
    http = sandbox.http
    ids = [http.post("/v1/subaccounts", json={"name": f"Links {n}"}).json()["id"] for n in range(subaccounts)]
    for n in range(orders):
        headers = {"X-Subaccount-Id": ids[n % subaccounts]}
        http.post("/v1/orders", json={"amount_kg": 5 + n}, headers=headers).raise_for_status()


def _calls(sandbox: SandboxServer, route: str) -> int:
    return int(sandbox.request_log.count(route=route))


def test_links_left_out_by_skip_are_not_fetched(sandbox: SandboxServer, gateway: GatewayServer) -> None:
    _seed(sandbox)
    sandbox.request_log.clear()
    result = gateway.gql(PAGE, {"skip": True})
    assert result.errors == []
    assert all("subaccount" not in e["node"] for e in result.data["orders"]["edges"])
    assert _calls(sandbox, "GET /v1/orders") == 1
    assert _calls(sandbox, "GET /v1/subaccounts/{id}") == 0
    assert _calls(sandbox, "GET /v1/projects/{id}") == 0


def test_links_selected_through_a_fragment_are_fetched_once_each(
    sandbox: SandboxServer, gateway: GatewayServer
) -> None:
    _seed(sandbox)
    sandbox.request_log.clear()
    result = gateway.gql(PAGE, {"skip": False})
    assert result.errors == []
    names = {e["node"]["subaccount"]["name"] for e in result.data["orders"]["edges"]}
    assert names == {"Links 0", "Links 1", "Links 2"}
    assert _calls(sandbox, "GET /v1/subaccounts/{id}") == 3
    projects = {
        a["project"]["creditIssuances"][0]["vintageYear"]
        for e in result.data["orders"]["edges"]
        for a in e["node"]["projectAllocations"]
    }
    assert projects  # every allocation's project answered with its issuances
    allocated = {
        a["project"]["id"]
        for o in sandbox.http.get("/v1/orders").json()["data"]
        for a in o["project_allocations"]
    }
    assert _calls(sandbox, "GET /v1/projects/{id}") == len(allocated)


def test_a_failed_link_fails_only_its_own_fields(sandbox: SandboxServer, gateway: GatewayServer) -> None:
    _seed(sandbox)
    sandbox.app.state.faults.set([{"route": "GET /v1/subaccounts/{id}", "status": 500}])
    result = gateway.gql(PAGE, {"skip": False})
    edges = result.data["orders"]["edges"]
    assert len(edges) == 6
    assert all(e["node"]["subaccount"] is None for e in edges)
    assert all(e["node"]["projectAllocations"] for e in edges)  # the rest of each order is there
    paths = sorted(tuple(error["path"]) for error in result.errors)
    assert paths == [("orders", "edges", n, "node", "subaccount") for n in range(6)]
    assert {error["extensions"]["code"] for error in result.errors} == {"UPSTREAM_ERROR"}
