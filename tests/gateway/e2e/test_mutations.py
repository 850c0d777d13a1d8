"""Every mutation end to end, with idempotency (replays, reused keys, a lost response) and userErrors."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from gql import GraphQLRequest
from gql.client import SyncClientSession

from gateway.ids import to_global_id
from gateway.schema import build_schema
from tests.gateway.e2e.conftest import GATEWAY_KEY, GatewayServer, SandboxServer
from tests.gateway.e2e.schema_helpers import create_subaccount, ok, place_order, upstream_count

pytestmark = pytest.mark.e2e

PLACE = (
    "mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { order { upstreamId amountKg"
    " price { amount currencyCode } state description metadata callbackUrl subaccount { name } }"
    " replayed idempotencyKey"
    " userErrors { code field message } } }"
)
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000")


def sandbox_order_ids(sandbox: SandboxServer) -> list[str]:
    response = httpx.get(f"{sandbox.v1}/orders", headers={"authorization": f"Bearer {GATEWAY_KEY}"})
    return [o["id"] for o in response.json()["data"]]


def place(gateway: GatewayServer, **input: Any) -> dict[str, Any]:
    payload: dict[str, Any] = ok(gateway.gql(PLACE, {"input": input}))["placeOrder"]
    return payload


def test_place_order_by_mass_with_every_option(gateway: GatewayServer) -> None:
    sub = create_subaccount(gateway, "Buyer")
    payload = place(
        gateway,
        amountKg=25,
        description="Flight to Lisbon",
        metadata="booking-7",
        callbackUrl="https://hooks.example.test/orders",
        portfolioId="oH5hlq",
        subaccountId=sub["id"],
    )
    assert payload["userErrors"] == [] and payload["replayed"] is False
    order = payload["order"]
    assert (order["amountKg"], order["price"], order["state"]) == (25, usd("0.50"), "PLACED")
    assert order["callbackUrl"] == "https://hooks.example.test/orders"
    assert order["subaccount"] == {"name": "Buyer"}
    assert len(payload["idempotencyKey"]) >= 32  # made by the gateway


def usd(amount: str) -> dict[str, str]:
    return {"amount": amount, "currencyCode": "USD"}


def test_place_order_by_budget(gateway: GatewayServer) -> None:
    order = place(gateway, totalPrice=usd("31.90"))["order"]
    assert (order["amountKg"], order["price"]) == (1595, usd("31.90"))


def test_an_order_of_three_billion_cents_resolves(gateway: GatewayServer) -> None:
    # 3,000,000,000 cents: past GraphQL's 32-bit Int, which money used to be.
    order = place(gateway, totalPrice=usd("30000000.00"))["order"]
    assert order["price"] == usd("30000000.00")
    query = "query($id: ID!) { order(id: $id) { price { amount } } }"
    read = ok(gateway.gql(query, {"id": order["upstreamId"]}))
    assert read["order"]["price"]["amount"] == "30000000.00"


@pytest.mark.parametrize(
    ("total", "field"),
    [
        ({"amount": "31.905", "currencyCode": "USD"}, ["input", "totalPrice", "amount"]),
        ({"amount": 10, "currencyCode": "EUR"}, ["input", "totalPrice", "currencyCode"]),
        ({"amount": "1" + "0" * 30, "currencyCode": "USD"}, ["input", "totalPrice", "amount"]),
    ],
)
def test_a_budget_must_be_whole_us_cents(
    gateway: GatewayServer, sandbox: SandboxServer, total: dict[str, Any], field: list[str]
) -> None:
    payload = place(gateway, totalPrice=total)
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [("INVALID_INPUT", field)]
    assert upstream_count(sandbox, "POST", "POST /v1/orders") == 0


@pytest.mark.parametrize("input", [{}, {"amountKg": 1, "totalPrice": usd("0.02")}])
def test_place_order_needs_exactly_one_amount(
    gateway: GatewayServer, sandbox: SandboxServer, input: dict[str, Any]
) -> None:
    payload = place(gateway, **input)
    assert payload["order"] is None
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [("INVALID_INPUT", ["input"])]
    assert upstream_count(sandbox, "POST", "POST /v1/orders") == 0


def test_upstream_validation_maps_to_the_input_field(gateway: GatewayServer) -> None:
    errors = place(gateway, amountKg=-10)["userErrors"]
    assert errors and all(e["code"] == "INVALID_INPUT" for e in errors)
    assert ["input", "amountKg"] in [e["field"] for e in errors]


def test_same_key_twice_buys_once_and_reports_the_replay(
    gateway: GatewayServer, sandbox: SandboxServer
) -> None:
    first = place(gateway, amountKg=7, idempotencyKey="order-key-1")
    second = place(gateway, amountKg=7, idempotencyKey="order-key-1")
    assert first["order"]["upstreamId"] == second["order"]["upstreamId"]
    assert (first["replayed"], second["replayed"]) == (False, True)
    assert sandbox_order_ids(sandbox) == [first["order"]["upstreamId"]]


def test_same_key_with_another_payload_is_a_user_error(
    gateway: GatewayServer, sandbox: SandboxServer
) -> None:
    place(gateway, amountKg=7, idempotencyKey="order-key-2")
    payload = place(gateway, amountKg=8, idempotencyKey="order-key-2")
    assert payload["order"] is None
    assert [e["code"] for e in payload["userErrors"]] == ["IDEMPOTENCY_KEY_REUSED"]
    assert len(sandbox_order_ids(sandbox)) == 1


def test_too_long_key_points_at_the_key(gateway: GatewayServer) -> None:
    payload = place(gateway, amountKg=1, idempotencyKey="k" * 513)
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
        ("INVALID_INPUT", ["input", "idempotencyKey"])
    ]


def test_a_lost_response_is_retried_with_the_same_key_and_buys_once(
    gateway: GatewayServer, sandbox: SandboxServer
) -> None:
    sandbox.app.state.faults.set([{"route": "POST /v1/orders", "fail_after_processing": True, "times": 1}])
    payload = place(gateway, amountKg=9)
    assert payload["userErrors"] == []
    assert payload["replayed"] is False  # the gateway's own key: the order was bought once, by this call
    posts = [e for e in sandbox.request_log.entries if e.route == "POST /v1/orders"]
    assert len(posts) == 2
    # One key on both attempts: the one the caller can retry with, confined to the caller's namespace.
    sent = posts[0].headers["idempotency-key"]
    assert posts[1].headers["idempotency-key"] == sent
    assert sent.startswith("gw1-") and payload["idempotencyKey"] not in sent
    assert sandbox_order_ids(sandbox) == [payload["order"]["upstreamId"]]


def test_place_ride_order_is_deprecated_but_works(gateway: GatewayServer) -> None:
    result = ok(
        gateway.gql(
            "mutation { placeRideOrder(input: {distanceKm: 30}) { order { amountKg price { amount } }"
            " userErrors { code } } }"
        )
    )
    assert result["placeRideOrder"]["order"] == {"amountKg": 8, "price": {"amount": "0.16"}}
    mutation = build_schema()._schema.mutation_type
    assert mutation is not None and mutation.fields["placeRideOrder"].deprecation_reason


def test_cancel_order_and_cancel_unknown(gateway: GatewayServer) -> None:
    order = place_order(gateway, 4)
    cancel = (
        'mutation($id: ID!) { cancelOrder(input: {id: $id, idempotencyKey: "cancel-1"}) { order { state'
        " certificatePublicUrl } replayed userErrors { code field } } }"
    )
    payload = ok(gateway.gql(cancel, {"id": order["id"]}))["cancelOrder"]
    assert payload["order"] == {"state": "CANCELLED", "certificatePublicUrl": None}
    assert ok(gateway.gql(cancel, {"id": order["id"]}))["cancelOrder"]["replayed"] is True
    missing = ok(gateway.gql(cancel.replace("cancel-1", "cancel-2"), {"id": "nope"}))["cancelOrder"]
    assert missing["order"] is None
    assert [e["code"] for e in missing["userErrors"]] == ["NOT_FOUND"]


def test_create_subaccount_is_idempotent_with_a_key(gateway: GatewayServer, sandbox: SandboxServer) -> None:
    create = (
        'mutation { createSubaccount(input: {name: "Once", idempotencyKey: "sub-1"}) { subaccount'
        " { upstreamId } replayed idempotencyKey } }"
    )
    first = ok(gateway.gql(create))["createSubaccount"]
    second = ok(gateway.gql(create))["createSubaccount"]
    assert first["subaccount"] == second["subaccount"]
    assert (first["replayed"], second["replayed"], second["idempotencyKey"]) == (False, True, "sub-1")
    listed = ok(gateway.gql("{ subaccounts(first: 10) { nodes { upstreamId } } }"))["subaccounts"]["nodes"]
    assert listed == [first["subaccount"]]


def test_update_subaccount_replaces_all_fields(gateway: GatewayServer) -> None:
    sub = create_subaccount(gateway, "Before", email="b@example.test", defaultPortfolioId="oH5hlq")
    payload = ok(
        gateway.gql(
            'mutation($id: ID!) { updateSubaccount(input: {id: $id, name: "After"}) { subaccount { name email'
            " defaultPortfolio { upstreamId } } replayed userErrors { code } } }",
            {"id": sub["id"]},
        )
    )["updateSubaccount"]
    assert payload["subaccount"] == {"name": "After", "email": None, "defaultPortfolio": None}


def test_delete_subaccount(gateway: GatewayServer) -> None:
    delete = (
        "mutation($id: ID!) { deleteSubaccount(input: {id: $id}) { deletedSubaccountUpstreamId userErrors"
        " { code field } } }"
    )
    empty = create_subaccount(gateway, "Empty")
    payload = ok(gateway.gql(delete, {"id": empty["id"]}))["deleteSubaccount"]
    assert payload == {"deletedSubaccountUpstreamId": empty["upstreamId"], "userErrors": []}
    again = ok(gateway.gql(delete, {"id": empty["id"]}))["deleteSubaccount"]
    assert [e["code"] for e in again["userErrors"]] == ["NOT_FOUND"]
    busy = create_subaccount(gateway, "Busy")
    place_order(gateway, 1, subaccount=busy["upstreamId"])
    refused = ok(gateway.gql(delete, {"id": busy["id"]}))["deleteSubaccount"]
    assert refused["deletedSubaccountUpstreamId"] is None
    assert [(e["code"], e["field"]) for e in refused["userErrors"]] == [("INVALID_INPUT", ["input", "id"])]


LOGO = (
    "mutation($input: SetSubaccountLogoInput!) { setSubaccountLogo(input: $input) { subaccount { logoUrl }"
    " userErrors { code field message } } }"
)


def test_set_logo_from_url_and_remove_it(gateway: GatewayServer) -> None:
    sub = create_subaccount(gateway, "Logo")
    payload = ok(gateway.gql(LOGO, {"input": {"id": sub["id"], "logoUrl": "https://example.test/logo.png"}}))
    assert payload["setSubaccountLogo"]["subaccount"]["logoUrl"].startswith("https://customer-assets.")
    removed = ok(
        gateway.gql(
            "mutation($id: ID!) { removeSubaccountLogo(input: {id: $id}) { subaccount { logoUrl } } }",
            {"id": sub["id"]},
        )
    )
    assert removed["removeSubaccountLogo"]["subaccount"] == {"logoUrl": None}


def test_set_logo_from_a_multipart_upload(gateway: GatewayServer, sandbox: SandboxServer) -> None:
    sub = create_subaccount(gateway, "Upload")
    operations = {"query": LOGO, "variables": {"input": {"id": sub["id"], "file": None}}}
    response = gateway.http.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.input.file"]})},
        files={"0": ("logo.png", PNG, "image/png")},
        headers={"apollo-require-preflight": "true"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    assert body["data"]["setSubaccountLogo"]["subaccount"]["logoUrl"].endswith(".png")
    upload = next(e for e in sandbox.request_log.entries if e.route == "PUT /v1/subaccounts/{id}/logo")
    assert upload.body == PNG and upload.headers["content-type"] == "image/png"


def test_an_upload_of_the_wrong_type_is_an_error_at_input_file(gateway: GatewayServer) -> None:
    sub = create_subaccount(gateway, "Text logo")
    operations = {"query": LOGO, "variables": {"input": {"id": sub["id"], "file": None}}}
    response = gateway.http.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.input.file"]})},
        files={"0": ("logo.txt", b"hello", "text/plain")},
        headers={"apollo-require-preflight": "true"},
    )
    payload = response.json()["data"]["setSubaccountLogo"]
    assert payload["subaccount"] is None
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [("INVALID_INPUT", ["input", "file"])]


def test_set_logo_needs_exactly_one_source(gateway: GatewayServer) -> None:
    sub = create_subaccount(gateway, "Neither")
    payload = ok(gateway.gql(LOGO, {"input": {"id": sub["id"]}}))["setSubaccountLogo"]
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [("INVALID_INPUT", ["input"])]


def test_create_checkout_session_validation(gateway: GatewayServer) -> None:
    payload = ok(
        gateway.gql(
            'mutation { createCheckoutSession(input: {amountKg: 50, successUrl: "http://insecure.test",'
            ' cancelUrl: "https://shop.test/c"}) { checkoutSession { id } userErrors { code field } } }'
        )
    )["createCheckoutSession"]
    assert payload["checkoutSession"] is None
    assert ("INVALID_INPUT", ["input", "successUrl"]) in [
        (e["code"], e["field"]) for e in payload["userErrors"]
    ]


def test_place_and_cancel_through_the_gql_client(gql_client: SyncClientSession) -> None:
    placed = gql_client.execute(GraphQLRequest(PLACE, variable_values={"input": {"amountKg": 2}}))[
        "placeOrder"
    ]
    order_id = placed["order"]["upstreamId"]
    cancel = GraphQLRequest(
        "mutation($input: CancelOrderInput!) { cancelOrder(input: $input) { order { upstreamId state } } }",
        variable_values={"input": {"id": order_id}},
    )
    assert gql_client.execute(cancel)["cancelOrder"]["order"] == {
        "upstreamId": order_id,
        "state": "CANCELLED",
    }


@pytest.mark.parametrize(
    ("mutation", "field", "expected"),
    [
        ("cancelOrder(input: {id: $id})", ["input", "id"], "an Order"),
        ("placeOrder(input: {amountKg: 1, portfolioId: $id})", ["input", "portfolioId"], "a Portfolio"),
        ("placeOrder(input: {amountKg: 1, subaccountId: $id})", ["input", "subaccountId"], "a Subaccount"),
        ('updateSubaccount(input: {id: $id, name: "x"})', ["input", "id"], "a Subaccount"),
    ],
)
def test_a_global_id_of_the_wrong_type_names_its_input_field(
    gateway: GatewayServer, sandbox: SandboxServer, mutation: str, field: list[str], expected: str
) -> None:
    sandbox.request_log.clear()
    query = f"mutation($id: ID!) {{ {mutation} {{ userErrors {{ code field message }} }} }}"
    (payload,) = ok(gateway.gql(query, {"id": to_global_id("Project", "p1")})).values()
    message = f"the id names a Project, expected {expected}"
    assert payload["userErrors"] == [{"code": "INVALID_INPUT", "field": field, "message": message}]
    assert sandbox.request_log.count(method="POST") + sandbox.request_log.count(method="PUT") == 0
