"""Subscriptions through the README's Apollo Client and urql set-ups (``js/readme/*-subscriptions.mjs``).

``js/subscriptions.mjs`` runs both in one Node process against a real gateway that needs a bearer token
(sent in ``connection_init``) and whose embedded sandbox fulfils an order `FULFILMENT_DELAY` seconds after
it is placed. Each client places an order with a mutation over HTTP, subscribes to
``orderUpdates(ids: [id])`` over the WebSocket and hears PLACED (the current state) then FULFILLED; the
order in its normalised cache goes from PLACED (written by the mutation) to FULFILLED (by the event).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.clients.conftest import ClientGateway, RunNode, ok, running_secured

FULFILMENT_DELAY = 2.0
"""Long enough for a client to subscribe after its mutation returned; short to keep the suite fast."""


@pytest.fixture(scope="module")
def slow_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClientGateway]:
    with running_secured(tmp_path_factory, fulfilment_delay=FULFILMENT_DELAY) as gateway:
        yield gateway


@pytest.fixture(scope="module")
def subscribed(slow_gateway: ClientGateway, run_node: RunNode) -> dict[str, Any]:
    assert slow_gateway.token
    return run_node("subscriptions.mjs", slow_gateway.graphql_url, slow_gateway.token)


def _assert_placed_then_fulfilled(result: dict[str, Any]) -> None:
    order_id = result["id"]
    assert result["updates"] == [[order_id, "PLACED", None], [order_id, "FULFILLED", "PLACED"]]


def test_apollo_split_http_and_graphql_ws_link(
    subscribed: dict[str, Any], slow_gateway: ClientGateway
) -> None:
    result = ok(subscribed, "apolloGraphQLWsLink")
    _assert_placed_then_fulfilled(result)
    assert result["cacheId"] == f"Order:{result['id']}"
    assert result["typenames"] == ["Order"]
    amount = {"amountKg": 3, "id": result["id"], "__typename": "Order"}
    assert result["before"] == {**amount, "state": "PLACED"}
    assert result["after"] == {**amount, "state": "FULFILLED"}
    # The mutation went over HTTP: the order is the gateway's.
    state = slow_gateway.gql("query($id: ID!) { order(id: $id) { state } }", {"id": result["id"]})
    assert state["data"]["order"]["state"] == "FULFILLED"


def test_urql_subscription_exchange_with_graphql_ws(subscribed: dict[str, Any]) -> None:
    result = ok(subscribed, "urqlSubscriptionExchange")
    _assert_placed_then_fulfilled(result)
    amount = {"amountKg": 4, "id": result["id"]}  # urql's readQuery leaves out the __typename it added
    assert result["before"] == {**amount, "state": "PLACED"}
    assert result["after"] == {**amount, "state": "FULFILLED"}
