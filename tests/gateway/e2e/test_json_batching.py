"""JSON-array batching over real HTTP: answers in order, independent operations, shared loaders, limits.

Upstream calls are counted in the sandbox's request log, never timed.
"""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
import pytest

from gateway.security.settings import SecuritySettings
from tests.gateway.e2e.conftest import GatewayServer, SandboxServer, StartGateway
from tests.gateway.e2e.schema_helpers import create_subaccount, fulfil, ok, place_order

pytestmark = pytest.mark.e2e

STRICT = {"accept": "application/graphql-response+json"}
ORDER = (
    "query($id: ID!) { order(id: $id)"
    " { id subaccount { id name } projectAllocations { project { id name } } } }"
)
BOTH = (
    "query($a: ID!, $b: ID!) {"
    " a: order(id: $a) { id subaccount { id name } projectAllocations { project { id name } } }"
    " b: order(id: $b) { id subaccount { id name } projectAllocations { project { id name } } } }"
)


def batch(gateway: GatewayServer, operations: list[dict[str, Any]], **headers: str) -> httpx.Response:
    return gateway.http.post("/graphql", json=operations, headers={**STRICT, **headers})


def routes(sandbox: SandboxServer) -> list[str]:
    return sorted(entry.route for entry in sandbox.request_log.entries)


@pytest.fixture
def uncached(start_gateway: StartGateway) -> GatewayServer:
    """A gateway without the cross-request catalogue cache, so every request's upstream calls show."""
    return start_gateway(catalogue_cache_ttl=0)


def two_orders(gateway: GatewayServer, sandbox: SandboxServer) -> tuple[str, str]:
    """Two fulfilled orders of one subaccount, allocated over the same sandbox projects."""
    sub = create_subaccount(gateway, "North")["upstreamId"]
    orders = [place_order(gateway, 10 + n, subaccount=sub)["upstreamId"] for n in range(2)]
    for order in orders:
        fulfil(sandbox, order)
    sandbox.request_log.clear()
    return orders[0], orders[1]


def test_a_batch_shares_loaders_and_costs_no_more_than_one_query(
    uncached: GatewayServer, sandbox: SandboxServer
) -> None:
    first, second = two_orders(uncached, sandbox)
    one_query = ok(uncached.gql(BOTH, {"a": first, "b": second}))
    single = routes(sandbox)
    sandbox.request_log.clear()
    response = batch(uncached, [{"query": ORDER, "variables": {"id": o}} for o in (first, second)])
    assert response.status_code == 200
    answers = response.json()
    assert [answer["data"]["order"] for answer in answers] == [one_query["a"], one_query["b"]]
    assert routes(sandbox) == single
    # Sent as two requests, the subaccount and every project are fetched twice: the batch shared them.
    sandbox.request_log.clear()
    for order in (first, second):
        ok(uncached.gql(ORDER, {"id": order}))
    assert len(sandbox.request_log.entries) > len(single)
    assert sandbox.request_log.count(route="GET /v1/subaccounts/{id}") == 2


