"""Through a real gateway over a real sandbox: a document answered from a kept plan (`gateway.schema.plans`)
gets the same HTTP status, data, errors (messages, paths, locations, codes), `extensions.cost` and
upstream calls as graphql-core's own per-request execution and as the executor without plans.

Each case runs each of its variable sets with graphql-core's execution, with the gateway's executor
without plans, then three times in a row with plans (the first builds the plan, the others reuse it),
and requires all five exchanges to be equal; graphql-core's subfield collection is counted to show which
runs reused a plan.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import strawberry

from gateway.ids import to_global_id
from gateway.schema.errors import UpstreamErrorsExecutionContext
from gateway.schema.execution import FastFieldsExecutionContext, _Selection
from gateway.schema.plans import OperationPlans
from tests.gateway.e2e.conftest import GatewayServer, SandboxServer, StartGateway
from tests.gateway.unit.test_execution_plans import CollectCounter, fresh_plans

pytestmark = pytest.mark.e2e


class NoPlansExecutionContext(FastFieldsExecutionContext):
    plans = None


@dataclass
class Exchange:
    status: int
    body: dict[str, Any]
    upstream: Counter[str]  # sandbox routes called, e.g. {"GET /v1/orders/{id}": 1}


class Gateway:
    """The gateway under test, its schema's executor switchable between requests."""

    def __init__(self, server: GatewayServer, sandbox: SandboxServer) -> None:
        self.server, self.sandbox = server, sandbox
        route = next(r for r in server.app.routes if getattr(r, "path", None) == "/graphql")
        self.schema: strawberry.Schema = route.endpoint.schema  # type: ignore[attr-defined]

    def post(self, executor: type, body: dict[str, Any]) -> Exchange:
        self.schema.execution_context_class = executor
        try:
            self.sandbox.request_log.clear()
            response = self.server.http.post("/graphql", json=body)
            routes = Counter(r.route or "(unmatched)" for r in self.sandbox.request_log.entries)
        finally:
            self.schema.execution_context_class = FastFieldsExecutionContext
        return Exchange(response.status_code, _comparable(response.json()), routes)


def _comparable(body: dict[str, Any]) -> dict[str, Any]:
    """The body without the upstream's request id, which differs on every upstream call."""
    for error in body.get("errors") or ():
        (error.get("extensions") or {}).pop("upstreamRequestId", None)
    return body


@pytest.fixture
def plans(monkeypatch: pytest.MonkeyPatch) -> OperationPlans[_Selection]:
    return fresh_plans(monkeypatch)


@pytest.fixture
def seeded(sandbox: SandboxServer) -> dict[str, str]:
    http = sandbox.http
    subaccounts = [http.post("/v1/subaccounts", json={"name": f"Plans {n}"}).json()["id"] for n in range(2)]
    for n in range(4):
        headers = {"X-Subaccount-Id": subaccounts[n % 2]}
        http.post("/v1/orders", json={"amount_kg": 3 + n}, headers=headers).raise_for_status()
    order = http.get("/v1/orders", params={"limit": 1}).json()["data"][0]["id"]
    return {"order": order, "subaccount": subaccounts[0]}


@pytest.fixture
def gateway(start_gateway: StartGateway, sandbox: SandboxServer, plans: Any) -> Gateway:
    # No catalogue cache: a run must not find what an earlier one fetched, so upstream calls compare.
    return Gateway(start_gateway(catalogue_cache_ttl=0), sandbox)


def _differential(
    gateway: Gateway, counter: CollectCounter, body: dict[str, Any]
) -> tuple[Exchange, list[int]]:
    """The reference exchange, and graphql-core's subfield collections in each of the three plan runs."""
    reference = gateway.post(UpstreamErrorsExecutionContext, body)
    assert gateway.post(NoPlansExecutionContext, body) == reference
    collected = []
    for _ in range(3):
        before = counter.calls
        assert gateway.post(FastFieldsExecutionContext, body) == reference
        collected.append(counter.calls - before)
    return reference, collected


SHAPES = """
query Shapes($id: ID!) {
  __typename
  a: order(id: $id) {
    ...O
    upstreamId
    upstreamId
    ... on Order { state __typename }
    price { amount }
  }
  b: order(id: $id) { amountKg price { currencyCode } }
}
fragment O on Order {
  orderNumber
  price { amount currencyCode }
  projectAllocations { amountKg project { name } }
}
"""
NODES = """
query Nodes($ids: [ID!]!, $one: ID!) {
  nodes(ids: $ids) { __typename id ... on Order { amountKg ...P } ... on Subaccount { name } }
  node(id: $one) { id ... on Subaccount { name orders(first: 2) { nodes { upstreamId amountKg } } } }
}
fragment P on Order { subaccount { name } }
"""
ERRORS = """
query Errors($sub: ID!) {
  missing: order(id: "nope") { upstreamId }
  bad: node(id: "") { id }
  subaccount(id: $sub) { name orders(first: 2, after: "not-a-cursor") { nodes { upstreamId } } }
  orders(first: 3) { edges { node { upstreamId subaccount { name } } } }
}
"""
ORDER = (
    "query Order($id: ID!) { order(id: $id) { upstreamId orderNumber createdOn amountKg price { amount }"
    " state subaccountUpstreamId certificatePublicUrl } }"
)


