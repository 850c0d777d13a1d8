"""`offsetProductBatch` end to end: gateway and sandbox under uvicorn, orders placed and fulfilled."""

from __future__ import annotations

import concurrent.futures
import time
from datetime import datetime
from typing import Any

import pytest

from tests.products.conftest import Stack, StartStack, caller_token


def _years(allocation: dict[str, Any]) -> list[int]:
    # The sandbox's serial ranges read SBX-<project>-<vintage>-<first>-<last>.
    return [int(r["serial_number_range"].split("-")[2]) for r in allocation["retirements"]]


def test_order_derived_record_matches_the_orders_field_by_field(stack: Stack) -> None:
    first, second = stack.place_order(250), stack.place_order(40)
    payload = stack.offset_batch(
        productId="P-7",
        batchNumber="B-7",
        taskId="T-1",
        orderIds=[second["id"], first["id"]],
        portfolioId="oH5hlq",
        owner="ACME GmbH",
        reason="Product carbon footprint",
        ownerVisibility="PUBLIC",
        reasonVisibility="PRIVATE",
        comment="first production run",
    )
    assert payload["userErrors"] == [] and payload["replayed"] is False
    (stored,) = stack.read_back("P-7")
    record = stored["batch"]
    orders = sorted([first, second], key=lambda order: order["id"])
    assert record["batchNumber"] == "B-7" and record["taskId"] == "T-1"
    assert record["offsetTotal"] == 290 and record["offsetUnit"] == "kg"
    assert record["offsetPrice"] == sum(o["price_usd_cents"] for o in orders) / 100
    assert record["offsetPriceUnit"] == "USD" and record["offsetPortfolioId"] == "oH5hlq"
    assert (record["offsetOwnerVisibility"], record["offsetReasonVisibility"]) == ("public", "private")
    assert record["offsetProviderOrderID"] == ", ".join(o["id"] for o in orders)
    assert record["certificateLink"].split(" ") == [o["certificate_public_url"] for o in orders]
    assert (record["offsetOwner"], record["offsetReason"]) == ("ACME GmbH", "Product carbon footprint")
    assert record["comment"] == "first production run"
    expected = [(order, allocation) for order in orders for allocation in order["project_allocations"]]
    assert len(record["offsetProjects"]) == len(expected) > 1
    for project, (order, allocation) in zip(record["offsetProjects"], expected, strict=True):
        _assert_project_matches(project, order, allocation)
    assert payload["recorded"]["offsetProviderOrderId"] == record["offsetProviderOrderID"]
    assert payload["recorded"]["offsetPrice"] == {"amount": "5.80", "currencyCode": "USD"}
    assert stack.product_posts() == 1


def _assert_project_matches(
    project: dict[str, Any], order: dict[str, Any], allocation: dict[str, Any]
) -> None:
    source = allocation["project"]
    assert project["offsetProvider"] == "CNaught"
    assert project["offsetProviderProjectID"] == source["id"]
    assert project["projectName"] == source["name"]
    assert project.get("projectLocation") == source.get("location_name")
    assert project.get("projectType") == source.get("type")
    assert project.get("offsetType") == source.get("impact_type")
    assert project.get("projectID") == source.get("registry_id")
    assert project.get("projectURL") == source.get("registry_url")
    assert project["productType"] == "carbon credit"
    assert project["offsetQuantity"] == allocation["amount_kg"] and project["offsetQuantityUnit"] == "kg"
    serials = [r["serial_number_range"] for r in allocation["retirements"]]
    assert project["offsetSerialNumber"] == "; ".join(serials)
    assert project["offsetRetirementURL"] == " ".join(r["url"] for r in allocation["retirements"])
    years = _years(allocation)
    assert project["offsetVintageStart"] == f"{min(years)}-01-01T00:00:00Z"
    assert project["offsetVintageEnd"] == f"{max(years)}-12-31T23:59:59Z"
    assert project["offsetProviderFinalizationID"] == order["order_number"]
    placed = datetime.fromisoformat(order["created_on"])
    assert datetime.fromisoformat(project["offsetRetirementDate"]) == placed
    assert datetime.fromisoformat(project["offsetProviderFinalizationDate"]) == placed
    assert (project["offsetOwner"], project["offsetReason"]) == ("ACME GmbH", "Product carbon footprint")


def test_unfulfilled_and_unknown_orders_are_refused_and_nothing_is_sent(stack: Stack) -> None:
    done, placed = stack.place_order(10), stack.place_order(10, fulfil=False)
    stack.sandbox_app.state.request_log.clear()
    payload = stack.offset_batch(
        productId="P", batchNumber="B", orderIds=[done["id"], placed["id"], "NoSuchOrder1"]
    )
    assert payload["recorded"] is None
    refusals = {(e["code"], tuple(e["field"])) for e in payload["userErrors"]}
    assert refusals == {
        ("ORDER_NOT_FULFILLED", ("input", "orderIds", "1")),
        ("NOT_FOUND", ("input", "orderIds", "2")),
    }
    assert stack.product_requests() == 0
    assert stack.read_back("P") == []


