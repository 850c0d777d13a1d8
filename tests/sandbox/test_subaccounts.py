"""Subaccounts: create, get, full-replace update, delete, and logos."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.sandbox.sandbox_helpers import assert_problem, create_subaccount, place_order

ASSETS = r"https://customer-assets\.cnaught\.com/subaccount-logos/{id}/[0-9a-f]{{16}}\.{ext}"


async def test_create_and_get(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/subaccounts",
        json={"name": "Marketing Department", "email": "m@example.com", "default_portfolio_id": "ixmZSK"},
    )
    assert response.status_code == 201
    sub = response.json()
    assert set(sub) == {"id", "created_on", "name", "email", "default_portfolio_id", "logo_url"}
    assert re.fullmatch(r"[A-Za-z0-9]{8}", sub["id"])
    assert (sub["name"], sub["email"], sub["default_portfolio_id"], sub["logo_url"]) == (
        "Marketing Department",
        "m@example.com",
        "ixmZSK",
        None,
    )
    assert (await client.get(f"/v1/subaccounts/{sub['id']}")).json() == sub


async def test_create_with_logo_url_rehosts_it(client: httpx.AsyncClient) -> None:
    sub = await create_subaccount(client, logo_url="https://example.com/brand/logo.svg")
    assert re.fullmatch(ASSETS.format(id=sub["id"], ext="svg"), sub["logo_url"])


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x" * 513}, "name"),
        ({"name": "a", "email": "not-an-email"}, "email"),
        ({"name": "a", "default_portfolio_id": "nope00"}, "default_portfolio_id"),
        ({"name": "a", "logo_url": "/relative.png"}, "logo_url"),
    ],
)
async def test_invalid_create(client: httpx.AsyncClient, body: dict[str, object], field: str) -> None:
    problem = assert_problem(await client.post("/v1/subaccounts", json=body), 400, "invalid-parameters")
    assert field in problem["errors"]


async def test_put_is_a_full_replacement(client: httpx.AsyncClient) -> None:
    sub = await create_subaccount(client, email="a@example.com", default_portfolio_id="ixmZSK")
    await client.put(
        f"/v1/subaccounts/{sub['id']}/logo", content=b"\x89PNG", headers={"Content-Type": "image/png"}
    )
    response = await client.put(f"/v1/subaccounts/{sub['id']}", json={"name": "Renamed"})
    assert response.status_code == 200
    updated = response.json()
    assert (updated["name"], updated["email"], updated["default_portfolio_id"]) == ("Renamed", None, None)
    assert updated["logo_url"] is not None  # the logo is not part of the replacement
    assert updated["created_on"] == sub["created_on"]
    assert (await client.get(f"/v1/subaccounts/{sub['id']}")).json() == updated
    assert_problem(
        await client.put(f"/v1/subaccounts/{sub['id']}", json={"email": "x@y.z"}), 400, "invalid-parameters"
    )
    assert_problem(await client.put("/v1/subaccounts/zzzzzzzz", json={"name": "x"}), 404, "not-found")


async def test_delete(client: httpx.AsyncClient) -> None:
    sub = await create_subaccount(client)
    response = await client.delete(f"/v1/subaccounts/{sub['id']}")
    assert response.status_code == 204 and response.content == b""
    problem = assert_problem(await client.get(f"/v1/subaccounts/{sub['id']}"), 404, "not-found")
    assert problem["title"] == "Could not find subaccount"
    assert_problem(await client.delete(f"/v1/subaccounts/{sub['id']}"), 404, "not-found")


async def test_delete_refused_while_it_has_orders(client: httpx.AsyncClient) -> None:
    sub = await create_subaccount(client)
    await place_order(client, headers={"X-Subaccount-Id": sub["id"]})
    assert_problem(await client.delete(f"/v1/subaccounts/{sub['id']}"), 400, "invalid-parameters")
    assert (await client.get(f"/v1/subaccounts/{sub['id']}")).status_code == 200


async def test_logo_from_url(client: httpx.AsyncClient) -> None:
    sub = await create_subaccount(client)
    response = await client.post(
        f"/v1/subaccounts/{sub['id']}/logo", json={"logo_url": "https://example.com/a.JPEG"}
    )
    assert response.status_code == 200
    assert re.fullmatch(ASSETS.format(id=sub["id"], ext="jpg"), response.json()["logo_url"])
    for body in ({}, {"logo_url": "ftp://example.com/a.png"}, {"logo_url": "example.com/a.png"}):
        bad = await client.post(f"/v1/subaccounts/{sub['id']}/logo", json=body)
        assert "logo_url" in assert_problem(bad, 400, "invalid-parameters")["errors"]


@pytest.mark.parametrize(
    ("content_type", "ext"),
    [("image/png", "png"), ("image/jpeg", "jpg"), ("image/webp", "webp"), ("image/svg+xml", "svg")],
)
async def test_logo_upload_accepts_the_four_image_types(
    client: httpx.AsyncClient, content_type: str, ext: str
) -> None:
    sub = await create_subaccount(client)
    response = await client.put(
        f"/v1/subaccounts/{sub['id']}/logo", content=b"image-bytes", headers={"Content-Type": content_type}
    )
    assert response.status_code == 200
    assert re.fullmatch(ASSETS.format(id=sub["id"], ext=ext), response.json()["logo_url"])


async def test_logo_upload_rejects_other_types_and_empty_bodies(client: httpx.AsyncClient) -> None:
    sub = await create_subaccount(client)
    url = f"/v1/subaccounts/{sub['id']}/logo"
    gif = await client.put(url, content=b"GIF89a", headers={"Content-Type": "image/gif"})
    assert "Content-Type" in assert_problem(gif, 400, "invalid-parameters")["errors"]
    empty = await client.put(url, content=b"", headers={"Content-Type": "image/png"})
    assert "body" in assert_problem(empty, 400, "invalid-parameters")["errors"]
    assert (await client.get(f"/v1/subaccounts/{sub['id']}")).json()["logo_url"] is None


async def test_remove_logo(client: httpx.AsyncClient) -> None:
    sub = await create_subaccount(client, logo_url="https://example.com/logo.png")
    response = await client.delete(f"/v1/subaccounts/{sub['id']}/logo")
    assert response.status_code == 200 and response.json()["logo_url"] is None
    assert_problem(await client.delete("/v1/subaccounts/zzzzzzzz/logo"), 404, "not-found")


async def test_subaccount_default_portfolio_is_used_for_its_orders(client: httpx.AsyncClient) -> None:
    sub = await create_subaccount(client, default_portfolio_id="ixmZSK")
    order = await place_order(client, 1000, headers={"X-Subaccount-Id": sub["id"]})
    fulfilled = (await client.post(f"/_sandbox/orders/{order['id']}/fulfil")).json()
    assert [a["amount_kg"] for a in fulfilled["project_allocations"]] == [250, 250, 250, 250]
