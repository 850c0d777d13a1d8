"""Impact data and hosted page config, computed from fulfilled orders."""

from __future__ import annotations

from datetime import timedelta

import httpx
from starlette.applications import Starlette

from sandbox import clock
from sandbox.orders import ORDERS
from tests.sandbox.sandbox_helpers import assert_problem, create_subaccount, place_order


async def _fulfilled(client: httpx.AsyncClient, amount: float, **extra: object) -> str:
    order = await place_order(client, amount, **extra)
    response = await client.post(f"/_sandbox/orders/{order['id']}/fulfil")
    assert response.status_code == 200
    return str(order["id"])


async def test_empty_account(client: httpx.AsyncClient) -> None:
    data = (await client.get("/v1/impact/data")).json()
    assert data["name"] == "Sandbox Account"
    assert data["total_offset_kgs"] == 0 and data["categories"] == []
    assert data["equivalents"] == {
        "cars_off_the_road": 0,
        "trees_planted": 0,
        "homes_annual_energy_usage": 0,
        "flights_lax_to_nyc": 0,
    }
    assert data["to_date"] is None and clock.parse_ts(data["since_date"])


async def test_totals_categories_and_equivalents(client: httpx.AsyncClient) -> None:
    await _fulfilled(client, 3000)
    await _fulfilled(client, 6000)
    await place_order(client, 500)  # placed: not counted
    cancelled = await place_order(client, 700)
    await client.post(f"/v1/orders/{cancelled['id']}/cancel")
    data = (await client.get("/v1/impact/data")).json()
    assert data["total_offset_kgs"] == 9000
    assert data["equivalents"]["trees_planted"] == 150.0
    assert data["equivalents"]["cars_off_the_road"] == round(9000 / 4600, 2)
    assert [(c["category"]["name"], c["offset_kgs"]) for c in data["categories"]] == [
        ("Sandbox Project Category A", 3150),
        ("Sandbox Project Category B", 3150),
        ("Sandbox Project Category C", 1800),
        ("Sandbox Project Category D", 900),
    ]
    first = data["categories"][0]
    assert set(first["category"]) == {"name", "description"}
    assert first["projects"][0]["project"]["id"] == "I0UbDH"
    assert first["projects"][0]["offset_kgs"] == 3150
    assert first["projects"][0]["vintages"] == "2022"


async def test_from_and_to_filter_by_creation_time(app: Starlette, client: httpx.AsyncClient) -> None:
    old_id = await _fulfilled(client, 1000)
    await _fulfilled(client, 2000)
    old = app.state.services.store.get(ORDERS, old_id)
    old["order"]["created_on"] = "2024-01-15T00:00:00.000000Z"
    params = {"from": "2024-01-01T00:00:00Z", "to": "2024-02-01T00:00:00.000Z"}
    data = (await client.get("/v1/impact/data", params=params)).json()
    assert data["total_offset_kgs"] == 1000
    assert data["since_date"] == "2024-01-01T00:00:00.000000Z"
    assert data["to_date"] == "2024-02-01T00:00:00.000000Z"
    since = clock.format_ts(clock.now() - timedelta(days=1))
    assert (await client.get("/v1/impact/data", params={"from": since})).json()["total_offset_kgs"] == 2000


async def test_bad_dates(client: httpx.AsyncClient) -> None:
    assert (
        "from"
        in assert_problem(
            await client.get("/v1/impact/data", params={"from": "yesterday"}), 400, "invalid-parameters"
        )["errors"]
    )
    reversed_range = {"from": "2024-02-01T00:00:00Z", "to": "2024-01-01T00:00:00Z"}
    assert_problem(await client.get("/v1/impact/data", params=reversed_range), 400, "invalid-parameters")


async def test_subaccount_scope(client: httpx.AsyncClient) -> None:
    sub = await create_subaccount(client, "Traveller", logo_url="https://example.com/t.png")
    scoped = {"X-Subaccount-Id": sub["id"]}
    await _fulfilled(client, 100, headers=scoped)
    await _fulfilled(client, 1000)
    mine = (await client.get("/v1/impact/data", headers=scoped)).json()
    assert (mine["name"], mine["logo_url"], mine["total_offset_kgs"]) == ("Traveller", sub["logo_url"], 100)
    assert mine["since_date"] == sub["created_on"]
    assert (await client.get("/v1/impact/data")).json()["total_offset_kgs"] == 1100


async def test_hosted_page_config(client: httpx.AsyncClient) -> None:
    config = (await client.get("/v1/impact/hosted-page-config")).json()
    assert config["enabled"] is True
    assert config["url"].startswith("https://impact.cnaught.com/")
    assert config["enabled_equivalents"] == ["cars", "homes", "flights", "trees"]
    sub = await create_subaccount(client)
    scoped = (
        await client.get("/v1/impact/hosted-page-config", headers={"X-Subaccount-Id": sub["id"]})
    ).json()
    assert scoped["url"] == f"{config['url']}/{sub['id']}"
