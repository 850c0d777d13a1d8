"""Shared fixtures of the end-to-end tests: a real sandbox and real gateways under uvicorn on loopback.

For test writers:

- ``sandbox`` -> `SandboxServer`: the sandbox REST API (fulfilment_delay=0, admin/fault API on), with
  ``.url``, ``.v1`` (the REST base), ``.app``, ``.request_log`` (what the sandbox received; cleared
  when a gateway starts, so counts cover only your test's traffic) and ``.http`` (an httpx client acting
  as the default gateway's sandbox account, for setup and read-back).
- ``start_sandbox(config=None, **fields)`` -> `SandboxServer`: another sandbox with its own `SandboxConfig`.
- ``start_gateway(settings=None, *, sandbox=None, transport=None, **fields)`` -> `GatewayServer`: a gateway
  over a sandbox (default: the ``sandbox`` fixture) using ``GATEWAY_KEY``. ``fields`` override single
  `Settings` fields; ``settings`` replaces them all.
- ``gateway`` -> `GatewayServer`: the default gateway. ``gateway.gql(query, variables, headers=...)``
  POSTs over HTTP and returns a `GraphQLResult` (status, headers, body, data, errors, codes).
- ``gql`` -> the default gateway's ``gql`` helper; ``gql_client`` -> a connected `gql` library session
  (httpx transport) on the default gateway: ``gql_client.execute(gql.gql("{ ... }"))``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from gql import Client
from gql.client import SyncClientSession
from gql.transport.httpx import HTTPXTransport
from pydantic import SecretStr
from starlette.applications import Starlette

from gateway.app import create_app
from gateway.config import Settings
from gateway.security.settings import SecuritySettings
from sandbox.app import create_app as create_sandbox_app
from sandbox.config import SandboxConfig
from tests.servers import serve

GATEWAY_KEY = "sk_test_gateway_e2e"
"""The API key the default gateway uses upstream (the sandbox gives any key its own account)."""


@dataclass
class GraphQLResult:
    """One GraphQL-over-HTTP response."""

    status: int
    headers: httpx.Headers
    body: dict[str, Any]

    @property
    def data(self) -> Any:
        return self.body.get("data")

    @property
    def errors(self) -> list[dict[str, Any]]:
        return list(self.body.get("errors") or [])

    @property
    def codes(self) -> list[str | None]:
        """The ``extensions.code`` of each error, in order."""
        return [(error.get("extensions") or {}).get("code") for error in self.errors]

    @property
    def media_type(self) -> str:
        content_type: str = self.headers.get("content-type", "")
        return content_type.split(";")[0].strip()


@dataclass
class SandboxServer:
    """A sandbox served by uvicorn."""

    url: str
    app: Starlette
    config: SandboxConfig
    http: httpx.Client = field(repr=False)
    """A client on the sandbox acting as the default gateway's account (``Bearer GATEWAY_KEY``), e.g.
    ``sandbox.http.post(f"/_sandbox/orders/{id}/fulfil")`` or ``sandbox.http.get("/v1/orders")``."""

    @property
    def v1(self) -> str:
        return f"{self.url}/v1"

    @property
    def request_log(self) -> Any:
        return self.app.state.request_log


@dataclass
class GatewayServer:
    """A gateway served by uvicorn, with an HTTP client pointed at it."""

    url: str
    app: Starlette
    settings: Settings
    http: httpx.Client = field(repr=False)

    @property
    def graphql_url(self) -> str:
        return f"{self.url}/graphql"

    def gql(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        headers: dict[str, str] | None = None,
        operation_name: str | None = None,
    ) -> GraphQLResult:
        """POST one GraphQL operation as JSON and return the decoded response."""
        payload: dict[str, Any] = {"query": query}
        if variables is not None:
            payload["variables"] = variables
        if operation_name is not None:
            payload["operationName"] = operation_name
        response = self.http.post("/graphql", json=payload, headers=headers)
        return GraphQLResult(response.status_code, response.headers, response.json())


StartSandbox = Callable[..., SandboxServer]
StartGateway = Callable[..., GatewayServer]


@pytest.fixture
def start_sandbox() -> Iterator[StartSandbox]:
    """Factory: start a sandbox with `config`, or the defaults changed by `fields`; stopped after the test."""
    with contextlib.ExitStack() as stack:

        def start(config: SandboxConfig | None = None, **fields: Any) -> SandboxServer:
            config = config or SandboxConfig(**{"fulfilment_delay": 0, "enable_admin": True, **fields})
            app = create_sandbox_app(config)
            url = stack.enter_context(serve(app))
            auth = {"Authorization": f"Bearer {GATEWAY_KEY}"}
            http = stack.enter_context(httpx.Client(base_url=url, headers=auth, timeout=30))
            return SandboxServer(url, app, config, http)

        yield start


@pytest.fixture
def sandbox(start_sandbox: StartSandbox) -> SandboxServer:
    """The default sandbox: immediate fulfilment, admin and fault API on, any key accepted."""
    return start_sandbox()


def gateway_settings(sandbox: SandboxServer, **fields: Any) -> Settings:
    """Settings of a gateway over `sandbox` with the test key and quick retries; `fields` override."""
    defaults: dict[str, Any] = {
        "upstream_url": sandbox.v1,
        "upstream_api_key": SecretStr(GATEWAY_KEY),
        "retry_base_delay": 0.01,
        "retry_max_delay": 0.05,
        "retry_after_cap": 0.1,
        # These tests exercise the gateway itself; tests/security covers caller credentials.
        "security": SecuritySettings(allow_unauthenticated=True),
    }
    return Settings(**{**defaults, **fields})


@pytest.fixture
def start_gateway(sandbox: SandboxServer) -> Iterator[StartGateway]:
    """Factory: start a gateway; stopped after the test."""
    with contextlib.ExitStack() as stack:

        def start(
            settings: Settings | None = None,
            *,
            sandbox: SandboxServer = sandbox,
            transport: httpx.AsyncBaseTransport | None = None,
            **fields: Any,
        ) -> GatewayServer:
            settings = settings or gateway_settings(sandbox, **fields)
            app = create_app(settings, transport=transport)
            url = stack.enter_context(serve(app))
            http = stack.enter_context(httpx.Client(base_url=url, timeout=30))
            sandbox.request_log.clear()
            return GatewayServer(url, app, settings, http)

        yield start


@pytest.fixture
def gateway(start_gateway: StartGateway) -> GatewayServer:
    """The default gateway over the default sandbox."""
    return start_gateway()


@pytest.fixture
def gql(gateway: GatewayServer) -> Callable[..., GraphQLResult]:
    """`gateway.gql` of the default gateway: ``gql(query, variables=None, *, headers=None)``."""
    return gateway.gql


@pytest.fixture
def gql_client(gateway: GatewayServer) -> Iterator[SyncClientSession]:
    """A connected `gql` library session (sync httpx transport) on the default gateway:
    ``gql_client.execute(gql.gql("{ ... }"), variable_values={...})``."""
    transport = HTTPXTransport(url=gateway.graphql_url, timeout=30)
    with Client(transport=transport, fetch_schema_from_transport=False) as session:
        yield session
