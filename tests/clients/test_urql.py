"""urql (``@urql/core`` and ``@urql/exchange-graphcache``) against a real gateway that needs a bearer token.

``js/urql.mjs`` runs every check in one Node process. urql's defaults send queries as ``GET`` with no
``Content-Type``: the caller's ``Authorization`` header is what makes such a request one a browser could not
send cross-site on its own, so CSRF prevention lets it through; without it the request is refused as a
possible CSRF before anything runs.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.clients.conftest import ClientGateway, RunNode, assert_paged_every_order, ok, seed_orders

SEEDED = 31


@pytest.fixture(scope="module")
def urql(secured_gateway: ClientGateway, run_node: RunNode) -> dict[str, Any]:
    seed_orders(secured_gateway, SEEDED, prefix="urql")
    assert secured_gateway.token
    return run_node("urql.mjs", secured_gateway.graphql_url, secured_gateway.token)


def test_default_options_with_the_bearer_token(urql: dict[str, Any]) -> None:
    result = ok(urql, "defaultOptionsWithToken")
    assert (result["orders"], result["userErrors"]) == (3, [])
    assert result["requestErrorCodes"] == ["GRAPHQL_VALIDATION_FAILED"]
    # Queries over GET (urql's `preferGetMethod: 'within-url-limit'`), the mutation over POST; urql asks
    # for application/graphql-response+json first.
    methods = [method for method, _ in result["requests"]]
    assert methods == ["GET", "POST", "GET"]
    assert {accept for _, accept in result["requests"]} == {"application/graphql-response+json"}


def test_default_options_without_a_token_are_refused(urql: dict[str, Any]) -> None:
    result = ok(urql, "defaultOptionsWithoutToken")
    assert (result["data"], result["method"]) == (None, "GET")
    assert result["codes"] == ["CSRF_PREVENTED"]


@pytest.mark.parametrize("direction", ["graphcacheForward", "graphcacheBackward"])
def test_relay_pagination_sees_every_order_once_in_order(
    urql: dict[str, Any], secured_gateway: ClientGateway, direction: str
) -> None:
    result = ok(urql, direction)
    assert_paged_every_order(secured_gateway, result["ids"], at_least=SEEDED + 1)  # + urql's own order
    assert (result["pageInfo"]["hasNextPage"], result["pageInfo"]["hasPreviousPage"]) == (False, False)
    assert len(result["pages"]) >= 5


def test_backward_paging_ends_on_a_short_page(urql: dict[str, Any]) -> None:
    assert ok(urql, "graphcacheBackward")["pages"][-1] == 5


def test_readme_client_in_sandbox_mode_without_a_token(
    client_gateway: ClientGateway, run_node: RunNode
) -> None:
    seed_orders(client_gateway, 2, prefix="urql-open")
    result = ok(run_node("urql.mjs", client_gateway.graphql_url), "readmeClientWithoutToken")
    assert result == {"orders": 2, "methods": ["GET"]}
