"""Helpers of G2b's end-to-end tests: seed the sandbox through the gateway and drive its lifecycle."""

from __future__ import annotations

from typing import Any

import httpx

from tests.gateway.e2e.conftest import GATEWAY_KEY, GatewayServer, SandboxServer

ORDER_FIELDS = "id upstreamId state amountKg price { amount currencyCode } subaccountUpstreamId"


def ok(result: Any) -> Any:
    """The data of a result that must have no errors."""
    assert result.errors == [], result.errors
    return result.data


def place_order(
    gateway: GatewayServer, amount_kg: float = 10, subaccount: str | None = None
) -> dict[str, Any]:
    data = ok(
        gateway.gql(
            f"mutation($input: PlaceOrderInput!) {{ placeOrder(input: $input) {{ order {{ {ORDER_FIELDS} }}"
            " userErrors { code field message } } }",
            {"input": {"amountKg": amount_kg, "subaccountId": subaccount}},
        )
    )
    assert data["placeOrder"]["userErrors"] == []
    order: dict[str, Any] = data["placeOrder"]["order"]
    return order


def create_subaccount(gateway: GatewayServer, name: str, **fields: Any) -> dict[str, Any]:
    data = ok(
        gateway.gql(
            "mutation($input: CreateSubaccountInput!) { createSubaccount(input: $input)"
            " { subaccount { id upstreamId name } userErrors { code field message } } }",
            {"input": {"name": name, **fields}},
        )
    )
    assert data["createSubaccount"]["userErrors"] == []
    subaccount: dict[str, Any] = data["createSubaccount"]["subaccount"]
    return subaccount


def sandbox_post(sandbox: SandboxServer, path: str) -> dict[str, Any]:
    """POST a sandbox lifecycle endpoint as the gateway's account."""
    response = httpx.post(f"{sandbox.url}{path}", headers={"authorization": f"Bearer {GATEWAY_KEY}"})
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


def fulfil(sandbox: SandboxServer, order_upstream_id: str) -> None:
    sandbox_post(sandbox, f"/_sandbox/orders/{order_upstream_id}/fulfil")


def upstream_count(sandbox: SandboxServer, method: str, route: str) -> int:
    count: int = sandbox.request_log.count(method=method, route=route)
    return count
