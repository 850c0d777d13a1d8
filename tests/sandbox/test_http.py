"""Every endpoint family once more over real HTTP, against a uvicorn-served sandbox."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from tests.sandbox.sandbox_helpers import make_app
from tests.sandbox.test_quotes import VECTORS
from tests.servers import serve


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with serve(make_app(fulfilment_delay=0)) as base:
        yield base


@pytest.fixture
def http(base_url: str, request: pytest.FixtureRequest) -> Iterator[httpx.Client]:
    # One account per test: the key is the test's name, so tests cannot see each other's state.
    headers = {"Authorization": f"Bearer {request.node.name}"}
    with httpx.Client(base_url=f"{base_url}/v1", headers=headers) as client:
        yield client


def test_orders(http: httpx.Client) -> None:
    created = http.post("/orders", json={"amount_kg": 100}, headers={"Idempotency-Key": "h-1"})
    assert created.status_code == 201 and created.headers["content-type"] == "application/json"
    replay = http.post("/orders", json={"amount_kg": 100}, headers={"Idempotency-Key": "h-1"})
    assert replay.headers["x-idempotent-replay"] == "true" and replay.json()["id"] == created.json()["id"]
    order_id = created.json()["id"]
    deadline = time.monotonic() + 30
    while http.get(f"/orders/{order_id}").json()["state"] != "fulfilled":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    ride = http.post("/orders/ride", json={"distance_km": 30}).json()
    assert [o["id"] for o in http.get("/orders", params={"limit": 1}).json()["data"]] == [ride["id"]]
    assert http.post(f"/orders/{order_id}/cancel").json()["state"] == "cancelled"


@pytest.mark.parametrize(("path", "body", "kg", "cents"), VECTORS)
def test_quotes(http: httpx.Client, path: str, body: dict[str, object], kg: int, cents: int) -> None:
    assert http.post(path.removeprefix("/v1"), json=body).json() == {
        "amount_kg": kg,
        "price_usd_cents": cents,
    }


def test_impact(http: httpx.Client) -> None:
    data = http.get("/impact/data", params={"from": "2024-01-01T00:00:00Z"}).json()
    assert data["since_date"] == "2024-01-01T00:00:00.000000Z" and data["total_offset_kgs"] == 0
    assert http.get("/impact/hosted-page-config").json()["enabled"] is True


def test_subaccounts(http: httpx.Client) -> None:
    sub = http.post("/subaccounts", json={"name": "Over HTTP", "email": "a@b.c"}).json()
    upload = http.put(
        f"/subaccounts/{sub['id']}/logo", content=b"<svg/>", headers={"Content-Type": "image/svg+xml"}
    )
    assert upload.json()["logo_url"].endswith(".svg")
    assert http.put(f"/subaccounts/{sub['id']}", json={"name": "Renamed"}).json()["email"] is None
    scoped = http.post("/orders", json={"amount_kg": 1}, headers={"X-Subaccount-Id": sub["id"]}).json()
    assert scoped["subaccount_id"] == sub["id"]
    assert http.delete(f"/subaccounts/{sub['id']}").status_code == 400
    other = http.post("/subaccounts", json={"name": "Empty"}).json()
    assert http.delete(f"/subaccounts/{other['id']}").status_code == 204
    assert [s["id"] for s in http.get("/subaccounts").json()["data"]] == [sub["id"]]


def test_catalogue(http: httpx.Client) -> None:
    assert [p["id"] for p in http.get("/portfolios").json()["data"]] == ["oH5hlq", "ixmZSK"]
    assert http.get("/portfolios/oH5hlq").json()["api_price_per_kg_usd_cents"] == 2
    assert http.get("/projects/I0UbDH").json()["credit_issuances"][0] == {
        "vintage_year": 2022,
        "total_amount": 5000,
    }
    assert http.get("/project-categories/hkgyn3").json()["projects"][0]["id"] == "I0UbDH"


def test_checkout(http: httpx.Client, base_url: str) -> None:
    body = {
        "amount_kg": 30,
        "success_url": "https://x.example/{CHECKOUT_SESSION_ID}",
        "cancel_url": "https://x.example",
    }
    session = http.post("/checkout/sessions", json=body).json()
    assert http.get(f"/checkout/sessions/{session['id']}").json()["state"] == "open"
    done = http.post(f"{base_url}/_sandbox/checkout/sessions/{session['id']}/complete")
    assert done.json()["state"] == "complete"
    assert (
        http.get(f"/orders/{done.headers['x-sandbox-order-id']}").json()["checkout_session_id"]
        == session["id"]
    )


def test_errors(http: httpx.Client) -> None:
    unauthorized = http.get("/orders", headers={"Authorization": ""})
    assert unauthorized.status_code == 401
    assert unauthorized.headers["content-type"] == "application/problem+json"
    invalid = http.post("/orders", json={"amount_kg": -10})
    assert invalid.json()["type"] == "https://api.cnaught.com/v1/errors/invalid-parameters"
    missing = http.get("/orders/nope")
    assert (missing.status_code, missing.json()["title"]) == (404, "Could not find order")
