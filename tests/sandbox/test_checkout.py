"""Checkout sessions: create, get, validation, completion into an order, expiry."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from sandbox import clock
from sandbox.checkout import SESSIONS
from tests.sandbox.sandbox_helpers import assert_problem, create_subaccount

VALID = {
    "amount_kg": 25,
    "success_url": "https://shop.example.com/thanks?session={CHECKOUT_SESSION_ID}",
    "cancel_url": "https://shop.example.com/cart",
}


async def _create(client: httpx.AsyncClient, **extra: Any) -> dict[str, Any]:
    headers = extra.pop("headers", None)
    response = await client.post("/v1/checkout/sessions", json={**VALID, **extra}, headers=headers)
    assert response.status_code == 201, response.text
    session: dict[str, Any] = response.json()
    return session


async def test_create_and_get(client: httpx.AsyncClient) -> None:
    session = await _create(
        client, description="Gift", notification_config={"url": "https://h.example.com/cb"}
    )
    assert re.fullmatch(r"[A-Za-z0-9]{10}", session["id"])
    assert session["state"] == "open"
    assert (session["amount_kg"], session["price_usd_cents"]) == (25, 50)
    assert session["checkout_url"] == f"https://checkout.cnaught.com/pay/{session['id']}"
    assert session["success_url"] == VALID["success_url"]
    created, expires = clock.parse_ts(session["created_on"]), clock.parse_ts(session["expires_on"])
    assert expires - created == timedelta(hours=24)
    assert session["completed_on"] is None
    assert session["portfolio_id"] == "oH5hlq" and session["subaccount_id"] is None
    assert session["order_description"] == "Gift"
    assert session["order_webhook_url"] == "https://h.example.com/cb"
    assert (await client.get(f"/v1/checkout/sessions/{session['id']}")).json() == session


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"success_url": "http://shop.example.com/ok"}, "success_url"),
        ({"success_url": "/relative"}, "success_url"),
        ({"cancel_url": "shop.example.com/cart"}, "cancel_url"),
        ({"amount_kg": 0}, "amount_kg"),
        ({"amount_kg": 24.4}, "amount_kg"),  # 48.8 -> 49 cents < 50
        ({"description": "d" * 513}, "description"),
    ],
)
async def test_invalid_sessions(client: httpx.AsyncClient, change: dict[str, Any], field: str) -> None:
    response = await client.post("/v1/checkout/sessions", json={**VALID, **change})
    assert field in assert_problem(response, 400, "invalid-parameters")["errors"]


async def test_unknown_portfolio_is_forbidden(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/checkout/sessions", json={**VALID, "portfolio_id": "nope00"})
    assert_problem(response, 403, "forbidden")


async def test_complete_creates_the_order(client: httpx.AsyncClient) -> None:
    sub = await create_subaccount(client)
    session = await _create(
        client,
        description="Gift",
        notification_config={"url": "https://h.example.com/cb"},
        headers={"X-Subaccount-Id": sub["id"]},
    )
    assert session["subaccount_id"] == sub["id"]
    response = await client.post(f"/_sandbox/checkout/sessions/{session['id']}/complete")
    assert response.status_code == 200
    completed = response.json()
    assert completed["state"] == "complete" and completed["completed_on"] is not None
    assert (
        response.headers["x-sandbox-success-url"]
        == f"https://shop.example.com/thanks?session={session['id']}"
    )
    order = (await client.get(f"/v1/orders/{response.headers['x-sandbox-order-id']}")).json()
    assert order["checkout_session_id"] == session["id"]
    assert (order["amount_kg"], order["price_usd_cents"], order["state"]) == (25, 50, "placed")
    assert (order["description"], order["callback_url"]) == ("Gift", "https://h.example.com/cb")
    assert order["subaccount_id"] == sub["id"]
    again = await client.post(f"/_sandbox/checkout/sessions/{session['id']}/complete")
    assert_problem(again, 403, "forbidden")
    assert len((await client.get("/v1/orders")).json()["data"]) == 1


async def test_success_url_with_non_ascii_is_percent_encoded_in_the_header(client: httpx.AsyncClient) -> None:
    session = await _create(client, success_url="https://shop.example.com/danke/ü?s={CHECKOUT_SESSION_ID}")
    response = await client.post(f"/_sandbox/checkout/sessions/{session['id']}/complete")
    assert response.status_code == 200
    assert response.headers["x-sandbox-success-url"] == (
        f"https://shop.example.com/danke/%C3%BC?s={session['id']}"
    )


async def test_sessions_expire_after_24_hours(app: Starlette, client: httpx.AsyncClient) -> None:
    session = await _create(client)
    doc = app.state.services.store.get(SESSIONS, session["id"])
    doc["session"]["expires_on"] = clock.format_ts(clock.now() - timedelta(seconds=1))
    fetched = (await client.get(f"/v1/checkout/sessions/{session['id']}")).json()
    assert fetched["state"] == "expired"
    assert_problem(
        await client.post(f"/_sandbox/checkout/sessions/{session['id']}/complete"), 403, "forbidden"
    )


async def test_other_accounts_cannot_see_a_session(client: httpx.AsyncClient) -> None:
    session = await _create(client)
    other = {"Authorization": "Bearer someone-else"}
    assert_problem(
        await client.get(f"/v1/checkout/sessions/{session['id']}", headers=other), 404, "not-found"
    )
    assert_problem(await client.get("/v1/checkout/sessions/nosuchsess"), 404, "not-found")
