"""N+1 freedom, proven by counting the requests the sandbox received for one GraphQL request."""

from __future__ import annotations

import pytest

from gateway.security.settings import SecuritySettings
from tests.gateway.e2e.conftest import GatewayServer, SandboxServer, StartGateway
from tests.gateway.e2e.schema_helpers import create_subaccount, fulfil, ok, place_order

pytestmark = pytest.mark.e2e

NESTED_ORDERS = (
    "{ orders(first: 50) { edges { node { subaccount { name } projectAllocations"
    " { project { creditIssuances { vintageYear } } } } } } }"
)


def seed_orders(gateway: GatewayServer, sandbox: SandboxServer) -> list[str]:
    """Six fulfilled orders over two subaccounts; the sandbox portfolio spreads each over 4 projects."""
    subs = [create_subaccount(gateway, name)["upstreamId"] for name in ("North", "South")]
    orders = [place_order(gateway, 10 + n, subaccount=subs[n % 2])["upstreamId"] for n in range(6)]
    for order in orders:
        fulfil(sandbox, order)
    sandbox.request_log.clear()
    return orders


def routes(sandbox: SandboxServer) -> list[str]:
    return sorted(entry.route for entry in sandbox.request_log.entries)


def test_nested_orders_cost_one_list_plus_one_per_distinct_subaccount_and_project(
    start_gateway: StartGateway, sandbox: SandboxServer
) -> None:
    # The example query; its static cost estimate exceeds the default operation cost limit.
    gateway = start_gateway(security=SecuritySettings(max_cost=100_000, allow_unauthenticated=True))
    seed_orders(gateway, sandbox)
    data = ok(gateway.gql(NESTED_ORDERS))
    nodes = [edge["node"] for edge in data["orders"]["edges"]]
    assert len(nodes) == 6
    assert {node["subaccount"]["name"] for node in nodes} == {"North", "South"}
    projects = {len(node["projectAllocations"]) for node in nodes}
    assert projects == {4}
    assert (
        routes(sandbox)
        == ["GET /v1/orders"] + ["GET /v1/projects/{id}"] * 4 + ["GET /v1/subaccounts/{id}"] * 2
    )
    assert len(sandbox.request_log.entries) == 1 + 2 + 4


def test_the_same_object_asked_for_twice_is_fetched_once(
    gateway: GatewayServer, sandbox: SandboxServer
) -> None:
    order = place_order(gateway, 3)
    sandbox.request_log.clear()
    ok(
        gateway.gql(
            "query($id: ID!, $global: ID!) { a: order(id: $id) { amountKg } b: order(id: $global) { state }"
            " c: node(id: $global) { id } }",
            {"id": order["upstreamId"], "global": order["id"]},
        )
    )
    # `node` takes the global id; the upstream id and the global id name the same loader key.
    assert sandbox.request_log.count(route="GET /v1/orders/{id}") == 1


def test_subaccounts_list_primes_the_subaccount_loader(
    gateway: GatewayServer, sandbox: SandboxServer
) -> None:
    seed_orders(gateway, sandbox)
    data = ok(
        gateway.gql(
            "{ subaccounts(first: 10) { nodes { name orders(first: 10)"
            " { nodes { subaccount { name } } } } } }"
        )
    )
    for sub in data["subaccounts"]["nodes"]:
        assert {o["subaccount"]["name"] for o in sub["orders"]["nodes"]} == {sub["name"]}
    # One subaccount list, one order list per subaccount, no GET /subaccounts/{id} at all.
    assert routes(sandbox) == ["GET /v1/orders", "GET /v1/orders", "GET /v1/subaccounts"]


def test_portfolio_details_feed_categories_and_their_projects(
    gateway: GatewayServer, sandbox: SandboxServer
) -> None:
    data = ok(
        gateway.gql(
            "{ portfolios { name categoryAllocations { category { upstreamId name projects { name } } } } }"
        )
    )
    assert len(data["portfolios"]) >= 2
    portfolios = len(data["portfolios"])
    assert routes(sandbox) == ["GET /v1/portfolios"] + ["GET /v1/portfolios/{id}"] * portfolios
    sandbox.request_log.clear()
    category = data["portfolios"][0]["categoryAllocations"][0]["category"]["upstreamId"]
    ok(gateway.gql("query($id: ID!) { projectCategory(id: $id) { name } }", {"id": category}))
    assert routes(sandbox) == []  # primed by the portfolio details, kept by the catalogue cache


def test_catalogue_is_cached_across_requests_only_with_a_ttl(
    start_gateway: StartGateway, sandbox: SandboxServer
) -> None:
    query = '{ portfolios { name } project(id: "I0UbDH") { creditIssuances { vintageYear } } }'
    cached = start_gateway(catalogue_cache_ttl=60)
    for _ in range(3):
        ok(cached.gql(query))
    assert routes(sandbox) == ["GET /v1/portfolios", "GET /v1/projects/{id}"]
    uncached = start_gateway(catalogue_cache_ttl=0)
    for _ in range(3):
        ok(uncached.gql(query))
    assert routes(sandbox) == ["GET /v1/portfolios"] * 3 + ["GET /v1/projects/{id}"] * 3


def test_cache_is_not_shared_between_upstream_keys_in_pass_through(
    start_gateway: StartGateway, sandbox: SandboxServer
) -> None:
    gateway = start_gateway(upstream_api_key=None, catalogue_cache_ttl=60)
    query = "{ portfolios { name } }"
    for key in ("sk_alice", "sk_bob", "sk_alice"):
        ok(gateway.gql(query, headers={"authorization": f"Bearer {key}"}))
    assert sandbox.request_log.count(route="GET /v1/portfolios") == 2
