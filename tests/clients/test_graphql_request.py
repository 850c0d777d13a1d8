"""graphql-request (npm) against a real gateway: plain requests, ``batchRequests``, multi-operation documents.

graphql-request sends no ``operationName`` when a document holds several operations; the gateway must then
refuse the request before anything runs (the README's own two-operation document once *placed an order*
when its query was asked for).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.clients.conftest import ClientGateway, RunNode, ok


@pytest.fixture(scope="module")
def graphql_request(client_gateway: ClientGateway, run_node: RunNode) -> dict[str, Any]:
    return run_node("graphql-request.mjs", client_gateway.graphql_url)


def test_request(graphql_request: dict[str, Any]) -> None:
    assert ok(graphql_request, "request") == 0  # a fresh gateway: no orders yet


def test_batch_requests_is_one_http_request(graphql_request: dict[str, Any]) -> None:
    result = ok(graphql_request, "batchRequests")
    assert (result["requests"], result["sent"]) == (1, 3)
    assert result["counts"] == [False, True, 0]


def test_multi_operation_document_without_name_runs_nothing(graphql_request: dict[str, Any]) -> None:
    result = ok(graphql_request, "multiOperationWithoutName")
    assert (result["status"], result["codes"], result["hasData"]) == (400, ["BAD_REQUEST"], False)
    assert result["placed"] == 0


def test_multi_operation_document_with_name_runs_that_operation(graphql_request: dict[str, Any]) -> None:
    result = ok(graphql_request, "multiOperationWithName")
    assert (result["queried"], result["placedByQuery"]) == (True, 0)
    assert (result["bought"], result["placedByMutation"]) == ([], 1)
