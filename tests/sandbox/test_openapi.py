"""The sandbox's OpenAPI 3.1 document is valid, covers every route, and describes its real responses."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import httpx
import jsonschema
import pytest
from openapi_spec_validator import validate
from starlette.routing import Route

from sandbox.app import create_app
from sandbox.config import SandboxConfig
from sandbox.openapi import build_document
from tests.servers import serve

DOC = build_document()
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
)
HTTP_METHODS = {"get", "put", "post", "delete", "patch"}


def _resolve(obj: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in obj and obj["$ref"].startswith("#/components/responses/"):
        obj = DOC["components"]["responses"][obj["$ref"].rsplit("/", 1)[1]]
    return obj


def check(response: httpx.Response, template: str) -> Any:
    """Fail unless `response` is one the document lists for this operation, with a body of its schema."""
    method = response.request.method.lower()
    operation = DOC["paths"][template][method]
    documented = operation["responses"].get(str(response.status_code))
    assert documented is not None, f"{method.upper()} {template} answered undocumented {response.status_code}"
    documented = _resolve(documented)
    if "content" not in documented:
        assert response.content == b""
        return None
    media_type = response.headers["content-type"].split(";")[0]
    assert media_type in documented["content"], f"{media_type} not documented for {template}"
    schema = {**documented["content"][media_type]["schema"], "components": DOC["components"]}
    body = response.json()
    jsonschema.validate(body, schema, cls=jsonschema.Draft202012Validator)
    return body


def test_document_is_valid_openapi_3_1() -> None:
    validate(DOC)
    assert DOC["openapi"].startswith("3.1")


def test_document_describes_every_v1_route_and_nothing_else() -> None:
    app = create_app(SandboxConfig(fulfilment_delay=0))
    served = {
        (method.lower(), route.path.removeprefix("/v1"))
        for route in app.routes
        if isinstance(route, Route) and route.path.startswith("/v1/") and route.path != "/v1/openapi.json"
        for method in (route.methods or ()) - {"HEAD"}
    }
    documented = {(m, path) for path, item in DOC["paths"].items() for m in item if m in HTTP_METHODS}
    assert documented == served


def test_security_and_idempotency_headers_are_documented() -> None:
    assert DOC["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "The API key.",
    }
    params = {p["name"] for p in DOC["components"]["parameters"].values()}
    assert {"Idempotency-Key", "X-Subaccount-Id"} <= params
    create = DOC["paths"]["/orders"]["post"]
    assert "X-Idempotent-Replay" in create["responses"]["201"]["headers"]


@pytest.fixture(scope="module")
def api() -> Iterator[httpx.Client]:
    app = create_app(SandboxConfig(fulfilment_delay=3600, enable_admin=True))
    with (
        serve(app) as url,
        httpx.Client(base_url=url, headers={"Authorization": "Bearer openapi-key"}) as client,
    ):
        yield client


def test_openapi_json_is_served(api: httpx.Client) -> None:
    response = api.get("/v1/openapi.json")
    assert response.status_code == 200
    assert response.json() == DOC


def test_orders_match_the_document(api: httpx.Client) -> None:
    created = check(
        api.post("/v1/orders", json={"amount_kg": 10}, headers={"Idempotency-Key": "k1"}), "/orders"
    )
    replay = api.post("/v1/orders", json={"amount_kg": 10}, headers={"Idempotency-Key": "k1"})
    assert check(replay, "/orders")["id"] == created["id"]
    assert replay.headers["x-idempotent-replay"] == "true"
    check(api.post("/v1/orders", json={"total_price_usd_cents": 3190}), "/orders")
    check(api.post("/v1/orders/ride", json={"distance_km": 30}), "/orders/ride")
    assert api.post(f"/_sandbox/orders/{created['id']}/fulfil").status_code == 200
    fulfilled = check(api.get(f"/v1/orders/{created['id']}"), "/orders/{id}")
    assert fulfilled["state"] == "fulfilled" and fulfilled["project_allocations"]
    assert len(check(api.get("/v1/orders", params={"limit": 2}), "/orders")["data"]) == 2
    assert (
        check(api.post(f"/v1/orders/{created['id']}/cancel"), "/orders/{id}/cancel")["state"] == "cancelled"
    )


def test_order_errors_match_the_document(api: httpx.Client) -> None:
    check(api.post("/v1/orders", json={"amount_kg": -10}), "/orders")
    check(api.get("/v1/orders", params={"starting_after": "a", "ending_before": "b"}), "/orders")
    check(api.get("/v1/orders/doesnotexist"), "/orders/{id}")
    check(api.get("/v1/orders", headers={"Authorization": ""}), "/orders")
    api.post("/v1/orders", json={"amount_kg": 1}, headers={"Idempotency-Key": "k2"})
    changed = api.post("/v1/orders", json={"amount_kg": 2}, headers={"Idempotency-Key": "k2"})
    assert check(changed, "/orders")["status"] == 422
    assert check(
        api.post("/v1/orders", json={"amount_kg": 1}, headers={"Idempotency-Key": "x" * 513}), "/orders"
    )


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/quotes", {"amount_kg": 10}),
        ("/quotes/ride", {"distance_km": 30}),
        ("/quotes/flight", {"distance_km": 100}),
        ("/quotes/train", {"distance_km": 1000}),
        ("/quotes/air-freight", {"freight_mass_kg": 10, "distance_km": 100}),
        ("/quotes/ground-freight", {"freight_mass_kg": 100, "distance_km": 1000}),
        ("/quotes/ground-transport", {"distance_km": 1000, "vehicle_type": "school_bus"}),
        ("/quotes/office-space", {"square_footage": 1000}),
    ],
)
def test_quotes_match_the_document(api: httpx.Client, path: str, body: dict[str, Any]) -> None:
    quote = check(api.post(f"/v1{path}", json=body), path)
    assert quote["price_usd_cents"] == 2 * quote["amount_kg"]
    check(api.post(f"/v1{path}", json={}), path)


def test_subaccounts_match_the_document(api: httpx.Client) -> None:
    created = check(api.post("/v1/subaccounts", json={"name": "Team", "email": "a@b.co"}), "/subaccounts")
    one = f"/v1/subaccounts/{created['id']}"
    check(api.get("/v1/subaccounts"), "/subaccounts")
    check(api.get(one), "/subaccounts/{id}")
    assert check(api.put(one, json={"name": "Renamed"}), "/subaccounts/{id}")["email"] is None
    logo = f"{one}/logo"
    from_url = api.post(logo, json={"logo_url": "https://example.com/logo.png"})
    assert check(from_url, "/subaccounts/{id}/logo")["logo_url"] is not None
    check(api.post(logo, json={"logo_url": "not a url"}), "/subaccounts/{id}/logo")
    check(api.put(logo, content=PNG, headers={"Content-Type": "image/png"}), "/subaccounts/{id}/logo")
    assert check(api.delete(logo), "/subaccounts/{id}/logo")["logo_url"] is None
    scoped = {"X-Subaccount-Id": created["id"]}
    check(api.get("/v1/impact/data", headers=scoped), "/impact/data")
    check(api.get("/v1/impact/hosted-page-config", headers=scoped), "/impact/hosted-page-config")
    check(api.delete(one), "/subaccounts/{id}")
    check(api.get(one), "/subaccounts/{id}")


def test_catalogue_matches_the_document(api: httpx.Client) -> None:
    portfolios = check(api.get("/v1/portfolios"), "/portfolios")["data"]
    assert [p["id"] for p in portfolios][:2] == ["oH5hlq", "ixmZSK"]
    details = check(api.get("/v1/portfolios/oH5hlq"), "/portfolios/{id}")
    category = details["category_allocations"][0]["category"]
    check(api.get(f"/v1/project-categories/{category['id']}"), "/project-categories/{id}")
    check(api.get("/v1/projects/I0UbDH"), "/projects/{id}")
    check(api.get("/v1/projects/nope"), "/projects/{id}")


def test_checkout_and_impact_match_the_document(api: httpx.Client) -> None:
    body = {
        "amount_kg": 100,
        "success_url": "https://x.test/ok/{CHECKOUT_SESSION_ID}",
        "cancel_url": "https://x.test",
    }
    session = check(api.post("/v1/checkout/sessions", json=body), "/checkout/sessions")
    check(api.get(f"/v1/checkout/sessions/{session['id']}"), "/checkout/sessions/{id}")
    assert api.post(f"/_sandbox/checkout/sessions/{session['id']}/complete").status_code == 200
    completed = check(api.get(f"/v1/checkout/sessions/{session['id']}"), "/checkout/sessions/{id}")
    assert completed["state"] == "complete" and completed["completed_on"] is not None
    newest = check(api.get("/v1/orders", params={"limit": 1}), "/orders")["data"][0]
    assert newest["checkout_session_id"] == session["id"]
    check(
        api.post("/v1/checkout/sessions", json={**body, "success_url": "http://x.test"}), "/checkout/sessions"
    )
    check(api.get("/v1/impact/data", params={"from": "2024-01-01T00:00:00Z"}), "/impact/data")


def test_deprecated_checkout_paths_match_the_document(api: httpx.Client) -> None:
    body = {
        "email": "b@x.test",
        "amount_kg": 100,
        "success_url": "https://x.test/ok",
        "cancel_url": "https://x.test",
    }
    created = api.post("/v1/orders/checkout-session", json=body)
    session = check(created, "/orders/checkout-session")
    assert session["status"] == "open" and "state" not in session
    assert created.headers["deprecation"] == "@1714521600"
    assert created.headers["link"] == '</v1/checkout/sessions>; rel="successor-version"'
    again = api.get(f"/v1/orders/checkout-session/{session['id']}")
    assert check(again, "/orders/checkout-session/{id}") == session
    check(api.post("/v1/orders/checkout-session", json={**body, "email": ""}), "/orders/checkout-session")
    legacy = [
        DOC["paths"]["/orders/checkout-session"]["post"],
        DOC["paths"]["/orders/checkout-session/{id}"]["get"],
    ]
    assert all(operation["deprecated"] is True for operation in legacy)


def test_documented_refusals_match_the_document(api: httpx.Client) -> None:
    order = check(api.post("/v1/orders", json={"amount_kg": 3}), "/orders")
    check(api.post(f"/v1/orders/{order['id']}/cancel"), "/orders/{id}/cancel")
    twice = check(api.post(f"/v1/orders/{order['id']}/cancel"), "/orders/{id}/cancel")
    assert twice["status"] == 403
    assert (
        check(api.post("/v1/orders", json={"amount_kg": 3, "portfolio_id": "nope"}), "/orders")["status"]
        == 403
    )
    sub = check(api.post("/v1/subaccounts", json={"name": "Has orders"}), "/subaccounts")
    check(api.post("/v1/orders", json={"amount_kg": 3}, headers={"X-Subaccount-Id": sub["id"]}), "/orders")
    refused = check(api.delete(f"/v1/subaccounts/{sub['id']}"), "/subaccounts/{id}")
    assert refused["status"] == 400
    foreign = api.get("/v1/orders", headers={"X-Subaccount-Id": "notmine1"})
    assert check(foreign, "/orders")["type"].endswith("/invalid-subaccount")
