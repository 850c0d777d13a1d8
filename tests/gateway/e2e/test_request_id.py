"""Request correlation ids over real HTTP: echoed to the caller, forwarded upstream on every call."""

from __future__ import annotations

import re

from pydantic import SecretStr

from gateway.security.settings import SecuritySettings
from tests.gateway.e2e.conftest import GatewayServer, SandboxServer, StartGateway

# Two root fields: two upstream calls in one GraphQL request.
QUERY = "{ portfolios { id } orders(first: 1) { edges { node { id } } } }"
UNCACHED = "{ orders(first: 1) { edges { node { id } } } }"  # portfolios are cached across requests
GENERATED = re.compile(r"[0-9a-f]{32}")


def upstream_ids(sandbox: SandboxServer) -> list[str | None]:
    return [entry.headers.get("x-request-id") for entry in sandbox.request_log.entries]


def test_given_id_is_echoed_and_sent_on_every_upstream_call(
    gateway: GatewayServer, sandbox: SandboxServer
) -> None:
    result = gateway.gql(QUERY, headers={"X-Request-Id": "support-ticket-42"})
    assert not result.errors
    assert result.headers["x-request-id"] == "support-ticket-42"
    ids = upstream_ids(sandbox)
    assert len(ids) >= 2
    assert set(ids) == {"support-ticket-42"}


def test_missing_id_is_generated_and_is_the_one_upstream_saw(
    gateway: GatewayServer, sandbox: SandboxServer
) -> None:
    result = gateway.gql(QUERY)
    request_id = result.headers["x-request-id"]
    assert GENERATED.fullmatch(request_id)
    assert set(upstream_ids(sandbox)) == {request_id}
    # A new id per request, not one per process.
    sandbox.request_log.clear()
    second = gateway.gql(UNCACHED).headers["x-request-id"]
    assert second != request_id
    assert set(upstream_ids(sandbox)) == {second}


def test_insane_ids_are_replaced(gateway: GatewayServer, sandbox: SandboxServer) -> None:
    for insane in ("x" * 129, "bad\tid", "two words", ""):
        sandbox.request_log.clear()
        result = gateway.gql(UNCACHED, headers={"X-Request-Id": insane})
        request_id = result.headers["x-request-id"]
        assert GENERATED.fullmatch(request_id), insane
        assert set(upstream_ids(sandbox)) == {request_id}
    kept = "a" * 128  # the longest id kept as given
    assert gateway.gql(UNCACHED, headers={"X-Request-Id": kept}).headers["x-request-id"] == kept


def test_responses_of_the_auth_layer_carry_the_id(start_gateway: StartGateway) -> None:
    guarded = start_gateway(security=SecuritySettings(jwt_secret=SecretStr("s" * 32)))
    refused = guarded.gql(QUERY, headers={"X-Request-Id": "refused-1"})
    assert refused.status == 401
    assert refused.headers["x-request-id"] == "refused-1"
    assert GENERATED.fullmatch(guarded.http.get("/healthz").headers["x-request-id"])
