"""Every root field x every credential kind, over real HTTP: 401 without credentials, FORBIDDEN without the
scope, and never FORBIDDEN/UNAUTHENTICATED when the credential may use the field.

The operations come from a table keyed by root field, and the first test fails when the schema has a root
field that the table (or the scope rules) does not know - so a new field cannot ship without a rule.
"""

from __future__ import annotations

from typing import Any

import pytest

from gateway.auth.principal import ADMIN
from gateway.auth.scopes import BOUND_FORBIDDEN, has_rule, required_scope
from gateway.schema import build_schema
from tests.security.conftest import TOKENS, Gateway, SecureSetup, make_jwt

GID_ORDER = "Order:ord_missing"

OPERATIONS: dict[tuple[str, str], str] = {
    ("query", "order"): '{ order(id: "ord_missing") { id } }',
    ("query", "orders"): "{ orders(first: 2) { edges { node { id } } } }",
    ("query", "subaccount"): '{ subaccount(id: "sub_missing") { id } }',
    ("query", "subaccounts"): "{ subaccounts(first: 2) { edges { node { id } } } }",
    ("query", "portfolios"): "{ portfolios { id } }",
    ("query", "portfolio"): '{ portfolio(id: "port_missing") { id } }',
    ("query", "project"): '{ project(id: "proj_missing") { id } }',
    ("query", "projectCategory"): '{ projectCategory(id: "cat_missing") { id } }',
    ("query", "quote"): "{ quote(input: {mass: {amountKg: 10}}) { amountKg price { amount } } }",
    ("query", "impact"): "{ impact { totalOffsetKg } }",
    ("query", "hostedImpactPage"): "{ hostedImpactPage { enabled } }",
    ("query", "checkoutSession"): '{ checkoutSession(id: "cs_missing") { id } }',
    ("query", "node"): f'{{ node(id: "{GID_ORDER}") {{ id }} }}',
    ("query", "nodes"): "{ nodes(ids: []) { id } }",
    ("mutation", "placeOrder"): "mutation { placeOrder(input: {amountKg: 1}) { __typename } }",
    ("mutation", "placeRideOrder"): "mutation { placeRideOrder(input: {distanceKm: 1}) { __typename } }",
    ("mutation", "cancelOrder"): 'mutation { cancelOrder(input: {id: "ord_missing"}) { __typename } }',
    ("mutation", "createSubaccount"): 'mutation { createSubaccount(input: {name: "m"}) { __typename } }',
    ("mutation", "updateSubaccount"): (
        'mutation { updateSubaccount(input: {id: "sub_missing", name: "x"}) { __typename } }'
    ),
    (
        "mutation",
        "deleteSubaccount",
    ): 'mutation { deleteSubaccount(input: {id: "sub_missing"}) { __typename } }',
    ("mutation", "setSubaccountLogo"): (
        'mutation { setSubaccountLogo(input: {id: "sub_missing", logoUrl: "https://img.test/l.png"})'
        " { __typename } }"
    ),
    ("mutation", "removeSubaccountLogo"): (
        'mutation { removeSubaccountLogo(input: {id: "sub_missing"}) { __typename } }'
    ),
    ("mutation", "createCheckoutSession"): (
        "mutation { createCheckoutSession(input: {amountKg: 30, successUrl: "
        '"https://shop.test/ok", cancelUrl: "https://shop.test/no"}) { __typename } }'
    ),
    ("mutation", "recordProductOffsets"): (
        'mutation { recordProductOffsets(input: {productId: "p1", batches: []}) { __typename } }'
    ),
    ("mutation", "offsetProductBatch"): (
        'mutation { offsetProductBatch(input: {productId: "p1", batchNumber: "b1", orderIds: []})'
        " { __typename } }"
    ),
}

#: credential kind -> (token or None, scopes, bound)
KINDS: dict[str, tuple[str | None, frozenset[str], bool]] = {
    "none": (None, frozenset(), False),
    **{name: (token, frozenset(scopes), bound) for name, (token, scopes, bound) in TOKENS.items()},
}
JWT_KINDS = {
    "jwt_reader": ({"scope": "read"}, False),
    "jwt_bound_writer": ({"scope": "read orders:write subaccounts:write"}, True),
}


def _root_fields() -> set[tuple[str, str]]:
    schema = build_schema()._schema
    fields = {("query", name) for name in schema.query_type.fields}
    if schema.mutation_type is not None:
        fields |= {("mutation", name) for name in schema.mutation_type.fields}
    return fields


def test_every_root_field_has_a_rule_and_an_operation() -> None:
    fields = _root_fields()
    assert {f for f in fields if not has_rule(*f)} == set(), "root fields without a scope rule"
    assert fields - OPERATIONS.keys() == set(), "root fields missing from this test's OPERATIONS"
    assert OPERATIONS.keys() - fields == set(), "OPERATIONS names fields the schema no longer has"


def _allowed(field: tuple[str, str], scopes: frozenset[str], bound: bool) -> bool:
    scope = required_scope(*field)
    held = scope in scopes or ADMIN in scopes
    return held and not (bound and field in BOUND_FORBIDDEN)


def _check(response: Any, field: tuple[str, str], scopes: frozenset[str], bound: bool) -> None:
    body = response.json()
    codes = [(e.get("extensions") or {}).get("code") for e in body.get("errors") or ()]
    assert response.status_code < 500, body
    if _allowed(field, scopes, bound):
        assert response.status_code == 200, body
        assert "FORBIDDEN" not in codes and "UNAUTHENTICATED" not in codes, body
    else:
        assert codes == ["FORBIDDEN"], body
        assert body.get("data") is None


@pytest.mark.parametrize("field", sorted(OPERATIONS), ids="{0[0]}.{0[1]}".format)
def test_matrix(gateway: Gateway, secure: SecureSetup, field: tuple[str, str]) -> None:
    query = OPERATIONS[field]
    for kind, (token, scopes, bound) in KINDS.items():
        response = gateway.post(query, token=token)
        if token is None:
            assert response.status_code == 401, kind
            assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
            assert response.headers["www-authenticate"].startswith("Bearer")
            continue
        _check(response, field, scopes, bound)
    for claims, bound in JWT_KINDS.values():
        token = make_jwt({**claims, **({"subaccount_id": secure.sub_a} if bound else {})})
        _check(gateway.post(query, token=token), field, frozenset(claims["scope"].split()), bound)