def test_operations_are_answered_in_order_and_independently(
    gateway: GatewayServer, sandbox: SandboxServer
) -> None:
    response = batch(
        gateway,
        [
            {"query": "{ portfolios { id } }"},
            {"query": "{ nope }"},
            {"query": "query A { portfolios { id } } query B { orders(first: 1) { nodes { id } } }"},
            {
                "query": "query A { portfolios { id } } query B { orders(first: 1) { nodes { id } } }",
                "operationName": "B",
            },
            {"query": "query($n: Int!) { orders(first: $n) { nodes { id } } }", "variables": {"n": "x"}},
            {"query": "{ portfolios { id "},
            {},
        ],
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/graphql-response+json")
    answers = response.json()
    assert len(answers) == 7
    assert answers[0]["data"]["portfolios"] and "errors" not in answers[0]
    codes = [[e["extensions"]["code"] for e in a.get("errors", [])] for a in answers]
    assert codes == [
        [],
        ["GRAPHQL_VALIDATION_FAILED"],
        ["BAD_REQUEST"],
        [],
        ["BAD_USER_INPUT"],
        ["GRAPHQL_PARSE_FAILED"],
        ["BAD_REQUEST"],
    ]
    assert answers[3]["data"] == {"orders": {"nodes": []}}
    assert all("data" not in answers[i] for i in (1, 2, 4, 5, 6))


def test_mutations_run_one_at_a_time_in_order_and_later_queries_see_them(
    gateway: GatewayServer, sandbox: SandboxServer
) -> None:
    place = (
        "mutation($kg: Float!) { placeOrder(input: { amountKg: $kg }) { order { id upstreamId amountKg } } }"
    )
    response = batch(
        gateway,
        [
            {"query": "{ orders(first: 10) { nodes { id } } }"},
            *({"query": place, "variables": {"kg": kg}} for kg in (1, 2, 3)),
            {"query": "{ orders(first: 10) { nodes { upstreamId amountKg } } }"},
        ],
    )
    answers = response.json()
    assert answers[0]["data"] == {"orders": {"nodes": []}}
    placed = [a["data"]["placeOrder"]["order"] for a in answers[1:4]]
    assert [order["amountKg"] for order in placed] == [1, 2, 3]
    # Newest first: the last mutation's order comes first, so they ran in the order written.
    listed = answers[4]["data"]["orders"]["nodes"]
    assert [o["upstreamId"] for o in listed] == [o["upstreamId"] for o in reversed(placed)]
    posts = [e for e in sandbox.request_log.entries if e.route == "POST /v1/orders"]
    assert len(posts) == 3


def test_size_limit_and_switch(start_gateway: StartGateway, sandbox: SandboxServer) -> None:
    default = start_gateway()
    eleven = [{"query": "{ portfolios { id } }"}] * 11
    response = batch(default, eleven)
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert "at most 10" in response.json()["errors"][0]["message"]
    assert batch(default, eleven[:10]).status_code == 200
    sandbox.request_log.clear()
    off = start_gateway(max_batch_size=0)
    refused = batch(off, eleven[:2])
    assert refused.status_code == 400 and "batching is off" in refused.json()["errors"][0]["message"]
    for bad in ([], [1, 2], ["{ portfolios { id } }"]):
        assert batch(default, bad).status_code == 400  # type: ignore[arg-type]
    assert sandbox.request_log.entries == []


def test_the_whole_batch_counts_against_the_cost_maximum(
    start_gateway: StartGateway, sandbox: SandboxServer
) -> None:
    gateway = start_gateway(security=SecuritySettings(allow_unauthenticated=True, max_cost=25))
    query = {"query": "{ orders(first: 10) { nodes { subaccount { name } } } }"}
    assert gateway.gql(query["query"]).body["extensions"]["cost"]["requested"] == 11  # 1 + 10 x 1
    sandbox.request_log.clear()
    answers = batch(gateway, [query] * 3).json()
    codes = [[e["extensions"]["code"] for e in a.get("errors", [])] for a in answers]
    assert sorted(codes) == [[], [], ["MAX_COST_EXCEEDED"]]  # 11 + 11 fit in 25, a third does not
    assert sandbox.request_log.count(route="GET /v1/orders") == 2


def test_the_whole_batch_counts_against_the_rate_limit(
    start_gateway: StartGateway, sandbox: SandboxServer
) -> None:
    # Each operation: 1 point on arrival + its cost of 1 = 2 points; a budget of 5 admits two of three.
    gateway = start_gateway(
        security=SecuritySettings(allow_unauthenticated=True, rate_limit_cost=5, rate_limit_window=60)
    )
    response = batch(gateway, [{"query": "{ portfolios { id } }"}] * 3)
    assert response.status_code == 200
    codes = [[e["extensions"]["code"] for e in a.get("errors", [])] for a in response.json()]
    assert sorted(codes) == [[], [], ["RATE_LIMITED"]]
    assert sandbox.request_log.count(route="GET /v1/portfolios") <= 2


def test_persisted_queries_resolve_per_operation(gateway: GatewayServer) -> None:
    query = "{ portfolios { id } }"
    digest = hashlib.sha256(query.encode()).hexdigest()
    persisted = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
    first = batch(
        gateway,
        [{"query": query, "extensions": persisted}, {"query": "{ orders(first: 1) { nodes { id } } }"}],
    )
    assert first.status_code == 200 and first.json()[0]["data"]["portfolios"]
    again = batch(gateway, [{"extensions": persisted}, {"extensions": persisted}])
    assert [a["data"] for a in again.json()] == [first.json()[0]["data"]] * 2
