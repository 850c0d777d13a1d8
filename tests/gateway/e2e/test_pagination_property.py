"""Property test: every connection's pages, both directions, agree with the upstream's REST list.

For random page sizes and cursors over `orders`, `orders(subaccountId:)`, `subaccounts` and
`Subaccount.orders`, a single page is exactly the slice of the REST list next to its cursor with the right
`hasNextPage`/`hasPreviousPage`, and a walk forwards or backwards sees every item once, in order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.gateway.e2e.conftest import GatewayServer, SandboxServer
from tests.gateway.e2e.schema_helpers import ok

pytestmark = pytest.mark.e2e

PAGE_ARGS = "first: $first, after: $after, last: $last, before: $before"
VARS = "$first: Int, $after: String, $last: Int, $before: String"
SELECTION = (
    "edges { cursor node { upstreamId } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor }"
)


@dataclass(frozen=True)
class Listing:
    """One connection: how to ask the gateway for a page, and the REST list it must agree with."""

    name: str
    query: str
    path: tuple[str, ...]
    rest_ids: tuple[str, ...]
    cursors: tuple[str, ...] = ()


def _query(name: str, sub: str | None) -> tuple[str, tuple[str, ...]]:
    if name == "orders":
        return f"query({VARS}) {{ orders({PAGE_ARGS}) {{ {SELECTION} }} }}", ("orders",)
    if name == "subaccounts":
        return f"query({VARS}) {{ subaccounts({PAGE_ARGS}) {{ {SELECTION} }} }}", ("subaccounts",)
    if name == "orders(subaccountId)":
        query = f'query({VARS}) {{ orders({PAGE_ARGS}, subaccountId: "{sub}") {{ {SELECTION} }} }}'
        return query, ("orders",)
    query = f'query({VARS}) {{ subaccount(id: "{sub}") {{ orders({PAGE_ARGS}) {{ {SELECTION} }} }} }}'
    return query, ("subaccount", "orders")


def _rest_ids(sandbox: SandboxServer, path: str, sub: str | None = None) -> tuple[str, ...]:
    headers = {"X-Subaccount-Id": sub} if sub else {}
    response = sandbox.http.get(f"/v1{path}", params={"limit": 100}, headers=headers)
    response.raise_for_status()
    return tuple(item["id"] for item in response.json()["data"])


def fetch(gateway: GatewayServer, listing: Listing, **args: Any) -> dict[str, Any]:
    connection: Any = ok(gateway.gql(listing.query, args))
    for key in listing.path:
        connection = connection[key]
    connection["ids"] = [edge["node"]["upstreamId"] for edge in connection["edges"]]
    return dict(connection)


@pytest.fixture
def listings(gateway: GatewayServer, sandbox: SandboxServer) -> list[Listing]:
    """13 orders of the main account, 9 subaccounts, 11 orders in one of them, made over REST."""
    subs = [sandbox.http.post("/v1/subaccounts", json={"name": f"s{n}"}).json()["id"] for n in range(9)]
    for n in range(13):
        sandbox.http.post("/v1/orders", json={"amount_kg": n + 1}).raise_for_status()
    for n in range(11):
        headers = {"X-Subaccount-Id": subs[4]}
        sandbox.http.post("/v1/orders", json={"amount_kg": n + 1}, headers=headers).raise_for_status()
    rest = {
        "orders": _rest_ids(sandbox, "/orders"),
        "subaccounts": _rest_ids(sandbox, "/subaccounts"),
        "orders(subaccountId)": _rest_ids(sandbox, "/orders", subs[4]),
        "Subaccount.orders": _rest_ids(sandbox, "/orders", subs[4]),
    }
    result = []
    for name, ids in rest.items():
        query, path = _query(name, subs[4])
        listing = Listing(name, query, path, ids)
        everything = fetch(gateway, listing, first=100)
        assert everything["ids"] == list(ids), name
        cursors = tuple(edge["cursor"] for edge in everything["edges"])
        result.append(Listing(name, query, path, ids, cursors))
    assert len(result[0].rest_ids) >= 13 and len(result[2].rest_ids) == 11
    return result


SLOW = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SLOW
@given(data=st.data())
def test_a_page_is_the_slice_next_to_its_cursor(
    gateway: GatewayServer, listings: list[Listing], data: st.DataObject
) -> None:
    listing = data.draw(st.sampled_from(listings), label="connection")
    total = len(listing.rest_ids)
    size = data.draw(st.integers(0, total + 3), label="size")
    if data.draw(st.booleans(), label="backwards"):
        at = data.draw(st.integers(0, total - 1), label="before index")
        page = fetch(gateway, listing, last=size, before=listing.cursors[at])
        expected = listing.rest_ids[max(0, at - size) : at]
        flags = (at - size > 0, True)
    else:
        at = data.draw(st.one_of(st.none(), st.integers(0, total - 1)), label="after index")
        after = None if at is None else listing.cursors[at]
        start = 0 if at is None else at + 1
        page = fetch(gateway, listing, first=size, after=after)
        expected = listing.rest_ids[start : start + size]
        flags = (at is not None, start + size < total)
    assert page["ids"] == list(expected), listing.name
    info = page["pageInfo"]
    assert (info["hasPreviousPage"], info["hasNextPage"]) == flags, listing.name
    if expected:
        assert (info["startCursor"], info["endCursor"]) == (
            page["edges"][0]["cursor"],
            page["edges"][-1]["cursor"],
        )


@SLOW
@given(data=st.data())
def test_walks_in_either_direction_see_every_item_once_in_order(
    gateway: GatewayServer, listings: list[Listing], data: st.DataObject
) -> None:
    listing = data.draw(st.sampled_from(listings), label="connection")
    size = data.draw(st.integers(1, 6), label="size")
    seen: list[str] = []
    after = None
    while True:
        page = fetch(gateway, listing, first=size, after=after)
        seen += page["ids"]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == list(listing.rest_ids)
    # Backwards from the oldest item (`last` needs `before`), then that item itself.
    seen = [listing.rest_ids[-1]]
    before = listing.cursors[-1]
    while True:
        page = fetch(gateway, listing, last=size, before=before)
        assert len(page["ids"]) == size or not page["pageInfo"]["hasPreviousPage"]
        seen = page["ids"] + seen
        if not page["pageInfo"]["hasPreviousPage"]:
            break
        before = page["pageInfo"]["startCursor"]
    assert seen == list(listing.rest_ids)
