"""Request ids reach the product platform: the caller's `X-Request-Id` on every record and lookup call.

The token request is shared by all callers (one cached token), so it must carry no caller's id.
"""

from __future__ import annotations

from typing import Any

from tests.products.conftest import OFFSET_BATCH, Stack, caller_token
from tests.products.test_record_e2e import RECORD, batch_input


def _post(stack: Stack, query: str, variables: dict[str, Any], request_id: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {caller_token()}", "X-Request-Id": request_id}
    response = stack.http.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
    assert response.headers["x-request-id"] == request_id
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    return body


def _product_calls(stack: Stack) -> list[tuple[str, str, str | None]]:
    """(method, path, X-Request-Id) of every product-platform request the sandbox saw."""
    return [
        (entry.method, entry.path, entry.headers.get("x-request-id"))
        for entry in stack.sandbox_app.state.request_log.entries
        if entry.path.startswith("/product-api")
    ]


def test_record_product_offsets_forwards_the_callers_id(stack: Stack) -> None:
    variables = {"input": {"productId": "P-1", "batches": [batch_input()]}}
    body = _post(stack, RECORD, variables, "record-req-1")
    assert body["data"]["recordProductOffsets"]["userErrors"] == []
    calls = _product_calls(stack)
    posts = [call for call in calls if call[0] == "POST" and call[1].startswith("/product-api/products/")]
    assert [call[2] for call in posts] == ["record-req-1"]
    tokens = [call for call in calls if call[1] == "/product-api/oauth/token"]
    assert len(tokens) == 1 and tokens[0][2] is None  # shared token: no one caller's id


def test_offset_product_batch_forwards_the_id_on_lookup_and_record(stack: Stack) -> None:
    order = stack.place_order(3)
    stack.sandbox_app.state.request_log.clear()
    variables = {"input": {"productId": "P", "batchNumber": "B-7", "orderIds": [order["id"]]}}
    body = _post(stack, OFFSET_BATCH, variables, "batch-req-2")
    assert body["data"]["offsetProductBatch"]["userErrors"] == []
    record_calls = [c for c in _product_calls(stack) if c[1].startswith("/product-api/products/")]
    assert {c[0] for c in record_calls} == {"GET", "POST"}  # the pre-send lookup and the record
    assert {c[2] for c in record_calls} == {"batch-req-2"}
    # A second caller's request carries its own id, not the first one's.
    stack.sandbox_app.state.request_log.clear()
    _post(stack, OFFSET_BATCH, variables, "batch-req-3")
    replay_calls = [c for c in _product_calls(stack) if c[1].startswith("/product-api/products/")]
    assert replay_calls and {c[2] for c in replay_calls} == {"batch-req-3"}
