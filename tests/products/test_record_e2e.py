"""`recordProductOffsets` end to end: typed input -> the documented body -> the sandbox's read-back."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from gateway.app import create_app
from gateway.config import EMBEDDED_SANDBOX_KEY, Settings
from gateway.ids import from_global_id
from tests.products.conftest import OFFSET_BATCH, Stack
from tests.servers import serve

RECORD = """
mutation Record($input: RecordProductOffsetsInput!) {
  recordProductOffsets(input: $input) {
    replayed
    userErrors { code field message }
    recorded { batchNumber offsetPrice { amount currencyCode } offsetProjects { offsetQuantity projectId } }
  }
}
"""

PROJECT_INPUT: dict[str, Any] = {
    "offsetType": "Removal",
    "offsetProvider": "CNaught",
    "offsetProviderProjectId": "I0UbDH",
    "offsetProviderFinalizationDate": "2024-05-01T12:00:00+00:00",
    "offsetProviderFinalizationId": "47726-53238-46633-33562-7433",
    "offsetQuantity": 12.5,
    "offsetQuantityUnit": "kg",
    "projectId": "VCS-1234",
    "projectName": "Forest",
    "projectLocation": "Brazil",
    "projectType": "Forestry",
    "projectUrl": "https://registry.example/projects/1234",
    "productType": "carbon credit",
    "offsetRetirementDate": "2024-05-02T00:00:00+00:00",
    "offsetVintageStart": "2020-01-01T00:00:00+00:00",
    "offsetVintageEnd": "2020-12-31T23:59:59+00:00",
    "offsetSerialNumber": "1234-5678-A",
    "offsetRetirementUrl": "https://registry.example/retirements/1",
    "offsetOwner": "ACME",
    "offsetReason": "Footprint",
}

# What the platform must receive for PROJECT_INPUT: its exact field names, UTC date-times.
PROJECT_WIRE: dict[str, Any] = {
    "offsetType": "Removal",
    "offsetProvider": "CNaught",
    "offsetProviderProjectID": "I0UbDH",
    "offsetProviderFinalizationDate": "2024-05-01T12:00:00Z",
    "offsetProviderFinalizationID": "47726-53238-46633-33562-7433",
    "offsetQuantity": 12.5,
    "offsetQuantityUnit": "kg",
    "projectID": "VCS-1234",
    "projectName": "Forest",
    "projectLocation": "Brazil",
    "projectType": "Forestry",
    "projectURL": "https://registry.example/projects/1234",
    "productType": "carbon credit",
    "offsetRetirementDate": "2024-05-02T00:00:00Z",
    "offsetVintageStart": "2020-01-01T00:00:00Z",
    "offsetVintageEnd": "2020-12-31T23:59:59Z",
    "offsetSerialNumber": "1234-5678-A",
    "offsetRetirementURL": "https://registry.example/retirements/1",
    "offsetOwner": "ACME",
    "offsetReason": "Footprint",
}


def batch_input(**overrides: Any) -> dict[str, Any]:
    batch: dict[str, Any] = {
        "batchNumber": "B-1",
        "taskId": "T-1",
        "offsetTotal": 25.0,
        "offsetUnit": "kg",
        "offsetPortfolioId": "oH5hlq",
        "offsetPrice": {"amount": "12.34", "currencyCode": "USD"},
        "offsetOwnerVisibility": "PUBLIC",
        "offsetReasonVisibility": "PRIVATE",
        "offsetProviderOrderId": "Gre28Fc35bt3",
        "certificateLink": "https://registry.cnaught.com/orders/Gre28Fc35bt3",
        "offsetProjects": [PROJECT_INPUT, {**PROJECT_INPUT, "offsetQuantity": 12.5}],
        "offsetOwner": "ACME",
        "offsetReason": "Footprint",
        "comment": "hand-written",
    }
    batch.update(overrides)
    return batch


def test_full_record_round_trip(stack: Stack) -> None:
    batches = [
        batch_input(),
        batch_input(batchNumber="B-2", offsetPrice={"amount": "5", "currencyCode": "JPY"}),
    ]
    body = stack.gql(RECORD, {"input": {"productId": "P-1", "batches": batches}})
    payload = body["data"]["recordProductOffsets"]
    assert payload["userErrors"] == [] and payload["replayed"] is False
    assert [b["offsetPrice"] for b in payload["recorded"]] == [
        {"amount": "12.34", "currencyCode": "USD"},
        {"amount": "5", "currencyCode": "JPY"},
    ]
    stored = [entry["batch"] for entry in stack.read_back("P-1")]
    assert stored[0] == {
        "batchNumber": "B-1",
        "taskId": "T-1",
        "offsetTotal": 25.0,
        "offsetUnit": "kg",
        "offsetPortfolioId": "oH5hlq",
        "offsetPrice": 12.34,
        "offsetPriceUnit": "USD",
        "offsetOwnerVisibility": "public",
        "offsetReasonVisibility": "private",
        "offsetProviderOrderID": "Gre28Fc35bt3",
        "certificateLink": "https://registry.cnaught.com/orders/Gre28Fc35bt3",
        "offsetProjects": [PROJECT_WIRE, PROJECT_WIRE],
        "offsetOwner": "ACME",
        "offsetReason": "Footprint",
        "comment": "hand-written",
    }
    assert (stored[1]["offsetPrice"], stored[1]["offsetPriceUnit"]) == (5, "JPY")
    assert stack.product_posts() == 1  # both batches in one array


def test_product_ids_with_slashes_and_unicode_round_trip(stack: Stack) -> None:
    # The gateway sends the id as one encoded path segment (a%2Fb); the platform must read it back whole.
    for product_id in ("ACME/P-1", "Produkt ü 😀"):
        body = stack.gql(RECORD, {"input": {"productId": product_id, "batches": [batch_input()]}})
        assert body["data"]["recordProductOffsets"]["userErrors"] == [], body
        (stored,) = stack.sandbox_app.state.product_platform.records.for_product(product_id)
        assert stored.record["batchNumber"] == "B-1"


def test_dot_segment_product_ids_are_refused_before_sending(stack: Stack) -> None:
    # "/products/../offsetting" would be normalised to another path of the platform.
    for product_id in (".", ".."):
        body = stack.gql(RECORD, {"input": {"productId": product_id, "batches": [batch_input()]}})
        (error,) = body["data"]["recordProductOffsets"]["userErrors"]
        assert (error["code"], error["field"]) == ("INVALID_INPUT", ["input", "productId"])
    assert stack.product_requests() == 0


def test_invalid_fields_are_user_errors_at_their_input_paths_and_nothing_is_sent(stack: Stack) -> None:
    bad_project = {**PROJECT_INPUT, "offsetQuantity": -1, "offsetVintageEnd": "2019-01-01T00:00:00+00:00"}
    batches = [
        batch_input(),
        batch_input(
            offsetPrice={"amount": "1.005", "currencyCode": "USD"},
            certificateLink="not a link",
            offsetProjects=[PROJECT_INPUT, bad_project],
        ),
    ]
    stack.sandbox_app.state.request_log.clear()
    body = stack.gql(RECORD, {"input": {"productId": "P-2", "batches": batches}})
    payload = body["data"]["recordProductOffsets"]
    assert payload["recorded"] == []
    assert {tuple(e["field"]) for e in payload["userErrors"]} == {
        ("input", "batches", "1", "offsetPrice", "amount"),
        ("input", "batches", "1", "certificateLink"),
        ("input", "batches", "1", "offsetProjects", "1", "offsetQuantity"),
        ("input", "batches", "1", "offsetProjects", "1", "offsetVintageEnd"),
    }
    assert {e["code"] for e in payload["userErrors"]} == {"INVALID_INPUT"}
    assert stack.product_requests() == 0 and stack.read_back("P-2") == []


def test_naive_date_times_and_empty_lists_are_refused(stack: Stack) -> None:
    naive = {**PROJECT_INPUT, "offsetRetirementDate": "2024-05-02T00:00:00"}
    body = stack.gql(RECORD, {"input": {"productId": "P", "batches": [batch_input(offsetProjects=[naive])]}})
    (error,) = body["data"]["recordProductOffsets"]["userErrors"]
    assert error["field"] == ["input", "batches", "0", "offsetProjects", "0", "offsetRetirementDate"]
    empty = stack.gql(RECORD, {"input": {"productId": "P", "batches": []}})
    assert [e["field"] for e in empty["data"]["recordProductOffsets"]["userErrors"]] == [["input", "batches"]]
    assert stack.product_requests() == 0


def test_lost_response_of_hand_written_batches_is_not_resent(stack: Stack) -> None:
    rule = {
        "path_prefix": "/product-api/products/",
        "method": "POST",
        "times": 1,
        "fail_after_processing": True,
    }
    stack.sandbox_app.state.faults.set([rule])
    body = stack.gql(
        RECORD, {"input": {"productId": "P-3", "batches": [batch_input(), batch_input(batchNumber="2")]}}
    )
    assert body["data"]["recordProductOffsets"]["userErrors"] == []
    assert len(stack.read_back("P-3")) == 2 and stack.product_posts() == 1


@pytest.mark.parametrize(
    "env",
    [
        {},
        # Variables meant for a standalone sandbox in the same shell must not lock the gateway out of its own.
        {
            "SANDBOX_API_KEYS": "someone-else",
            "SANDBOX_PRODUCT_CLIENT_ID": "x",
            "SANDBOX_PRODUCT_CLIENT_SECRET": "y",
        },
    ],
    ids=["plain", "standalone-sandbox-env"],
)
def test_embedded_sandbox_serves_the_product_platform_without_configuration(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    app = create_app(Settings(sandbox_fulfilment_delay=3600))
    with serve(app) as url, httpx.Client(base_url=url, timeout=30) as http:
        placed = http.post(
            "/graphql", json={"query": "mutation { placeOrder(input: {amountKg: 30}) { order { id } } }"}
        )
        order_id = placed.json()["data"]["placeOrder"]["order"]["id"]
        sandbox = app.state.sandbox_app
        fulfil = http.post(  # the embedded sandbox is mounted at /sandbox; the gateway's key owns the order
            f"/sandbox/_sandbox/orders/{from_global_id(order_id)[1]}/fulfil",
            headers={"Authorization": f"Bearer {EMBEDDED_SANDBOX_KEY}"},
        )
        assert fulfil.status_code == 200, fulfil.text
        variables = {"input": {"productId": "P", "batchNumber": "B", "orderIds": [order_id]}}
        body = http.post("/graphql", json={"query": OFFSET_BATCH, "variables": variables}).json()
    payload = body["data"]["offsetProductBatch"]
    assert payload["userErrors"] == [] and payload["recorded"]["offsetTotal"] == 30
    (stored,) = sandbox.state.product_platform.records.for_product("P")
    assert stored.client_id == "embedded-gateway"
