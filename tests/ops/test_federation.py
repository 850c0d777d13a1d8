"""Federation subgraph mode, over real HTTP: `_service { sdl }` with the entity keys, `_entities` resolved
through the loaders (batched and deduplicated, counted in the sandbox's request log), auth and tenancy as for
`node(id:)`, and the plain schema unchanged."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from gateway.ids import to_global_id
from gateway.security.settings import SecuritySettings

pytestmark = pytest.mark.e2e

ENTITIES = """
query Entities($representations: [_Any!]!) {
  _entities(representations: $representations) {
    __typename
    ... on Subaccount { upstreamId name }
    ... on Order { upstreamId amountKg }
    ... on Portfolio { upstreamId name }
  }
}
"""
KEYED = ("CheckoutSession", "Order", "Portfolio", "Project", "ProjectCategory", "Subaccount")


def _ref(type_name: str, upstream_id: str) -> dict[str, str]:
    return {"__typename": type_name, "id": to_global_id(type_name, upstream_id)}


def _create(sandbox, path: str, body: dict[str, Any]) -> str:  # type: ignore[no-untyped-def]
    response = sandbox.http.post(path, json=body)
    response.raise_for_status()
    return str(response.json()["id"])


def test_service_sdl_declares_the_entities_and_the_plain_schema_does_not(start_gateway) -> None:
    subgraph = start_gateway(federation=True)
    sdl = subgraph.gql("{ _service { sdl } }").data["_service"]["sdl"]
    assert 'specs.apollo.dev/federation/v2.5", import: ["@key"]' in sdl
    for type_name in KEYED:
        assert f'type {type_name} implements Node @key(fields: "id", resolvable: true) {{' in sdl
    plain = start_gateway()
    assert plain.gql("{ _service { sdl } }").codes == ["GRAPHQL_VALIDATION_FAILED"]
    assert "@key" not in plain.gql("{ __schema { types { name } } }").body.get("data", "")


def test_entities_are_resolved_through_the_loaders_in_one_batch(start_gateway, sandbox) -> None:
    subgraph = start_gateway(federation=True)
    subs = [_create(sandbox, "/v1/subaccounts", {"name": f"Customer {n}"}) for n in range(3)]
    orders = [_create(sandbox, "/v1/orders", {"amount_kg": 5 + n}) for n in range(2)]
    portfolio = sandbox.http.get("/v1/portfolios").json()["data"][0]["id"]
    sandbox.request_log.clear()
    representations = [
        *(_ref("Subaccount", s) for s in subs),
        _ref("Subaccount", subs[0]),  # the router may send the same key twice
        *(_ref("Order", o) for o in orders),
        _ref("Portfolio", portfolio),
        {"__typename": "Order", "id": to_global_id("Subaccount", subs[1])},  # id of another type
        _ref("Order", "ord_missing"),
    ]
    result = subgraph.gql(ENTITIES, {"representations": representations})

    entities = result.data["_entities"]
    assert [e and e["upstreamId"] for e in entities] == [*subs, subs[0], *orders, portfolio, None, None]
    assert [e["name"] for e in entities[:3]] == ["Customer 0", "Customer 1", "Customer 2"]
    assert [e["amountKg"] for e in entities[4:6]] == [5, 6]
    assert sorted((e["path"][1], e["extensions"]["code"]) for e in result.errors) == [
        (7, "BAD_USER_INPUT"),
        (8, "NOT_FOUND"),
    ]
    # One upstream call per distinct object, and nothing else (no list calls).
    assert sorted(r.route for r in sandbox.request_log.entries) == sorted(
        ["GET /v1/subaccounts/{id}"] * 3 + ["GET /v1/orders/{id}"] * 3 + ["GET /v1/portfolios/{id}"]
    )


def test_entities_keep_auth_scopes_and_tenant_binding(start_gateway, sandbox, tmp_path: Path) -> None:
    own, other = (_create(sandbox, "/v1/subaccounts", {"name": name}) for name in ("Own", "Other"))
    clients = [
        {
            "name": "bound-frontend",
            "token_sha256": hashlib.sha256(b"tok-bound-frontend-1234").hexdigest(),
            "scopes": ["read"],
            "subaccount_id": own,
        }
    ]
    path = tmp_path / "clients.json"
    path.write_text(json.dumps({"clients": clients}))
    subgraph = start_gateway(federation=True, security=SecuritySettings(clients_file=path))
    variables = {"representations": [_ref("Subaccount", own), _ref("Subaccount", other)]}

    anonymous = subgraph.gql(ENTITIES, variables)
    assert anonymous.status == 401 and anonymous.codes == ["UNAUTHENTICATED"]

    sandbox.request_log.clear()
    bound = subgraph.gql(ENTITIES, variables, headers={"Authorization": "Bearer tok-bound-frontend-1234"})
    assert bound.data["_entities"][0]["name"] == "Own"
    assert bound.data["_entities"][1] is None and bound.codes == ["NOT_FOUND"]
    # The other tenant's subaccount was never asked for upstream.
    assert [r.path for r in sandbox.request_log.entries] == [f"/v1/subaccounts/{own}"]
