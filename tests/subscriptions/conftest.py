"""Fixtures of the subscription tests: a real sandbox (orders fulfilled after a short delay), gateways over
it under uvicorn - their public URL is their own, so the sandbox's callbacks reach them over loopback - and
a graphql-transport-ws client (`wsclient.WsClient`).

``subs`` (module-wide) -> `SubsSetup`: ``sandbox_url``, ``sub_a``/``sub_b`` (upstream subaccount ids), the
clients file of `tests.security.conftest.TOKENS`, and ``start(**settings)`` for a gateway in
gateway-credentials mode (``callbacks=False`` leaves ``GATEWAY_PUBLIC_URL`` unset: polling only).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from starlette.applications import Starlette

from gateway.app import create_app
from gateway.auth.clients import hash_token
from gateway.config import Settings
from gateway.security.settings import SecuritySettings
from sandbox.app import create_app as create_sandbox_app
from sandbox.config import SandboxConfig
from tests.security.conftest import TOKENS, UPSTREAM_KEY, TenantSandbox, create_subaccount, redis_url
from tests.servers import free_port, serve

__all__ = ["redis_url"]

#: Seconds the sandbox keeps an order `placed`: long enough to see PLACED first, short for the suite.
FULFILMENT_DELAY = 0.4
PLACE = "mutation($sub: ID) { placeOrder(input: {amountKg: 2, subaccountId: $sub}) { order { id state } } }"


@dataclass
class Gateway:
    url: str
    app: Starlette
    settings: Settings

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://") + "/graphql"

    async def place(self, token: str, subaccount: str | None = None) -> str:
        """Place an order through this gateway; its global id."""
        async with httpx.AsyncClient(base_url=self.url, timeout=30) as http:
            body = {"query": PLACE, "variables": {"sub": subaccount}}
            response = await http.post("/graphql", json=body, headers={"authorization": f"Bearer {token}"})
        data = response.json()
        assert "errors" not in data, data
        order_id: str = data["data"]["placeOrder"]["order"]["id"]
        return order_id


@dataclass
class SubsSetup(TenantSandbox):
    def settings(self, *, port: int, callbacks: bool = True, **fields: Any) -> Settings:
        values: dict[str, Any] = {
            "upstream_url": f"{self.sandbox_url}/v1",
            "upstream_api_key": SecretStr(UPSTREAM_KEY),
            "security": SecuritySettings(clients_file=self.clients_file),
            "public_url": f"http://127.0.0.1:{port}" if callbacks else None,
            # Long by default, so a test that expects a callback's effect does not get it from a poll.
            "subscription_poll_interval": 300,
            **fields,
        }
        return Settings(**values)

    def start(self, *, callbacks: bool = True, **fields: Any) -> Gateway:
        port = free_port()
        settings = self.settings(port=port, callbacks=callbacks, **fields)
        app = create_app(settings)
        url = self.stack.enter_context(serve(app, port=port))
        return Gateway(url, app, settings)


@contextlib.contextmanager
def subs_setup(directory: Path, fulfilment_delay: float = FULFILMENT_DELAY) -> Iterator[SubsSetup]:
    """A sandbox with subaccounts and a clients file in `directory`; gateways started on it stop after."""
    with contextlib.ExitStack() as stack:
        config = SandboxConfig(
            fulfilment_delay=fulfilment_delay, enable_admin=True, callback_backoff_initial=0.1
        )
        app = create_sandbox_app(config)
        url = stack.enter_context(serve(app))
        headers = {"authorization": f"Bearer {UPSTREAM_KEY}"}
        with httpx.Client(base_url=url, headers=headers) as client:
            sub_a, sub_b = create_subaccount(client, "Tenant A"), create_subaccount(client, "Tenant B")
        clients = [
            {"name": name, "token_sha256": hash_token(token), "scopes": scopes}
            | ({"subaccount_id": sub_a} if bound else {})
            for name, (token, scopes, bound) in TOKENS.items()
        ]
        path = directory / "clients.json"
        path.write_text(json.dumps({"clients": clients}))
        with contextlib.ExitStack() as gateways:
            yield SubsSetup(url, app, sub_a, sub_b, path, gateways)


@pytest.fixture(scope="module")
def subs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SubsSetup]:
    """Orders fulfilled `FULFILMENT_DELAY` seconds after they are placed."""
    with subs_setup(tmp_path_factory.mktemp("subscriptions")) as setup:
        yield setup


@pytest.fixture(scope="module")
def held_subs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SubsSetup]:
    """Orders stay placed until ``POST /_sandbox/orders/{id}/fulfil``."""
    with subs_setup(tmp_path_factory.mktemp("held"), fulfilment_delay=3600) as setup:
        yield setup
