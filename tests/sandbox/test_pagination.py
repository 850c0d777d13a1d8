"""Pagination of orders and subaccounts: pages, both directions, edges and errors."""

from __future__ import annotations

import httpx
import pytest

from tests.sandbox.sandbox_helpers import assert_problem, create_subaccount, place_order


async def _ids(client: httpx.AsyncClient, path: str, **params: object) -> list[str]:
    response = await client.get(path, params=params)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["data"]]


@pytest.fixture
async def order_ids(client: httpx.AsyncClient) -> list[str]:
    """25 orders, newest first."""
    return [(await place_order(client, n))["id"] for n in range(1, 26)][::-1]


async def test_default_limit_is_20_newest_first(client: httpx.AsyncClient, order_ids: list[str]) -> None:
    assert await _ids(client, "/v1/orders") == order_ids[:20]


async def test_walk_forward_and_back(client: httpx.AsyncClient, order_ids: list[str]) -> None:
    first = await _ids(client, "/v1/orders", limit=10)
    second = await _ids(client, "/v1/orders", limit=10, starting_after=first[-1])
    last = await _ids(client, "/v1/orders", limit=10, starting_after=second[-1])
    assert (first, second, last) == (order_ids[:10], order_ids[10:20], order_ids[20:])
    assert await _ids(client, "/v1/orders", limit=10, starting_after=last[-1]) == []
    assert await _ids(client, "/v1/orders", limit=10, ending_before=last[0]) == second
    assert await _ids(client, "/v1/orders", limit=10, ending_before=second[0]) == first
    assert await _ids(client, "/v1/orders", limit=10, ending_before=first[0]) == []


async def test_ending_before_gives_the_nearest_newer_items(
    client: httpx.AsyncClient, order_ids: list[str]
) -> None:
    assert await _ids(client, "/v1/orders", limit=3, ending_before=order_ids[10]) == order_ids[7:10]
    assert await _ids(client, "/v1/orders", limit=30, ending_before=order_ids[2]) == order_ids[:2]


async def test_limit_bounds(client: httpx.AsyncClient, order_ids: list[str]) -> None:
    assert await _ids(client, "/v1/orders", limit=1) == order_ids[:1]
    assert await _ids(client, "/v1/orders", limit=100) == order_ids
    for bad in (0, 101, -1, "ten"):
        response = await client.get("/v1/orders", params={"limit": bad})
        assert "limit" in assert_problem(response, 400, "invalid-parameters")["errors"]


async def test_both_cursors_and_unknown_cursor(client: httpx.AsyncClient, order_ids: list[str]) -> None:
    both = await client.get(
        "/v1/orders", params={"starting_after": order_ids[0], "ending_before": order_ids[3]}
    )
    assert assert_problem(both, 400, "invalid-pagination")["detail"]
    for param in ("starting_after", "ending_before"):
        response = await client.get("/v1/orders", params={param: "nosuchorder1"})
        assert assert_problem(response, 400, "invalid-pagination")["detail"]


async def test_empty_list(client: httpx.AsyncClient) -> None:
    assert (await client.get("/v1/orders")).json() == {"data": []}
    assert (await client.get("/v1/subaccounts")).json() == {"data": []}


async def test_subaccounts_paginate_the_same_way(client: httpx.AsyncClient) -> None:
    ids = [(await create_subaccount(client, f"s{n}"))["id"] for n in range(5)][::-1]
    assert await _ids(client, "/v1/subaccounts", limit=2) == ids[:2]
    assert await _ids(client, "/v1/subaccounts", limit=2, starting_after=ids[1]) == ids[2:4]
    assert await _ids(client, "/v1/subaccounts", limit=2, ending_before=ids[4]) == ids[2:4]
    assert_problem(
        await client.get("/v1/subaccounts", params={"starting_after": "zzzzzzzz"}), 400, "invalid-pagination"
    )


async def test_cursor_outside_the_subaccount_scope_is_unknown(client: httpx.AsyncClient) -> None:
    sub = await create_subaccount(client)
    parent_order = await place_order(client)
    response = await client.get(
        "/v1/orders", params={"starting_after": parent_order["id"]}, headers={"X-Subaccount-Id": sub["id"]}
    )
    assert_problem(response, 400, "invalid-pagination")
