"""A document's operation must be chosen, or nothing runs (the sandbox's request log proves it)."""

from __future__ import annotations

import pytest

from tests.gateway.e2e.conftest import GatewayServer, SandboxServer
from tests.gateway.e2e.schema_helpers import ok

pytestmark = pytest.mark.e2e

BUY_AND_LIST = (
    "mutation Buy { placeOrder(input: { amountKg: 25 }) { order { id } } }\n"
    "query Orders { orders(first: 10) { nodes { id } } }"
)
STRICT = {"accept": "application/graphql-response+json"}


@pytest.mark.parametrize("operation_name", [None, "Nope", "buy"])
def test_no_single_operation_chosen_is_a_request_error_and_nothing_runs(
    gateway: GatewayServer, sandbox: SandboxServer, operation_name: str | None
) -> None:
    result = gateway.gql(BUY_AND_LIST, headers=STRICT, operation_name=operation_name)
    assert result.status == 400, result.body
    assert result.media_type == "application/graphql-response+json"
    assert "data" not in result.body
    assert result.codes == ["BAD_REQUEST"]
    assert sandbox.request_log.entries == []


def test_under_application_json_the_same_error_is_a_200(
    gateway: GatewayServer, sandbox: SandboxServer
) -> None:
    result = gateway.gql(BUY_AND_LIST)
    assert (result.status, result.codes) == (200, ["BAD_REQUEST"])
    assert sandbox.request_log.count(route="POST /v1/orders") == 0


def test_a_named_operation_runs_only_that_one(gateway: GatewayServer, sandbox: SandboxServer) -> None:
    data = ok(gateway.gql(BUY_AND_LIST, headers=STRICT, operation_name="Orders"))
    assert data == {"orders": {"nodes": []}}
    assert sandbox.request_log.count(route="POST /v1/orders") == 0
    assert sandbox.request_log.count(route="GET /v1/orders") == 1


def test_one_anonymous_operation_needs_no_name(gateway: GatewayServer) -> None:
    assert ok(gateway.gql("{ orders(first: 1) { nodes { id } } }", headers=STRICT)) == {
        "orders": {"nodes": []}
    }


def test_over_get_too(gateway: GatewayServer, sandbox: SandboxServer) -> None:
    document = (
        "query A { orders(first: 1) { nodes { id } } } query B { subaccounts(first: 1) { nodes { id } } }"
    )
    response = gateway.http.get(
        "/graphql", params={"query": document}, headers={**STRICT, "apollo-require-preflight": "true"}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert sandbox.request_log.entries == []
