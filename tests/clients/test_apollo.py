"""Apollo Client (``@apollo/client``, current major) and ``apollo-upload-client`` against a real gateway.

``js/apollo.mjs`` runs every check in one Node process; each test here asserts on one check's result.
The orders it pages through are seeded here first, so the expected order is known independently.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.clients.conftest import ClientGateway, RunNode, assert_paged_every_order, ok, seed_orders

SEEDED = 31


@pytest.fixture(scope="module")
def apollo(client_gateway: ClientGateway, run_node: RunNode) -> dict[str, Any]:
    seed_orders(client_gateway, SEEDED, prefix="apollo")
    return run_node("apollo.mjs", client_gateway.graphql_url)


def test_readme_client_normalises_every_node_type(apollo: dict[str, Any]) -> None:
    result = ok(apollo, "readmeClientNormalisesEveryNode")
    assert result["typenames"] == result["schemaNodeTypes"] == result["possibleTypesOfNode"]
    assert set(result["schemaNodeTypes"]) >= {"Order", "Portfolio", "Project", "Subaccount"}
    # The rename came back on another query; the earlier query reads the same normalised entity.
    assert result["renamedInEarlierQuery"] == "Apollo renamed"
    assert result["viaNode"] == {
        "__typename": "Subaccount",
        "id": result["subaccountId"],
        "name": "Apollo renamed",
    }


@pytest.mark.parametrize("direction", ["forwardPagination", "backwardPagination"])
def test_relay_style_pagination_sees_every_order_once_in_order(
    apollo: dict[str, Any], client_gateway: ClientGateway, direction: str
) -> None:
    result = ok(apollo, direction)
    assert_paged_every_order(client_gateway, result["ids"], at_least=SEEDED)
    assert (result["pageInfo"]["hasNextPage"], result["pageInfo"]["hasPreviousPage"]) == (False, False)
    assert len(result["pages"]) >= 5


def test_backward_paging_ends_on_a_short_page(apollo: dict[str, Any]) -> None:
    # 5 of 7 left before the last cursor: the page that lost its newest orders before the fix.
    assert ok(apollo, "backwardPagination")["pages"][-1] == 5


def test_apq_over_post(apollo: dict[str, Any]) -> None:
    hash_only, with_query, hash_again = ok(apollo, "apqOverPost")
    assert (hash_only["method"], hash_only["hasQuery"], hash_only["hasHash"]) == ("POST", False, True)
    assert (with_query["method"], with_query["hasQuery"]) == ("POST", True)
    assert (hash_again["method"], hash_again["hasQuery"], hash_again["hasHash"]) == ("POST", False, True)


def test_apq_over_get(apollo: dict[str, Any]) -> None:
    hash_only, with_query, hash_again = ok(apollo, "apqOverGet")
    # Apollo's HttpLink sends `Content-Type: application/json` on GET too: the CSRF check must take it.
    assert (hash_only["method"], hash_only["hasQuery"], hash_only["contentType"]) == (
        "GET",
        False,
        "application/json",
    )
    assert (with_query["method"], with_query["hasQuery"]) == ("POST", True)
    assert (hash_again["method"], hash_again["hasQuery"], hash_again["hasHash"]) == ("GET", False, True)


def test_readme_client_sends_hashed_queries_over_get(apollo: dict[str, Any]) -> None:
    requests = ok(apollo, "readmeClientUsesGetForHashedQueries")
    assert [(r["method"], r["hasQuery"], r["hasHash"]) for r in requests] == [
        ("GET", False, True),
        ("POST", True, True),
    ]


def test_use_get_for_queries(apollo: dict[str, Any]) -> None:
    result = ok(apollo, "useGETForQueries")
    assert result["orders"] == 2 and result["placed"] == []
    assert [(r["method"], r["hasQuery"]) for r in result["requests"]] == [("GET", True), ("POST", True)]


def test_batch_http_link_sends_one_request(apollo: dict[str, Any]) -> None:
    result = ok(apollo, "batchHttpLink")
    assert (result["sizes"], result["portfolios"] > 0) == ([1, 2], True)
    assert [(r["method"], r["batch"]) for r in result["requests"]] == [("POST", 3)]


def test_upload_client_sets_a_logo(apollo: dict[str, Any]) -> None:
    result = ok(apollo, "uploadLogo")
    assert result["payload"]["userErrors"] == []
    assert result["payload"]["subaccount"]["logoUrl"].endswith(".png")
    assert result["body"] == "<binary>"  # FormData: a GraphQL multipart request, not JSON


def test_user_errors_and_error_codes(apollo: dict[str, Any]) -> None:
    result = ok(apollo, "errors")
    assert [(e["code"], e["field"]) for e in result["userErrors"]] == [
        ("INVALID_INPUT", ["input", "amountKg"])
    ]
    assert result["thrownCodes"] == result["errorPolicyAllCodes"] == ["NOT_FOUND"]
    assert result["partialData"] == {"order": None}
    assert result["requestErrorCodes"] == ["GRAPHQL_VALIDATION_FAILED"]
