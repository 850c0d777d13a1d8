"""Quotes: every test vector of the reference's section 2.2, plus validation and price lists."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from tests.sandbox.sandbox_helpers import assert_problem

VECTORS = [
    ("/v1/quotes", {"amount_kg": 10}, 10, 20),
    ("/v1/quotes/air-freight", {"freight_mass_kg": 10, "distance_km": 100}, 2, 4),
    ("/v1/quotes/flight", {"distance_km": 100}, 10, 20),
    ("/v1/quotes/ground-freight", {"freight_mass_kg": 100, "distance_km": 1000}, 14, 28),
    ("/v1/quotes/ground-transport", {"distance_km": 1000, "vehicle_type": "school_bus"}, 745, 1490),
    ("/v1/quotes/office-space", {"square_footage": 1000}, 8600, 17200),
    ("/v1/quotes/train", {"distance_km": 1000}, 38, 76),
    ("/v1/quotes/ride", {"distance_km": 30}, 8, 16),
]


@pytest.mark.parametrize(("path", "body", "kg", "cents"), VECTORS)
async def test_reference_vectors(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], kg: int, cents: int
) -> None:
    response = await client.post(path, json=body)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"amount_kg": kg, "price_usd_cents": cents}


@pytest.mark.parametrize(("path", "body", "kg", "cents"), VECTORS)
async def test_vectors_hold_for_checkout_source_and_alternative_portfolio(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], kg: int, cents: int
) -> None:
    response = await client.post(path, json={**body, "source": "checkout", "portfolio_id": "ixmZSK"})
    assert response.json() == {"amount_kg": kg, "price_usd_cents": cents}


@pytest.mark.parametrize(
    ("vehicle", "kg"), [("passenger_car_van_or_suv", 250), ("small_bus", 420), ("coach_bus", 1070)]
)
async def test_other_vehicle_types(client: httpx.AsyncClient, vehicle: str, kg: int) -> None:
    response = await client.post(
        "/v1/quotes/ground-transport", json={"distance_km": 1000, "vehicle_type": vehicle}
    )
    assert response.json() == {"amount_kg": kg, "price_usd_cents": 2 * kg}


async def test_ride_quote_equals_passenger_car_ground_transport(client: httpx.AsyncClient) -> None:
    ride = await client.post("/v1/quotes/ride", json={"distance_km": 123})
    car = await client.post(
        "/v1/quotes/ground-transport", json={"distance_km": 123, "vehicle_type": "passenger_car_van_or_suv"}
    )
    assert ride.json() == car.json()


async def test_mass_quote_keeps_fractional_mass_and_rounds_price_up(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/quotes", json={"amount_kg": 8.5})
    assert response.json() == {"amount_kg": 8.5, "price_usd_cents": 17}
    response = await client.post("/v1/quotes", json={"amount_kg": 0.1})
    assert response.json() == {"amount_kg": 0.1, "price_usd_cents": 1}


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/quotes", {"amount_kg": -10}, "amount_kg"),
        ("/v1/quotes", {"amount_kg": 0}, "amount_kg"),
        ("/v1/quotes", {"amount_kg": "10"}, "amount_kg"),
        ("/v1/quotes", {}, "amount_kg"),
        ("/v1/quotes/flight", {"distance_km": -1}, "distance_km"),
        ("/v1/quotes/air-freight", {"distance_km": 100}, "freight_mass_kg"),
        ("/v1/quotes/ground-transport", {"distance_km": 10, "vehicle_type": "tank"}, "vehicle_type"),
        ("/v1/quotes/office-space", {"square_footage": None}, "square_footage"),
        ("/v1/quotes/train", {"distance_km": 10, "source": "retail"}, "source"),
        ("/v1/quotes/ride", {"distance_km": True}, "distance_km"),
    ],
)
async def test_invalid_input_is_invalid_parameters(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], field: str
) -> None:
    problem = assert_problem(await client.post(path, json=body), 400, "invalid-parameters")
    assert problem["title"] == "Your request parameters didn't validate"
    assert field in problem["errors"]
    assert all(isinstance(m, str) and m for m in problem["errors"][field])


async def test_unreadable_body_is_invalid_parameters(client: httpx.AsyncClient) -> None:
    for content in (b"", b"{not json", b"[1, 2]"):
        response = await client.post(
            "/v1/quotes", content=content, headers={"Content-Type": "application/json"}
        )
        assert "body" in assert_problem(response, 400, "invalid-parameters")["errors"]


async def test_unknown_portfolio_is_invalid_parameters(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/quotes", json={"amount_kg": 1, "portfolio_id": "nope00"})
    assert "portfolio_id" in assert_problem(response, 400, "invalid-parameters")["errors"]


async def test_quotes_honour_subaccount_header(client: httpx.AsyncClient) -> None:
    sub = (await client.post("/v1/subaccounts", json={"name": "A", "default_portfolio_id": "ixmZSK"})).json()
    response = await client.post(
        "/v1/quotes/train", json={"distance_km": 1000}, headers={"X-Subaccount-Id": sub["id"]}
    )
    assert response.json() == {"amount_kg": 38, "price_usd_cents": 76}
    response = await client.post(
        "/v1/quotes/train", json={"distance_km": 1000}, headers={"X-Subaccount-Id": "zzzzzzzz"}
    )
    assert_problem(response, 400, "invalid-subaccount")


@pytest.mark.parametrize("raw", [b'{"amount_kg": Infinity}', b'{"amount_kg": NaN}', b'{"amount_kg": 1e300}'])
async def test_non_finite_and_huge_numbers_are_rejected(client: httpx.AsyncClient, raw: bytes) -> None:
    response = await client.post("/v1/quotes", content=raw, headers={"Content-Type": "application/json"})
    assert "amount_kg" in assert_problem(response, 400, "invalid-parameters")["errors"]


async def test_largest_inputs_still_price(client: httpx.AsyncClient) -> None:
    body = {"freight_mass_kg": 1e9, "distance_km": 1e9}
    response = await client.post("/v1/quotes/air-freight", json=body)
    assert response.json() == {"amount_kg": 1_130_000_000_000_000, "price_usd_cents": 2_260_000_000_000_000}


async def test_source_picks_the_price_list(app: Starlette, client: httpx.AsyncClient) -> None:
    # The seed prices both lists at 2 cents/kg; a fractional checkout price shows which list is used.
    app.state.services.catalogue.portfolio_details["oH5hlq"]["checkout_price_per_kg_usd_cents"] = 1.6
    api = await client.post("/v1/quotes", json={"amount_kg": 3})
    checkout = await client.post("/v1/quotes", json={"amount_kg": 3, "source": "checkout"})
    assert api.json() == {"amount_kg": 3, "price_usd_cents": 6}
    assert checkout.json() == {"amount_kg": 3, "price_usd_cents": 5}  # 4.8 rounded up
    session = await client.post(
        "/v1/checkout/sessions",
        json={"amount_kg": 40, "success_url": "https://a.example", "cancel_url": "https://a.example"},
    )
    assert session.json()["price_usd_cents"] == 64
