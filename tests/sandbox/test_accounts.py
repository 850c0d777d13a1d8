"""Auth (Bearer keys, isolated accounts) and X-Subaccount-Id scoping."""

from __future__ import annotations

import httpx
import pytest

from tests.sandbox.sandbox_helpers import (
    asgi_client,
    assert_problem,
    create_subaccount,
    make_app,
    place_order,
)

ENDPOINTS = [
    ("GET", "/v1/orders"),
    ("POST", "/v1/orders"),
    ("GET", "/v1/orders/abc"),
    ("POST", "/v1/quotes"),
    ("GET", "/v1/impact/data"),
    ("GET", "/v1/subaccounts"),
    ("GET", "/v1/portfolios"),
    ("GET", "/v1/projects/I0UbDH"),
    ("POST", "/v1/checkout/sessions"),
    ("POST", "/_sandbox/orders/abc/fulfil"),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
@pytest.mark.parametrize("authorization", [None, "", "Bearer", "Bearer  ", "Basic dXNlcjpwYXNz", "Token abc"])
async def test_missing_or_malformed_key_is_401(
    client: httpx.AsyncClient, method: str, path: str, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    request = client.build_request(method, path, json={}, headers=headers)
    if authorization is None:
        del request.headers["Authorization"]
    problem = assert_problem(await client.send(request), 401, "about:blank")
    assert problem["title"] == "Unauthorized"


async def test_configured_keys_only_accept_those() -> None:
    async with asgi_client(make_app(api_keys=["alpha", "beta"]), key="alpha") as client:
        assert (await client.get("/v1/orders")).status_code == 200
        assert (await client.get("/v1/orders", headers={"Authorization": "Bearer beta"})).status_code == 200
        assert_problem(
            await client.get("/v1/orders", headers={"Authorization": "Bearer gamma"}), 401, "about:blank"
        )


async def test_each_key_is_an_isolated_account(client: httpx.AsyncClient) -> None:
    mine = await place_order(client)
    sub = await create_subaccount(client)
    other = {"Authorization": "Bearer another-key"}
    assert (await client.get("/v1/orders", headers=other)).json() == {"data": []}
    assert (await client.get("/v1/subaccounts", headers=other)).json() == {"data": []}
    assert_problem(await client.get(f"/v1/orders/{mine['id']}", headers=other), 404, "not-found")
    assert_problem(await client.post(f"/v1/orders/{mine['id']}/cancel", headers=other), 404, "not-found")
    assert_problem(await client.get(f"/v1/subaccounts/{sub['id']}", headers=other), 404, "not-found")
    response = await client.get("/v1/orders", headers={**other, "X-Subaccount-Id": sub["id"]})
    assert_problem(response, 400, "invalid-subaccount")


async def test_subaccount_scoping_of_orders(client: httpx.AsyncClient) -> None:
    sub = await create_subaccount(client)
    scoped = {"X-Subaccount-Id": sub["id"]}
    parent_order = await place_order(client)
    sub_order = await place_order(client, headers=scoped)
    assert sub_order["subaccount_id"] == sub["id"]
    listed = (await client.get("/v1/orders", headers=scoped)).json()["data"]
    assert [o["id"] for o in listed] == [sub_order["id"]]
    everything = (await client.get("/v1/orders")).json()["data"]
    assert [o["id"] for o in everything] == [sub_order["id"], parent_order["id"]]
    assert (await client.get(f"/v1/orders/{sub_order['id']}", headers=scoped)).status_code == 200
    assert_problem(await client.get(f"/v1/orders/{parent_order['id']}", headers=scoped), 404, "not-found")
    assert_problem(
        await client.post(f"/v1/orders/{parent_order['id']}/cancel", headers=scoped), 404, "not-found"
    )
    assert (await client.get(f"/v1/orders/{parent_order['id']}")).json()["state"] == "placed"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/v1/orders", None),
        ("POST", "/v1/orders", {"amount_kg": 1}),
        ("POST", "/v1/orders/ride", {"distance_km": 1}),
        ("GET", "/v1/orders/abc", None),
        ("POST", "/v1/orders/abc/cancel", None),
        ("POST", "/v1/quotes/flight", {"distance_km": 1}),
        ("GET", "/v1/impact/data", None),
        ("GET", "/v1/impact/hosted-page-config", None),
        (
            "POST",
            "/v1/checkout/sessions",
            {"amount_kg": 100, "success_url": "https://a", "cancel_url": "https://b"},
        ),
    ],
)
async def test_unknown_subaccount_is_invalid_subaccount(
    client: httpx.AsyncClient, method: str, path: str, body: object
) -> None:
    response = await client.request(method, path, json=body, headers={"X-Subaccount-Id": "nosuchsb"})
    assert_problem(response, 400, "invalid-subaccount")


async def test_deleted_subaccount_is_no_longer_valid(client: httpx.AsyncClient) -> None:
    sub = await create_subaccount(client)
    assert (await client.delete(f"/v1/subaccounts/{sub['id']}")).status_code == 204
    response = await client.get("/v1/orders", headers={"X-Subaccount-Id": sub["id"]})
    assert_problem(response, 400, "invalid-subaccount")


async def test_subaccounts_not_provisioned_is_403() -> None:
    async with asgi_client(make_app(subaccounts_enabled=False)) as client:
        problem = assert_problem(await client.get("/v1/subaccounts"), 403, "forbidden")
        assert (
            problem["detail"] == "User is not allowed to use subaccounts. Contact support to request access."
        )
        assert_problem(await client.post("/v1/subaccounts", json={"name": "x"}), 403, "forbidden")
        assert_problem(
            await client.get("/v1/orders", headers={"X-Subaccount-Id": "abcdefgh"}), 403, "forbidden"
        )
        assert (await client.get("/v1/orders")).status_code == 200


async def test_unknown_route_and_method_are_problems(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/v1/nothing-here"), 404, "not-found")
    wrong_method = await client.delete("/v1/orders")
    assert_problem(wrong_method, 405, "about:blank")
    # Allow names every method of the resource, not only those of the first route that matched the path.
    assert wrong_method.headers["allow"] == "GET, HEAD, POST"
    assert (await client.post("/v1/orders/abc")).headers["allow"] == "GET, HEAD"
    assert (await client.get("/product-api/oauth/token")).headers["allow"] == "POST"  # inside a Mount
