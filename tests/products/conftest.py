"""Fixtures of the product-offsetting tests: a real sandbox and a gateway wired to its product API.

- ``start_stack(**sandbox_fields)`` -> `Stack`: a sandbox (fulfilment on demand, admin on, the product
  client `PRODUCT_CLIENT`) and a gateway over it whose product platform is the sandbox's `/product-api`.
  ``gateway_fields`` (keyword ``gateway=...``) override gateway `Settings` fields.
- `Stack` has ``.gql(query, variables)``, ``.rest`` (an httpx client on the sandbox with the gateway's key),
  ``.place_order(kg, fulfil=True, subaccount=None)``, ``.read_back(product_id)``, ``.product_posts()``,
  ``.token_requests()``, and ``.sandbox_app`` (request log, faults, product platform).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import pytest
from pydantic import SecretStr
from starlette.applications import Starlette

from gateway.app import create_app
from gateway.config import Settings
from gateway.security.settings import SecuritySettings
from sandbox.app import create_app as create_sandbox_app
from sandbox.config import SandboxConfig
from tests.servers import serve

GATEWAY_KEY = "sk_test_products"
PRODUCT_CLIENT = ("gateway-products", "product-secret")
JWT_SECRET = "products-test-jwt-secret-0123456789abcdef"


def caller_token(
    scopes: str = "read orders:write subaccounts:write", subaccount_id: str | None = None
) -> str:
    """A caller JWT the stack's gateway accepts (HS256 with `JWT_SECRET`)."""
    claims: dict[str, Any] = {"sub": "products-tests", "exp": int(time.time()) + 600, "scope": scopes}
    if subaccount_id is not None:
        claims["subaccount_id"] = subaccount_id
    return jwt.encode(claims, JWT_SECRET, algorithm="HS256")


OFFSET_BATCH = """
mutation Offset($input: OffsetProductBatchInput!) {
  offsetProductBatch(input: $input) {
    replayed
    userErrors { code field message }
    recorded {
      batchNumber taskId offsetTotal offsetUnit offsetPortfolioId offsetPrice { amount currencyCode }
      offsetOwnerVisibility offsetReasonVisibility offsetProviderOrderId certificateLink
      offsetOwner offsetReason comment
      offsetProjects {
        offsetType offsetProvider offsetProviderProjectId offsetProviderFinalizationDate offsetQuantity
        offsetQuantityUnit projectId projectName projectLocation projectType projectUrl productType
        offsetRetirementDate offsetVintageStart offsetVintageEnd offsetSerialNumber offsetOwner offsetReason
        offsetProviderFinalizationId offsetRetirementUrl
      }
    }
  }
}
"""


@dataclass
class Stack:
    """A sandbox and a gateway over it, both served by uvicorn."""

    sandbox_url: str
    sandbox_app: Starlette
    gateway_url: str
    http: httpx.Client
    rest: httpx.Client

    def gql(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token or caller_token()}"}
        response = self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        body: dict[str, Any] = response.json()
        return body

    def offset_batch(self, *, token: str | None = None, **input: Any) -> dict[str, Any]:
        """Run offsetProductBatch; returns the mutation's payload (asserts there is no GraphQL error)."""
        body = self.gql(OFFSET_BATCH, {"input": input}, token=token)
        assert "errors" not in body, body
        payload: dict[str, Any] = body["data"]["offsetProductBatch"]
        return payload

    def place_order(self, kg: float, *, fulfil: bool = True, subaccount: str | None = None) -> dict[str, Any]:
        headers = {"X-Subaccount-Id": subaccount} if subaccount else {}
        order = self.rest.post("/v1/orders", json={"amount_kg": kg}, headers=headers)
        assert order.status_code in (200, 201), order.text
        order_id = order.json()["id"]
        if fulfil:
            done = self.rest.post(f"/_sandbox/orders/{order_id}/fulfil", headers=headers)
            assert done.status_code == 200, done.text
        final = self.rest.get(f"/v1/orders/{order_id}", headers=headers)
        result: dict[str, Any] = final.json()
        return result

    def read_back(self, product_id: str) -> list[dict[str, Any]]:
        data: list[dict[str, Any]] = self.rest.get(f"/_sandbox/products/{product_id}/offsetting").json()[
            "data"
        ]
        return data

    def product_posts(self) -> int:
        """How many offsetting POSTs the sandbox's product API received."""
        log = self.sandbox_app.state.request_log
        return sum(
            1
            for entry in log.entries
            if entry.method == "POST" and entry.path.startswith("/product-api/products/")
        )

    def product_requests(self) -> int:
        """Every request to the product API (tokens, lookups and posts)."""
        count: int = self.sandbox_app.state.request_log.count(path_prefix="/product-api")
        return count

    def token_requests(self) -> int:
        count: int = self.sandbox_app.state.request_log.count(path_prefix="/product-api/oauth/token")
        return count


StartStack = Callable[..., Stack]


@pytest.fixture
def start_stack() -> Iterator[StartStack]:
    """Factory: a sandbox + gateway pair; both stopped after the test."""
    with contextlib.ExitStack() as stack:

        def start(*, gateway: dict[str, Any] | None = None, **sandbox_fields: Any) -> Stack:
            config = SandboxConfig(
                **{
                    "fulfilment_delay": 3600,  # tests fulfil on demand, so "placed" stays placed
                    "enable_admin": True,
                    "product_client_id": PRODUCT_CLIENT[0],
                    "product_client_secret": SecretStr(PRODUCT_CLIENT[1]),
                    **sandbox_fields,
                }
            )
            sandbox_app = create_sandbox_app(config)
            sandbox_url = stack.enter_context(serve(sandbox_app))
            settings = Settings(
                **{
                    "upstream_url": f"{sandbox_url}/v1",
                    "upstream_api_key": SecretStr(GATEWAY_KEY),
                    "product_platform_url": f"{sandbox_url}/product-api",
                    "product_platform_client_id": PRODUCT_CLIENT[0],
                    "product_platform_client_secret": SecretStr(PRODUCT_CLIENT[1]),
                    "product_platform_audience": "https://product-api.example",
                    "security": SecuritySettings(jwt_secret=SecretStr(JWT_SECRET)),
                    **(gateway or {}),
                }
            )
            gateway_url = stack.enter_context(serve(create_app(settings)))
            http = stack.enter_context(httpx.Client(base_url=gateway_url, timeout=30))
            rest = stack.enter_context(
                httpx.Client(
                    base_url=sandbox_url, timeout=30, headers={"Authorization": f"Bearer {GATEWAY_KEY}"}
                )
            )
            return Stack(sandbox_url, sandbox_app, gateway_url, http, rest)

        yield start


@pytest.fixture
def stack(start_stack: StartStack) -> Stack:
    """The default sandbox + gateway pair."""
    return start_stack()