def test_orders_of_another_subaccount_are_refused_and_nothing_is_sent(stack: Stack) -> None:
    created = stack.rest.post("/v1/subaccounts", json={"name": "Supplier B"})
    assert created.status_code in (200, 201), created.text
    supplier = created.json()["id"]
    theirs, ours = stack.place_order(15, subaccount=supplier), stack.place_order(15)
    stack.sandbox_app.state.request_log.clear()
    mixed = stack.offset_batch(productId="P", batchNumber="B", orderIds=[ours["id"], theirs["id"]])
    assert [(e["code"], e["field"]) for e in mixed["userErrors"]] == [
        ("ORDER_NOT_IN_SUBACCOUNT", ["input", "orderIds", "1"])
    ]
    as_supplier = stack.offset_batch(
        productId="P", batchNumber="B", orderIds=[ours["id"]], subaccountId=supplier
    )
    assert as_supplier["recorded"] is None and as_supplier["userErrors"][0]["field"] == [
        "input",
        "orderIds",
        "0",
    ]
    assert as_supplier["userErrors"][0]["code"] in ("ORDER_NOT_IN_SUBACCOUNT", "NOT_FOUND")
    assert stack.product_requests() == 0 and stack.read_back("P") == []
    own = stack.offset_batch(productId="P", batchNumber="B", orderIds=[theirs["id"]], subaccountId=supplier)
    assert own["userErrors"] == [] and own["recorded"]["offsetProviderOrderId"] == theirs["id"]


@pytest.mark.parametrize(
    "fault",
    [
        {"fail_after_processing": True},
        {"fail_after_processing": True, "drop_connection": True},
    ],
    ids=["502-after-processing", "dropped-after-processing"],
)
def test_lost_response_is_checked_and_not_recorded_twice(stack: Stack, fault: dict[str, Any]) -> None:
    order = stack.place_order(20)
    rule = {"path_prefix": "/product-api/products/", "method": "POST", "times": 1, **fault}
    stack.sandbox_app.state.faults.set([rule])
    call = {"productId": "P-9", "batchNumber": "B-9", "orderIds": [order["id"]]}
    first = stack.offset_batch(**call)
    assert first["userErrors"] == [] and first["replayed"] is False
    assert first["recorded"]["offsetProviderOrderId"] == order["id"]
    assert len(stack.read_back("P-9")) == 1 and stack.product_posts() == 1
    again = stack.offset_batch(**call)  # the client retries the whole call
    assert again["replayed"] is True and again["recorded"]["offsetProviderOrderId"] == order["id"]
    assert len(stack.read_back("P-9")) == 1 and stack.product_posts() == 1


def test_failure_before_processing_is_resent_once(stack: Stack) -> None:
    order = stack.place_order(20)
    rule = {"path_prefix": "/product-api/products/", "method": "POST", "times": 1, "status": 503}
    stack.sandbox_app.state.faults.set([rule])
    payload = stack.offset_batch(productId="P", batchNumber="B", orderIds=[order["id"]])
    assert payload["userErrors"] == []
    assert stack.product_posts() == 2 and len(stack.read_back("P")) == 1


def test_platform_down_is_a_coded_error_and_nothing_recorded(stack: Stack) -> None:
    order = stack.place_order(20)
    stack.sandbox_app.state.faults.set([{"path_prefix": "/product-api/products/", "status": 503}])
    body = stack.gql(
        "mutation($i: OffsetProductBatchInput!) { offsetProductBatch(input: $i) { replayed } }",
        {"i": {"productId": "P", "batchNumber": "B", "orderIds": [order["id"]]}},
    )
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "UPSTREAM_ERROR" and "127.0.0.1" not in error["message"]
    assert "product-secret" not in str(body)
    assert stack.read_back("P") == []


def _unauthorized(stack: Stack) -> int:
    return sum(1 for e in stack.sandbox_app.state.request_log.entries if e.status == 401)


def test_a_revoked_token_is_refreshed_after_one_refusal(stack: Stack) -> None:
    orders = [stack.place_order(5) for _ in range(2)]
    stack.sandbox_app.state.request_log.clear()
    assert stack.offset_batch(productId="P", batchNumber="1", orderIds=[orders[0]["id"]])["userErrors"] == []
    assert stack.token_requests() == 1
    stack.sandbox_app.state.product_platform.issuer.revoke_all()  # the next call meets a 401
    assert stack.offset_batch(productId="P", batchNumber="2", orderIds=[orders[1]["id"]])["userErrors"] == []
    assert stack.token_requests() == 2 and stack.sandbox_app.state.product_platform.issuer.issued_count == 2
    assert _unauthorized(stack) == 1  # only the revoked token's one refusal
    assert len(stack.read_back("P")) == 2


