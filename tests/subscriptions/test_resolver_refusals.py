"""orderUpdates refuses what its own resolver checks with the coded error `order(id:)`/`orders` give.

The security guard refuses another tenant's subaccount before any resolver runs; these tests take the
schema without it (`UNGUARDED`) or name what the guard does not look at (another tenant's order id), so
the resolver's own checks answer. A subscription resolver runs outside graphql-core's field error handling,
so a refusal it did not translate used to reach the caller as a masked INTERNAL_SERVER_ERROR (the first
two tests; another tenant's order id was already NOT_FOUND, the last test keeps it so over a real socket).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.security.test_id_confusion import UNGUARDED, run_bound
from tests.subscriptions.conftest import SubsSetup
from tests.subscriptions.wsclient import WsClient

SUBSCRIBE_IN = "subscription($id: ID) { orderUpdates(subaccountId: $id) { order { id } } }"
QUERY_IN = "query($id: ID) { orders(first: 1, subaccountId: $id) { edges { node { id } } } }"
SUBSCRIBE_TO = "subscription($id: ID!) { orderUpdates(ids: [$id]) { order { id } } }"
QUERY_ONE = "query($id: ID!) { order(id: $id) { id } }"


def _refusal(result: Any) -> tuple[str, str]:
    assert result.errors is not None and len(result.errors) == 1, result
    error = result.errors[0]
    return error.message, error.extensions["code"]


def test_another_tenants_subaccount_is_not_found_without_the_guard() -> None:
    variables = {"id": "Subaccount:other1"}
    subscribed, upstream = run_bound(SUBSCRIBE_IN, variables, UNGUARDED)
    queried, _ = run_bound(QUERY_IN, variables, UNGUARDED)
    assert _refusal(subscribed) == _refusal(queried) == ("subaccount not found", "NOT_FOUND")
    assert upstream.calls == []


@pytest.mark.parametrize("value", ["Subaccount:abc", "Order:"])
def test_an_id_that_is_no_order_is_bad_user_input(value: str) -> None:
    subscribed, upstream = run_bound(SUBSCRIBE_TO, {"id": value}, UNGUARDED)
    queried, _ = run_bound(QUERY_ONE, {"id": value}, UNGUARDED)
    message, code = _refusal(subscribed)
    assert (message, code) == _refusal(queried)
    assert code == "BAD_USER_INPUT"
    assert subscribed.errors[0].extensions["field"] == ["ids"]
    assert upstream.calls == []


@pytest.mark.e2e
async def test_a_bound_subscriber_naming_another_tenants_order_gets_not_found(subs: SubsSetup) -> None:
    gateway = subs.start()
    theirs = await gateway.place(subs.token("writer"), subaccount=f"Subaccount:{subs.sub_b}")
    token = subs.token("bound_reader")
    async with httpx.AsyncClient(headers={"authorization": f"Bearer {token}"}) as http:
        response = await http.post(
            f"{gateway.url}/graphql", json={"query": QUERY_ONE, "variables": {"id": theirs}}
        )
    queried = response.json()["errors"][0]
    async with WsClient.connect(gateway.ws_url, {"authorization": f"Bearer {token}"}) as client:
        await client.acknowledged()
        await client.subscribe("theirs", ids=[theirs])
        message = await client.receive()
    assert message["id"] == "theirs"
    errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
    assert [error["extensions"]["code"] for error in errors] == ["NOT_FOUND"]
    assert (errors[0]["message"], queried["extensions"]["code"]) == (queried["message"], "NOT_FOUND")
