"""Orders: create by mass or price, ride orders, get, list, cancel, and their errors."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.sandbox.sandbox_helpers import assert_problem, place_order

ORDER_FIELDS = {
    "id",
    "order_number",
    "created_on",
    "metadata",
    "description",
    "amount_kg",
    "state",
    "price_usd_cents",
    "callback_url",
    "certificate_public_url",
    "certificate_download_public_url",
    "subaccount_id",
    "project_allocations",
    "checkout_session_id",
}


async def test_create_by_mass_returns_placed_order_in_documented_shape(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/orders",
        json={
            "amount_kg": 100,
            "description": "On behalf of Jane Smith",
            "metadata": "Customer metadata",
            "notification_config": {"url": "https://example.com/hook"},
        },
    )
    assert response.status_code == 201
    order = response.json()
    assert set(order) == ORDER_FIELDS
    assert re.fullmatch(r"[A-Za-z0-9]{12}", order["id"])
    assert re.fullmatch(r"\d{5}-\d{5}-\d{5}-\d{5}-\d{4}", order["order_number"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", order["created_on"])
    assert order["state"] == "placed"
    assert (order["amount_kg"], order["price_usd_cents"]) == (100, 200)
    assert order["callback_url"] == "https://example.com/hook"
    assert order["description"] == "On behalf of Jane Smith"
    assert order["metadata"] == "Customer metadata"
    assert order["certificate_public_url"] == f"https://registry.cnaught.com/orders/{order['id']}"
    assert (
        order["certificate_download_public_url"]
        == f"https://registry.cnaught.com/api/certificates/{order['id']}/pdf"
    )
    assert order["project_allocations"] == []
    assert order["subaccount_id"] is None and order["checkout_session_id"] is None
    assert (await client.get(f"/v1/orders/{order['id']}")).json() == order


async def test_create_by_price_derives_whole_kg(client: httpx.AsyncClient) -> None:
    order = (await client.post("/v1/orders", json={"total_price_usd_cents": 3190})).json()
    assert (order["amount_kg"], order["price_usd_cents"]) == (1595, 3190)
    order = (await client.post("/v1/orders", json={"total_price_usd_cents": 3191})).json()
    assert (order["amount_kg"], order["price_usd_cents"]) == (1595, 3190)


async def test_fractional_amount_prices_rounded_up(client: httpx.AsyncClient) -> None:
    order = await place_order(client, 10.5)
    assert (order["amount_kg"], order["price_usd_cents"]) == (10.5, 21)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount_kg": -10}, "amount_kg"),
        ({}, "amount_kg"),
        ({"amount_kg": 10, "total_price_usd_cents": 20}, "total_price_usd_cents"),
        ({"total_price_usd_cents": 1}, "total_price_usd_cents"),
        ({"total_price_usd_cents": 10.5}, "total_price_usd_cents"),
        ({"amount_kg": 1, "description": "x" * 513}, "description"),
        ({"amount_kg": 1, "metadata": "x" * 513}, "metadata"),
        ({"amount_kg": 1, "notification_config": {}}, "notification_config.url"),
    ],
)
async def test_invalid_orders(client: httpx.AsyncClient, body: dict[str, object], field: str) -> None:
    problem = assert_problem(await client.post("/v1/orders", json=body), 400, "invalid-parameters")
    assert field in problem["errors"]
    assert (await client.get("/v1/orders")).json() == {"data": []}


async def test_limits_are_inclusive_512(client: httpx.AsyncClient) -> None:
    order = await place_order(client, 1, description="d" * 512, metadata="m" * 512)
    assert len(order["description"]) == len(order["metadata"]) == 512


async def test_unknown_portfolio_is_forbidden(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/orders", json={"amount_kg": 1, "portfolio_id": "nope00"})
    assert_problem(response, 403, "forbidden")


async def test_ride_order_uses_ride_quote(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/orders/ride", json={"distance_km": 30, "metadata": "ride 1"})
    assert response.status_code == 201
    order = response.json()
    assert (order["amount_kg"], order["price_usd_cents"], order["state"]) == (8, 16, "placed")
    assert order["metadata"] == "ride 1"
    assert_problem(await client.post("/v1/orders/ride", json={"distance_km": 0}), 400, "invalid-parameters")


async def test_get_unknown_order_is_not_found(client: httpx.AsyncClient) -> None:
    problem = assert_problem(await client.get("/v1/orders/doesnotexist"), 404, "not-found")
    assert problem["title"] == "Could not find order"
    problem = assert_problem(await client.post("/v1/orders/doesnotexist/cancel"), 404, "not-found")
    assert problem["title"] == "Could not find order"


async def test_cancel_placed_then_again_is_forbidden(client: httpx.AsyncClient) -> None:
    order = await place_order(client)
    response = await client.post(f"/v1/orders/{order['id']}/cancel")
    assert response.status_code == 200
    cancelled = response.json()
    assert cancelled["state"] == "cancelled"
    assert (
        cancelled["certificate_public_url"] is None and cancelled["certificate_download_public_url"] is None
    )
    assert (await client.get(f"/v1/orders/{order['id']}")).json() == cancelled
    assert_problem(await client.post(f"/v1/orders/{order['id']}/cancel"), 403, "forbidden")


async def test_fulfilled_order_can_be_cancelled(client: httpx.AsyncClient) -> None:
    order = await place_order(client, 3000)
    fulfilled = (await client.post(f"/_sandbox/orders/{order['id']}/fulfil")).json()
    assert fulfilled["state"] == "fulfilled"
    cancelled = (await client.post(f"/v1/orders/{order['id']}/cancel")).json()
    assert cancelled["state"] == "cancelled"
    assert cancelled["certificate_public_url"] is None
    assert cancelled["project_allocations"] == fulfilled["project_allocations"]


async def test_fulfilment_splits_by_category_fractions(client: httpx.AsyncClient) -> None:
    order = await place_order(client, 3000)
    fulfilled = (await client.post(f"/_sandbox/orders/{order['id']}/fulfil")).json()
    split = [(a["project"]["name"], a["amount_kg"]) for a in fulfilled["project_allocations"]]
    assert split == [
        ("Sandbox Project A", 1050),
        ("Sandbox Project B", 1050),
        ("Sandbox Project C", 600),
        ("Sandbox Project D", 300),
    ]
    first = fulfilled["project_allocations"][0]
    assert first["retirements"] == [
        {
            "serial_number_range": "SBX-I0UbDH-2022-000000001-000001050",
            "url": "https://registry.cnaught.com/retirements/SBX-I0UbDH-2022-000000001-000001050",
        }
    ]
    assert "credit_issuances" not in first["project"]
    assert fulfilled["certificate_public_url"] == order["certificate_public_url"]


async def test_later_orders_continue_serials_and_span_vintages(client: httpx.AsyncClient) -> None:
    first = await place_order(client, 10000)  # 3500 kg from project A's 2022 vintage (5000)
    second = await place_order(client, 10000)  # 1500 left in 2022, then 2000 from 2023
    await client.post(f"/_sandbox/orders/{first['id']}/fulfil")
    fulfilled = (await client.post(f"/_sandbox/orders/{second['id']}/fulfil")).json()
    serials = [r["serial_number_range"] for r in fulfilled["project_allocations"][0]["retirements"]]
    assert serials == ["SBX-I0UbDH-2022-000003501-000005000", "SBX-I0UbDH-2023-000000001-000002000"]


async def test_order_beyond_inventory_stays_placed(client: httpx.AsyncClient) -> None:
    order = await place_order(client, 1_000_000)
    problem = assert_problem(await client.post(f"/_sandbox/orders/{order['id']}/fulfil"), 409, "about:blank")
    assert "credits" in problem["detail"]
    assert (await client.get(f"/v1/orders/{order['id']}")).json()["state"] == "placed"
    small = await place_order(client, 100)  # nothing was retired by the failed attempt
    fulfilled = (await client.post(f"/_sandbox/orders/{small['id']}/fulfil")).json()
    assert fulfilled["project_allocations"][0]["retirements"][0]["serial_number_range"].endswith(
        "-000000001-000000035"
    )


async def test_fulfil_on_demand_rules(client: httpx.AsyncClient) -> None:
    order = await place_order(client)
    once = (await client.post(f"/_sandbox/orders/{order['id']}/fulfil")).json()
    twice = await client.post(f"/_sandbox/orders/{order['id']}/fulfil")
    assert twice.status_code == 200 and twice.json() == once
    other = await place_order(client)
    await client.post(f"/v1/orders/{other['id']}/cancel")
    assert_problem(await client.post(f"/_sandbox/orders/{other['id']}/fulfil"), 403, "forbidden")
    assert_problem(await client.post("/_sandbox/orders/unknown/fulfil"), 404, "not-found")


async def test_list_is_newest_first(client: httpx.AsyncClient) -> None:
    ids = [(await place_order(client, n))["id"] for n in (1, 2, 3)]
    listed = (await client.get("/v1/orders")).json()
    assert list(listed) == ["data"]
    assert [o["id"] for o in listed["data"]] == ids[::-1]


async def test_fractional_order_is_fulfilled_exactly(client: httpx.AsyncClient) -> None:
    order = await place_order(client, 10.5)
    fulfilled = (await client.post(f"/_sandbox/orders/{order['id']}/fulfil")).json()
    amounts = [a["amount_kg"] for a in fulfilled["project_allocations"]]
    assert amounts == [3.675, 3.675, 2.1, 1.05]
    assert fulfilled["project_allocations"][0]["retirements"][0]["serial_number_range"].endswith(
        "-000000001-000000004"
    )


@pytest.mark.parametrize("url", ["not a url", "/relative/hook", "ftp://example.com/hook", "https://"])
async def test_callback_url_must_be_absolute_http(client: httpx.AsyncClient, url: str) -> None:
    response = await client.post("/v1/orders", json={"amount_kg": 1, "notification_config": {"url": url}})
    assert "notification_config.url" in assert_problem(response, 400, "invalid-parameters")["errors"]