def test_short_lived_tokens_are_refreshed_before_they_expire(start_stack: StartStack) -> None:
    # Separate from the revocation test: with 1 s tokens, a slow machine let the token pass its refresh
    # point between the two calls there, so the revoked token was never sent and no 401 came.
    stack = start_stack(product_token_lifetime=1)
    orders = [stack.place_order(5) for _ in range(2)]
    stack.sandbox_app.state.request_log.clear()
    assert stack.offset_batch(productId="P", batchNumber="1", orderIds=[orders[0]["id"]])["userErrors"] == []
    assert stack.token_requests() == 1
    time.sleep(1.0)  # past the token's refresh point: the gateway fetches a new one before calling
    assert stack.offset_batch(productId="P", batchNumber="2", orderIds=[orders[1]["id"]])["userErrors"] == []
    assert stack.token_requests() == 2
    assert _unauthorized(stack) == 0  # refreshed before use, never refused
    assert len(stack.read_back("P")) == 2


def test_input_problems_are_user_errors(stack: Stack) -> None:
    order = stack.place_order(5)
    payload = stack.offset_batch(
        productId="P", batchNumber=" ", orderIds=[order["id"], order["id"]], owner="x" * 600
    )
    fields = {tuple(e["field"]) for e in payload["userErrors"]}
    assert fields == {("input", "batchNumber"), ("input", "orderIds", "1"), ("input", "owner")}
    empty = stack.offset_batch(productId="P", batchNumber="B", orderIds=[])
    assert [e["field"] for e in empty["userErrors"]] == [["input", "orderIds"]]
    too_long = stack.offset_batch(productId="P", batchNumber="B", orderIds=[order["id"]], owner="x" * 600)
    assert [e["field"] for e in too_long["userErrors"]] == [["input", "owner"]]
    assert stack.product_requests() == 0


def test_unconfigured_platform_answers_a_user_error(start_stack: StartStack) -> None:
    stack = start_stack(gateway={"product_platform_url": None})
    payload = stack.offset_batch(productId="P", batchNumber="B", orderIds=["abc"])
    assert [e["code"] for e in payload["userErrors"]] == ["PRODUCT_PLATFORM_NOT_CONFIGURED"]


def test_recording_needs_the_orders_write_scope(stack: Stack) -> None:
    order = stack.place_order(5)
    stack.sandbox_app.state.request_log.clear()
    body = stack.gql(
        "mutation($i: OffsetProductBatchInput!) { offsetProductBatch(input: $i) { replayed } }",
        {"i": {"productId": "P", "batchNumber": "B", "orderIds": [order["id"]]}},
        token=caller_token("read"),
    )
    assert [(e.get("extensions") or {}).get("code") for e in body["errors"]] == ["FORBIDDEN"]
    assert stack.product_requests() == 0 and stack.read_back("P") == []


def test_subaccount_bound_caller_cannot_cite_other_tenants_orders(stack: Stack) -> None:
    supplier = stack.rest.post("/v1/subaccounts", json={"name": "Supplier A"}).json()["id"]
    other = stack.rest.post("/v1/subaccounts", json={"name": "Supplier B"}).json()["id"]
    mine, main, theirs = (
        stack.place_order(5, subaccount=supplier),
        stack.place_order(5),
        stack.place_order(5, subaccount=other),
    )
    bound = caller_token(subaccount_id=supplier)
    stack.sandbox_app.state.request_log.clear()
    refused = stack.offset_batch(
        token=bound, productId="P", batchNumber="B", orderIds=[mine["id"], main["id"], theirs["id"]]
    )
    assert refused["recorded"] is None
    assert [e["field"] for e in refused["userErrors"]] == [
        ["input", "orderIds", "1"],
        ["input", "orderIds", "2"],
    ]
    asking = stack.gql(  # the security layer answers as if the other tenant did not exist
        "mutation($i: OffsetProductBatchInput!) { offsetProductBatch(input: $i) { replayed } }",
        {"i": {"productId": "P", "batchNumber": "B", "orderIds": [theirs["id"]], "subaccountId": other}},
        token=bound,
    )
    assert [e["extensions"]["code"] for e in asking["errors"]] == ["NOT_FOUND"]
    assert stack.product_requests() == 0
    own = stack.offset_batch(token=bound, productId="P", batchNumber="B", orderIds=[mine["id"]])
    assert own["userErrors"] == [] and own["recorded"]["offsetProviderOrderId"] == mine["id"]


def test_concurrent_identical_calls_record_the_batch_once(stack: Stack) -> None:
    order = stack.place_order(12)
    call = {"productId": "P-C", "batchNumber": "B", "orderIds": [order["id"]]}
    with concurrent.futures.ThreadPoolExecutor(max_workers=5) as pool:
        payloads = list(pool.map(lambda _: stack.offset_batch(**call), range(5)))
    assert sorted(p["replayed"] for p in payloads) == [False, True, True, True, True]
    assert len(stack.read_back("P-C")) == 1 and stack.product_posts() == 1


def test_wrong_platform_credentials_are_the_operators_problem(start_stack: StartStack) -> None:
    stack = start_stack(gateway={"product_platform_client_secret": "wrong-secret"})
    order = stack.place_order(5)
    body = stack.gql(
        "mutation($i: OffsetProductBatchInput!) { offsetProductBatch(input: $i) { replayed } }",
        {"i": {"productId": "P", "batchNumber": "B", "orderIds": [order["id"]]}},
    )
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "UPSTREAM_ERROR" and "credentials" in error["message"]
    assert "wrong-secret" not in str(body) and stack.read_back("P") == []
