"""Helpers for the sandbox's tests: in-process clients (lifespan running) and request helpers."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
from starlette.applications import Starlette

from sandbox.app import create_app
from sandbox.config import SandboxConfig

KEY = "test-key"
AUTH = {"Authorization": f"Bearer {KEY}"}


@contextlib.asynccontextmanager
async def asgi_client(app: Starlette, key: str = KEY) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client talking to `app` in-process, with the app's lifespan running around it."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {key}"}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://sandbox", headers=headers
        ) as client:
            yield client


def make_app(**overrides: Any) -> Starlette:
    """A sandbox app; orders stay ``placed`` unless a test fulfils them or sets a delay."""
    settings: dict[str, Any] = {"fulfilment_delay": 3600.0, **overrides}
    return create_app(SandboxConfig(**settings))


async def place_order(client: httpx.AsyncClient, amount_kg: float = 10, **extra: Any) -> dict[str, Any]:
    """POST /v1/orders and return the created order."""
    headers = extra.pop("headers", None)
    response = await client.post("/v1/orders", json={"amount_kg": amount_kg, **extra}, headers=headers)
    assert response.status_code == 201, response.text
    order: dict[str, Any] = response.json()
    return order


async def create_subaccount(
    client: httpx.AsyncClient, name: str = "Marketing", **extra: Any
) -> dict[str, Any]:
    """POST /v1/subaccounts and return the created subaccount."""
    response = await client.post("/v1/subaccounts", json={"name": name, **extra})
    assert response.status_code == 201, response.text
    sub: dict[str, Any] = response.json()
    return sub


def assert_problem(response: httpx.Response, status: int, type_suffix: str) -> dict[str, Any]:
    """Check that `response` is the problem+json of that status and type; return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    expected = (
        "about:blank" if type_suffix == "about:blank" else f"https://api.cnaught.com/v1/errors/{type_suffix}"
    )
    assert body["type"] == expected
    assert body["status"] == status
    return body
