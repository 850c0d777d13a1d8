"""Fixtures of the security tests: a real sandbox and secured gateways under uvicorn, with known credentials.

``secure`` is a module-scoped `SecureSetup`: one sandbox with two subaccounts (``sub_a``, ``sub_b``), a
clients file whose tokens are `TOKENS`, and `start(**security_fields)` to run a gateway over it in gateway-
credentials mode (the HS256 JWT secret `JWT_SECRET`, audience `AUDIENCE`, also accepted).
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from pydantic import SecretStr
from starlette.applications import Starlette

from gateway.app import create_app
from gateway.auth.clients import hash_token
from gateway.config import Settings
from gateway.security.settings import SecuritySettings
from sandbox.app import create_app as create_sandbox_app
from sandbox.config import SandboxConfig
from tests.servers import free_port, serve

UPSTREAM_KEY = "sk_test_security_upstream_key_0123"
JWT_SECRET = "jwt-secret-for-tests-0123456789abcdef0123"
AUDIENCE = "offsets-gateway"

#: name -> (token, scopes, bound to sub_a?)
TOKENS: dict[str, tuple[str, list[str], bool]] = {
    "admin": ("tok_admin_0123456789", ["admin"], False),
    "reader": ("tok_reader_0123456789", ["read"], False),
    "writer": ("tok_writer_0123456789", ["read", "orders:write"], False),
    "subwriter": ("tok_subwriter_0123456789", ["read", "subaccounts:write"], False),
    "bound_reader": ("tok_bound_reader_0123456789", ["read"], True),
    "bound_writer": ("tok_bound_writer_0123456789", ["read", "orders:write", "subaccounts:write"], True),
}


def make_jwt(claims: dict[str, Any], secret: str = JWT_SECRET) -> str:
    base = {"exp": int(time.time()) + 300, "aud": AUDIENCE, "sub": "web"}
    return jwt.encode({**base, **claims}, secret, algorithm="HS256")


@dataclass
class Gateway:
    url: str
    app: Starlette
    http: httpx.Client = field(repr=False)

    def post(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        headers.update(kwargs.pop("headers", {}))
        payload: dict[str, Any] = {"query": query, **({"variables": variables} if variables else {})}
        return self.http.post("/graphql", json=payload, headers=headers, **kwargs)


@dataclass
class TenantSandbox:
    """A real sandbox with two tenants' subaccounts and a clients file binding tokens to them."""

    sandbox_url: str
    sandbox_app: Starlette
    sub_a: str
    sub_b: str
    clients_file: Path
    stack: contextlib.ExitStack = field(repr=False)

    def token(self, name: str) -> str:
        return TOKENS[name][0]

    @property
    def request_log(self) -> Any:
        return self.sandbox_app.state.request_log


@dataclass
class SecureSetup(TenantSandbox):
    def settings(self, **security: Any) -> Settings:
        fields: dict[str, Any] = {
            "clients_file": self.clients_file,
            "jwt_secret": SecretStr(JWT_SECRET),
            "jwt_audience": AUDIENCE,
            **security,
        }
        return Settings(
            upstream_url=f"{self.sandbox_url}/v1",
            upstream_api_key=SecretStr(UPSTREAM_KEY),
            security=SecuritySettings(**fields),
        )

    def start(self, settings: Settings | None = None, **security: Any) -> Gateway:
        app = create_app(settings or self.settings(**security))
        url = self.stack.enter_context(serve(app))
        http = self.stack.enter_context(httpx.Client(base_url=url, timeout=30))
        return Gateway(url, app, http)


def create_subaccount(client: httpx.Client, name: str) -> str:
    response = client.post("/v1/subaccounts", json={"name": name})
    response.raise_for_status()
    subaccount_id: str = response.json()["id"]
    return subaccount_id


@pytest.fixture(scope="module")
def secure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureSetup]:
    with contextlib.ExitStack() as stack:
        app = create_sandbox_app(SandboxConfig(fulfilment_delay=0, enable_admin=True))
        url = stack.enter_context(serve(app))
        headers = {"authorization": f"Bearer {UPSTREAM_KEY}"}
        with httpx.Client(base_url=url, headers=headers) as client:
            sub_a, sub_b = create_subaccount(client, "Tenant A"), create_subaccount(client, "Tenant B")
        clients = [
            {"name": name, "token_sha256": hash_token(token), "scopes": scopes}
            | ({"subaccount_id": sub_a} if bound else {})
            for name, (token, scopes, bound) in TOKENS.items()
        ]
        path = tmp_path_factory.mktemp("security") / "clients.json"
        path.write_text(json.dumps({"clients": clients}))
        yield SecureSetup(url, app, sub_a, sub_b, path, stack)


@pytest.fixture(scope="module")
def gateway(secure: SecureSetup) -> Gateway:
    """The default secured gateway (module-wide)."""
    return secure.start()


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    """A throw-away redis-server on a free loopback port (no persistence), stopped after the module."""
    port = free_port()
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)
