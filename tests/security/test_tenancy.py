"""A credential bound to a subaccount sees only that subaccount, over real HTTP against the sandbox."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.ids import to_global_id
from tests.security.conftest import Gateway, SecureSetup

ORDER = "query($id: ID!) { order(id: $id) { id subaccount { id } } }"
PLACE = (
    "mutation($s: ID) { placeOrder(input: {amountKg: 2, subaccountId: $s}) "
    "{ order { upstreamId } userErrors { code } } }"
)


def body(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    result.pop("extensions", None)  # cost numbers may differ; the data and errors must not
    return result


@pytest.fixture(scope="module")
def orders(gateway: Gateway, secure: SecureSetup) -> dict[str, str]:
    """One order in each subaccount, placed by the admin."""
    placed = {}
    for name, sub in (("a", secure.sub_a), ("b", secure.sub_b)):
        data = body(gateway.post(PLACE, {"s": sub}, token=secure.token("admin")))["data"]
        placed[name] = data["placeOrder"]["order"]["upstreamId"]
    return placed


def _strip_ids(result: dict[str, Any], *ids: str) -> str:
    text = str(result)
    for value in ids:
        text = text.replace(value, "<id>")
    return text


def test_other_tenants_order_looks_like_a_missing_one(
    gateway: Gateway, secure: SecureSetup, orders: dict[str, str]
) -> None:
    token = secure.token("bound_reader")
    own = body(gateway.post(ORDER, {"id": orders["a"]}, token=token))
    assert own["data"]["order"]["subaccount"]["id"] == to_global_id("Subaccount", secure.sub_a)
    other = body(gateway.post(ORDER, {"id": orders["b"]}, token=token))
    missing = body(gateway.post(ORDER, {"id": "ord_doesnotexist"}, token=token))
    assert other["data"] == {"order": None} or other["data"] is None
    assert _strip_ids(other, orders["b"]) == _strip_ids(missing, "ord_doesnotexist")


def test_other_subaccount_by_id_or_argument_looks_missing(gateway: Gateway, secure: SecureSetup) -> None:
    token = secure.token("bound_reader")
    for query, other, missing in [
        ("query($id: ID!) { subaccount(id: $id) { name } }", secure.sub_b, "sub_doesnotexist"),
        (
            "query($id: ID!) { node(id: $id) { id } }",
            to_global_id("Subaccount", secure.sub_b),
            to_global_id("Subaccount", "sub_doesnotexist"),
        ),
        ("query($id: ID) { impact(subaccountId: $id) { totalOffsetKg } }", secure.sub_b, "sub_doesnotexist"),
        (
            "query($id: ID) { orders(first: 5, subaccountId: $id) { edges { node { id } } } }",
            secure.sub_b,
            "sub_doesnotexist",
        ),
    ]:
        seen = body(gateway.post(query, {"id": other}, token=token))
        assert _strip_ids(seen, other) == _strip_ids(
            body(gateway.post(query, {"id": missing}, token=token)), missing
        )
        assert seen.get("data") in (None, {"subaccount": None}, {"node": None})
    own = body(
        gateway.post("query($id: ID!) { subaccount(id: $id) { name } }", {"id": secure.sub_a}, token=token)
    )
    assert own["data"] == {"subaccount": {"name": "Tenant A"}}


def test_lists_show_only_the_bound_subaccount(
    gateway: Gateway, secure: SecureSetup, orders: dict[str, str]
) -> None:
    token = secure.token("bound_reader")
    listed = body(gateway.post("{ orders(first: 50) { edges { node { upstreamId } } } }", token=token))
    ids = {edge["node"]["upstreamId"] for edge in listed["data"]["orders"]["edges"]}
    assert orders["a"] in ids and orders["b"] not in ids
    subs = body(gateway.post("{ subaccounts(first: 50) { edges { node { upstreamId } } } }", token=token))
    assert [e["node"]["upstreamId"] for e in subs["data"]["subaccounts"]["edges"]] == [secure.sub_a]
    admin = body(
        gateway.post(
            "{ subaccounts(first: 50) { edges { node { upstreamId } } } }", token=secure.token("admin")
        )
    )
    assert {secure.sub_a, secure.sub_b} <= {
        e["node"]["upstreamId"] for e in admin["data"]["subaccounts"]["edges"]
    }


def test_every_upstream_call_carries_the_bound_subaccount(gateway: Gateway, secure: SecureSetup) -> None:
    secure.request_log.clear()
    token = secure.token("bound_writer")
    query = (
        "{ orders(first: 3) { edges { node { id } } } impact { totalOffsetKg } hostedImpactPage { enabled } "
        "quote(input: {mass: {amountKg: 5}}) { amountKg } }"
    )
    assert "errors" not in body(gateway.post(query, token=token))
    placed = body(gateway.post(PLACE, {"s": None}, token=token))
    assert placed["data"]["placeOrder"]["userErrors"] == []
    scoped = [
        e for e in secure.request_log.entries if not e.path.startswith(("/v1/subaccounts", "/v1/portfolios"))
    ]
    assert len(scoped) >= 5
    assert {e.headers.get("x-subaccount-id") for e in scoped} == {secure.sub_a}


def test_bound_credential_cannot_create_subaccounts_or_place_for_others(
    gateway: Gateway, secure: SecureSetup
) -> None:
    token = secure.token("bound_writer")
    secure.request_log.clear()
    created = gateway.post(
        'mutation { createSubaccount(input: {name: "x"}) { __typename } }', token=token
    ).json()
    assert [e["extensions"]["code"] for e in created["errors"]] == ["FORBIDDEN"]
    other = body(gateway.post(PLACE, {"s": secure.sub_b}, token=token))
    assert [e["extensions"]["code"] for e in other["errors"]] == ["NOT_FOUND"]
    assert secure.request_log.count(method="POST") == 0


CHECKOUT = (
    'mutation($s: ID) { createCheckoutSession(input: {amountKg: 30, successUrl: "https://shop.test/ok", '
    'cancelUrl: "https://shop.test/no", subaccountId: $s}) '
    "{ checkoutSession { upstreamId } userErrors { code } } }"
)


def test_other_tenants_checkout_session_looks_missing(gateway: Gateway, secure: SecureSetup) -> None:
    # GET /checkout/sessions/{id} is not scoped upstream, so the gateway checks the session's subaccount.
    sessions = {}
    for name, sub in (("a", secure.sub_a), ("b", secure.sub_b)):
        created = body(gateway.post(CHECKOUT, {"s": sub}, token=secure.token("admin")))["data"]
        sessions[name] = created["createCheckoutSession"]["checkoutSession"]["upstreamId"]
    query = "query($id: ID!) { checkoutSession(id: $id) { upstreamId } }"
    token = secure.token("bound_reader")
    own = body(gateway.post(query, {"id": sessions["a"]}, token=token))
    assert own["data"] == {"checkoutSession": {"upstreamId": sessions["a"]}}
    other = body(gateway.post(query, {"id": sessions["b"]}, token=token))
    missing = body(gateway.post(query, {"id": "cs_doesnotexist"}, token=token))
    assert other.get("data") in (None, {"checkoutSession": None})
    assert _strip_ids(other, sessions["b"]) == _strip_ids(missing, "cs_doesnotexist")
    admin = body(gateway.post(query, {"id": sessions["b"]}, token=secure.token("admin")))
    assert admin["data"] == {"checkoutSession": {"upstreamId": sessions["b"]}}
