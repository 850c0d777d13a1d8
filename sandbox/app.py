"""The sandbox's Starlette app: `create_app` wires config, state, routes, middleware and the lifespan.

Nothing happens at import time. ``uvicorn --factory sandbox.app:create_app`` serves it with the
configuration read from ``SANDBOX_*`` environment variables.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect
from starlette.routing import BaseRoute

from sandbox.config import SandboxConfig
from sandbox.faults import FaultMiddleware, Faults, fault_routes
from sandbox.openapi import openapi_routes
from sandbox.problems import (
    ProblemError,
    handle_client_disconnect,
    handle_http_exception,
    handle_problem,
    handle_unexpected,
)
from sandbox.products import ProductPlatform
from sandbox.requestlog import RequestLog, RequestLogMiddleware, request_log_routes
from sandbox.routes import api_routes, sandbox_routes
from sandbox.services import Services


def _lifespan(services: Services) -> Callable[[Starlette], contextlib.AbstractAsyncContextManager[None]]:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # The callback notifier and the fulfilment worker live exactly as long as the server.
        services.notifier.start()
        worker = asyncio.get_running_loop().create_task(services.fulfiller.run())
        try:
            yield
        finally:
            worker.cancel()
            await asyncio.gather(worker, return_exceptions=True)
            await services.notifier.stop()
            services.store.close()

    return lifespan


def create_app(config: SandboxConfig | None = None) -> Starlette:
    """Build the sandbox app.

    `config` defaults to `SandboxConfig()` (read from ``SANDBOX_*`` environment variables). The app's
    ``state.services`` holds its parts (store, accounts, orders, fulfiller, ...) and ``state.config`` the
    configuration, for tests and in-process embedding.
    """
    config = config or SandboxConfig()
    services = Services.build(config)
    products = ProductPlatform.from_config(config, services.store)  # seed 000: /product-api and its read-back
    routes: list[BaseRoute] = [*api_routes(), *openapi_routes(), *sandbox_routes(), *products.routes()]
    if config.enable_admin:
        routes += [*fault_routes(), *request_log_routes()]
    request_log, faults = RequestLog(), Faults(routes=routes)
    # The log sits outside the faults so it records what the client really got (fault status, or none).
    middleware = [
        Middleware(RequestLogMiddleware, log=request_log),
        Middleware(FaultMiddleware, faults=faults),
    ]
    app = Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={
            ProblemError: handle_problem,
            ClientDisconnect: handle_client_disconnect,
            HTTPException: handle_http_exception,
            Exception: handle_unexpected,
        },
        lifespan=_lifespan(services),
    )
    app.state.config = config
    app.state.services = services
    app.state.request_log = request_log
    app.state.faults = faults
    app.state.product_platform = products
    return app