@pytest.mark.parametrize("case", ["order", "shapes", "nodes", "errors"])
def test_a_static_document_answers_alike_from_its_plan(
    gateway: Gateway, seeded: dict[str, str], monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    order, subaccount = seeded["order"], seeded["subaccount"]
    body = {
        "order": {"query": ORDER, "variables": {"id": order}},
        "shapes": {"query": SHAPES, "variables": {"id": order}},
        "nodes": {
            "query": NODES,
            "variables": {
                "ids": [to_global_id("Order", order), to_global_id("Subaccount", subaccount), "Order:nope"],
                "one": to_global_id("Subaccount", subaccount),
            },
        },
        "errors": {"query": ERRORS, "variables": {"sub": subaccount}},
    }[case]
    reference, collected = _differential(gateway, CollectCounter(monkeypatch), body)
    assert reference.status == 200 and reference.body["data"] is not None
    assert set(reference.body["extensions"]["cost"]) == {"requested", "actual", "maximum"}
    assert sum(reference.upstream.values()) > 0
    paths = [error["path"] for error in reference.body.get("errors", ())]
    if case == "errors":
        assert ["subaccount", "orders"] in paths and ["missing"] in paths and ["bad"] in paths
    else:
        assert paths == ([["nodes", 2]] if case == "nodes" else [])  # `Order:nope` is not found
    assert collected[1:] == [0, 0]  # the second and third runs collected nothing: plan hits


DIRECTIVES = """
query Directives($id: ID!, $yes: Boolean!) {
  order(id: $id) {
    upstreamId
    amountKg @include(if: $yes)
    state @skip(if: $yes)
    ... on Order @include(if: $yes) { price { amount } }
    projectAllocations @skip(if: $yes) { amountKg }
  }
}
"""


def test_skip_and_include_on_variables_that_change_are_collected_per_request(
    gateway: Gateway, seeded: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    counter = CollectCounter(monkeypatch)
    answers, collections = [], []
    for yes in (True, False, True, False):
        body = {"query": DIRECTIVES, "variables": {"id": seeded["order"], "yes": yes}}
        reference, collected = _differential(gateway, counter, body)
        assert "errors" not in reference.body
        answers.append(reference.body["data"]["order"])
        collections += collected
    assert all(calls > 0 for calls in collections)  # no plan: each run collected for its request
    assert set(answers[0]) == {"upstreamId", "amountKg", "price"}
    assert set(answers[1]) == {"upstreamId", "state", "projectAllocations"}
    assert answers[2] == answers[0] and answers[3] == answers[1]


MUTATION = """
mutation Place($kg: Float!, $key: String!) {
  placed: placeOrder(input: {amountKg: $kg, idempotencyKey: $key}) {
    replayed
    order { upstreamId amountKg __typename }
    userErrors { code field message }
  }
  refused: placeOrder(input: {amountKg: -5}) { order { upstreamId } userErrors { code field message } }
  cancelled: cancelOrder(input: {id: "nope"}) { userErrors { code field message } }
}
"""


def test_a_mutation_answers_alike_from_its_plan(
    gateway: Gateway, seeded: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    body = {"query": MUTATION, "variables": {"kg": 2.0, "key": "plans-e2e-1"}}
    gateway.post(UpstreamErrorsExecutionContext, body)  # places the order: every run below replays it
    reference, collected = _differential(gateway, CollectCounter(monkeypatch), body)
    data = reference.body["data"]
    assert data["placed"]["replayed"] is True and data["placed"]["order"]["amountKg"] == 2.0
    assert data["refused"]["userErrors"] and data["cancelled"]["userErrors"]
    assert reference.upstream["POST /v1/orders"] >= 1
    assert collected[1:] == [0, 0]


BAD_VARIABLES = "query Page($first: Int!) { orders(first: $first) { nodes { upstreamId } } }"


@pytest.mark.parametrize("variables", [{"first": "many"}, {}, {"first": 2**40}])
def test_variables_that_fail_coercion_fail_alike(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch, variables: dict[str, Any]
) -> None:
    body = {"query": BAD_VARIABLES, "variables": variables}
    reference, _ = _differential(gateway, CollectCounter(monkeypatch), body)
    assert reference.body.get("data") is None and reference.body["errors"]
    assert sum(reference.upstream.values()) == 0
    # The same document with good variables then answers from a plan like any other.
    good = {"query": BAD_VARIABLES, "variables": {"first": 2}}
    assert _differential(gateway, CollectCounter(monkeypatch), good)[1][1:] == [0, 0]


async def test_concurrent_first_requests_of_a_document_answer_alike(
    gateway: Gateway, seeded: dict[str, str]
) -> None:
    body = {"query": SHAPES, "variables": {"id": seeded["order"]}}
    reference = gateway.post(UpstreamErrorsExecutionContext, body)
    async with httpx.AsyncClient(base_url=gateway.server.url, timeout=30) as http:
        responses = await asyncio.gather(*(http.post("/graphql", json=body) for _ in range(8)))
    assert [(r.status_code, _comparable(r.json())) for r in responses] == [
        (reference.status, reference.body)
    ] * 8
