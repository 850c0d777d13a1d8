"""Upstream failures as clients see them: stable codes, userErrors where expected, no URLs or keys."""

from __future__ import annotations

import json

import pytest

from tests.gateway.e2e.conftest import GATEWAY_KEY, GatewayServer, GraphQLResult, SandboxServer, StartGateway
from tests.gateway.e2e.schema_helpers import create_subaccount, ok
from tests.servers import free_port

pytestmark = pytest.mark.e2e


def assert_leaks_nothing(result: GraphQLResult, sandbox_url: str | None = None) -> None:
    text = json.dumps(result.body)
    assert GATEWAY_KEY not in text
    assert "Traceback" not in text and 'File "' not in text
    assert "127.0.0.1" not in text
    if sandbox_url:
        assert sandbox_url not in text


def test_unknown_ids_are_null_with_not_found(gateway: GatewayServer) -> None:
    result = gateway.gql(
        '{ order(id: "nope") { id } subaccount(id: "nope") { id } project(id: "nope") { id } }'
    )
    assert result.data == {"order": None, "subaccount": None, "project": None}
    assert result.codes == ["NOT_FOUND"] * 3
    assert {tuple(e["path"]) for e in result.errors} == {("order",), ("subaccount",), ("project",)}
    assert_leaks_nothing(result)


def test_upstream_server_errors_after_retries_are_upstream_error(
    gateway: GatewayServer, sandbox: SandboxServer
) -> None:
    sandbox.app.state.faults.set([{"route": "GET /v1/portfolios", "status": 500}])
    result = gateway.gql('{ portfolios { name } project(id: "I0UbDH") { name } }')
    assert result.data == {"portfolios": None, "project": {"name": "Sandbox Project A"}}
    assert result.codes == ["UPSTREAM_ERROR"]
    assert sandbox.request_log.count(route="GET /v1/portfolios") > 1  # reads are retried
    assert_leaks_nothing(result, sandbox.url)


def test_rate_limits_surface_with_their_code(gateway: GatewayServer, sandbox: SandboxServer) -> None:
    sandbox.app.state.faults.set([{"route": "GET /v1/orders", "status": 429, "retry_after": 0}])
    result = gateway.gql("{ orders(first: 5) { nodes { id } } }")
    assert result.codes == ["RATE_LIMITED"]
    assert result.data == {"orders": None}


def test_dropped_connections_are_upstream_unavailable(gateway: GatewayServer, sandbox: SandboxServer) -> None:
    sandbox.app.state.faults.set([{"route": "GET /v1/subaccounts", "drop_connection": True}])
    result = gateway.gql("{ subaccounts(first: 5) { nodes { id } } }")
    assert result.codes == ["UPSTREAM_UNAVAILABLE"]
    assert_leaks_nothing(result, sandbox.url)


def test_an_unreachable_upstream_is_upstream_unavailable(start_gateway: StartGateway) -> None:
    dead = f"http://127.0.0.1:{free_port()}/v1"
    gateway = start_gateway(upstream_url=dead)
    result = gateway.gql('{ portfolio(id: "oH5hlq") { name } }')
    assert result.codes == ["UPSTREAM_UNAVAILABLE"]
    assert result.errors[0]["message"] == "The offsets API could not be reached."
    assert_leaks_nothing(result, dead)


def test_a_rejected_gateway_key_is_an_upstream_error_not_the_callers(
    start_sandbox, start_gateway: StartGateway
) -> None:  # type: ignore[no-untyped-def]
    strict = start_sandbox(api_keys=["sk_only_this_one"])
    gateway = start_gateway(sandbox=strict)
    result = gateway.gql("{ portfolios { name } }")
    # The caller's credential was fine: the gateway's own key is the operator's to fix.
    assert result.status == 200
    assert result.codes == ["UPSTREAM_ERROR"]
    assert result.errors[0]["extensions"]["upstreamStatus"] == 401
    assert "www-authenticate" not in result.headers
    assert_leaks_nothing(result, strict.url)


def test_unknown_subaccount_header_is_bad_user_input(gateway: GatewayServer) -> None:
    result = gateway.gql('{ orders(first: 3, subaccountId: "nosuchsub") { nodes { id } } }')
    assert result.codes == ["BAD_USER_INPUT"]
    assert result.errors[0]["extensions"]["upstreamStatus"] == 400


def test_forbidden_subaccounts_in_queries_and_mutations(start_sandbox, start_gateway: StartGateway) -> None:  # type: ignore[no-untyped-def]
    gateway = start_gateway(sandbox=start_sandbox(subaccounts_enabled=False))
    query = gateway.gql("{ subaccounts(first: 3) { nodes { id } } }")
    assert query.codes == ["FORBIDDEN"]
    assert "Contact support" in query.errors[0]["message"]
    payload = ok(
        gateway.gql(
            'mutation { createSubaccount(input: {name: "x"}) { subaccount { id } userErrors { code } } }'
        )
    )["createSubaccount"]
    assert payload == {"subaccount": None, "userErrors": [{"code": "FORBIDDEN"}]}


def test_unexpected_mutation_failures_are_errors_with_the_idempotency_key(
    gateway: GatewayServer, sandbox: SandboxServer
) -> None:
    sandbox.app.state.faults.set([{"route": "POST /v1/orders", "status": 503}])
    result = gateway.gql(
        'mutation { placeOrder(input: {amountKg: 1, idempotencyKey: "retry-me"}) { order { id } } }'
    )
    assert result.codes == ["UPSTREAM_ERROR"]
    assert result.errors[0]["extensions"]["idempotencyKey"] == "retry-me"
    sandbox.app.state.faults.clear()
    retried = ok(
        gateway.gql(
            'mutation { placeOrder(input: {amountKg: 1, idempotencyKey: "retry-me"})'
            " { order { id } userErrors { code } } }"
        )
    )
    assert retried["placeOrder"]["userErrors"] == []


def test_global_id_of_the_wrong_type_is_bad_user_input(gateway: GatewayServer) -> None:
    sub = create_subaccount(gateway, "Typed")
    result = gateway.gql("query($id: ID!) { order(id: $id) { id } }", {"id": sub["id"]})
    assert result.codes == ["BAD_USER_INPUT"]
    assert "Subaccount" in result.errors[0]["message"]
