"""The gateway's ASGI application factory: ``uvicorn --factory gateway.app:create_app``."""

from __future__ import annotations

import gc
import logging
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager, contextmanager
from functools import partial
from http.cookiejar import Cookie, CookieJar, DefaultCookiePolicy
from typing import Any

import httpx
import strawberry
from pydantic import SecretStr
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from strawberry.extensions import DisableIntrospection, ParserCache, SchemaExtension

from gateway.admission import AdmissionMiddleware
from gateway.after_response import after_response
from gateway.auth.middleware import PRINCIPAL_KEY
from gateway.backend import OffsetsClient, RequestEvent, RetryPolicy
from gateway.backend.transport import AiohttpTransport
from gateway.config import EMBEDDED_SANDBOX_KEY, Settings
from gateway.context import GatewayContext, build_context
from gateway.graphiql import assets_vendored, render_page, static_mount
from gateway.health import health_routes
from gateway.loaders import CatalogueCache
from gateway.masking import MaskInternalErrors
from gateway.metrics import GatewayMetrics, HttpMetricsMiddleware, metrics_route
from gateway.operation_selection import OperationSelection
from gateway.preflight import settings_for_app
from gateway.products.setup import build_product_client
from gateway.reload import reload_on_sighup
from gateway.request_id import RequestIdMiddleware
from gateway.schema import ExtensionSpec, build_schema
from gateway.schema.validation import DocumentValidationCache
from gateway.security.wiring import Security, build_security
from gateway.subscriptions.setup import (
    configure_transports,
    feed_running,
    subscription_extensions,
    subscription_routes,
)
from gateway.telemetry import operations
from gateway.telemetry.access import AccessLogMiddleware
from gateway.telemetry.logs import configure_logging
from gateway.telemetry.tracing import Tracing, TracingMiddleware, build_tracing, feed_observer
from gateway.view import GatewayGraphQL

logger = logging.getLogger(__name__)

#: Base URL of the embedded sandbox: requests never leave the process (ASGITransport), the host is a label.
EMBEDDED_SANDBOX_URL = "http://embedded-sandbox/v1"
_EMBEDDED_ROOT = EMBEDDED_SANDBOX_URL.removesuffix("/v1")

ExtensionFactory = type[SchemaExtension]
Lifespan = Callable[[Starlette], AbstractAsyncContextManager[dict[str, Any]]]


def create_app(
    settings: Settings | None = None, *, transport: httpx.AsyncBaseTransport | None = None
) -> Starlette:
    """Build the gateway.

    settings: the configuration, checked by `gateway.preflight.preflight` (ConfigError when bad); ``None``
        reads it from ``GATEWAY_*`` environment variables, and a bad one exits with status 2 and one line
        per problem on stderr (uvicorn would print a factory's exception as a traceback).
    transport: the httpx transport to the upstream (tests pass a mock or an in-process one); ``None``
        means a pooled network connection to ``settings.upstream_url``, or the embedded sandbox when no
        upstream URL is set.

    With the embedded sandbox, its app is ``app.state.sandbox_app`` and its REST API is also mounted at
    ``/sandbox`` (e.g. ``/sandbox/v1/portfolios``). With metrics on, ``app.state.metrics`` is the app's
    `GatewayMetrics` (its own registry) served at ``/metrics``. With an ``OTEL_*`` endpoint,
    ``app.state.tracing`` is its `Tracing` (`gateway.telemetry.tracing`), else None.

    Called without settings - as the process's factory, ``uvicorn --factory gateway.app:create_app`` -
    it also sets up the process's logging (`gateway.telemetry.logs`), as ``offsets-gateway serve`` does.
    """
    is_factory = settings is None
    settings = settings_for_app(settings)  # checked before anything is built; see gateway.preflight
    if is_factory:
        configure_logging(settings.log_level, settings.log_format)
    security = _security(settings)
    metrics = _metrics(settings, security)
    tracing = build_tracing(settings.otel)
    sandbox_app = _embedded_sandbox(settings) if settings.embedded_sandbox else None
    # /graphql first: the router tries routes in order, and nearly every request is for it.
    routes = [
        *_graphql_routes(settings, security, metrics, tracing),
        *health_routes(),
        *subscription_routes(),
    ]
    if metrics is not None:
        routes.append(metrics_route(metrics, token=_secret(settings.metrics_token)))
    if sandbox_app is not None:
        routes.append(Mount("/sandbox", app=sandbox_app, name="sandbox"))
    # Outermost: every response, the metrics' and the security middleware's own included, carries the id.
    middleware = [
        Middleware(RequestIdMiddleware, is_credential=security.authenticator.is_client_token),
        *_tracing_middleware(tracing),
        Middleware(AccessLogMiddleware),
        *_metrics_middleware(metrics),
        *_admission_middleware(settings, metrics),
        *security.middleware(),
    ]
    app = Starlette(
        routes=routes, middleware=middleware, lifespan=_lifespan(settings, transport, sandbox_app)
    )
    app.state.settings = settings
    app.state.security = security
    app.state.metrics = metrics
    app.state.tracing = tracing
    app.state.sandbox_app = sandbox_app
    return app


def schema_extensions(settings: Settings) -> list[ExtensionFactory]:
    """The strawberry extensions every gateway schema runs with, as factories (one instance per request).

    ParserCache and DocumentValidationCache keep their caches at module level, so they work across requests;
    the validation results are found by the parsed document's identity (`gateway.schema.validation`).
    """
    extensions: list[ExtensionFactory] = [
        ParserCache,
        OperationSelection,
        DocumentValidationCache,
        MaskInternalErrors,
        *subscription_extensions(),
    ]
    if not settings.introspection_enabled:
        extensions.append(DisableIntrospection)
    return extensions


def _security(settings: Settings) -> Security:
    """Auth, limits, rate limits, persisted queries and HTTP hardening (`gateway.security.wiring`)."""
    key = settings.upstream_api_key.get_secret_value() if settings.upstream_api_key else None
    return build_security(settings.security, embedded_sandbox=settings.embedded_sandbox, upstream_key=key)


def _metrics(settings: Settings, security: Security) -> GatewayMetrics | None:
    # Operation names are caller-chosen; only a trusted-documents manifest bounds them enough for a label.
    bounded_names = security.queries.trusted is not None
    return GatewayMetrics(label_operation_names=bounded_names) if settings.metrics else None


def _metrics_middleware(metrics: GatewayMetrics | None) -> list[Middleware]:
    # Outermost, so responses sent by the security middleware (401, 413, 504) are counted too.
    return [Middleware(HttpMetricsMiddleware, metrics=metrics)] if metrics is not None else []


def _tracing_middleware(tracing: Tracing | None) -> list[Middleware]:
    # Inside the request id (logs in the span carry both), outside the rest, so 401/413/504 are traced.
    return [Middleware(TracingMiddleware, tracing=tracing)] if tracing is not None else []


def _admission_middleware(settings: Settings, metrics: GatewayMetrics | None) -> list[Middleware]:
    # Inside the request-id and metrics layers (shed answers carry an id and are counted), outside the rest.
    if settings.max_in_flight == 0:
        return []
    on_shed = metrics.shed_requests.inc if metrics is not None else None
    limit, wait = settings.max_in_flight, settings.queue_timeout
    return [Middleware(AdmissionMiddleware, max_in_flight=limit, queue_timeout=wait, on_shed=on_shed)]


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


def _graphql_routes(
    settings: Settings, security: Security, metrics: GatewayMetrics | None, tracing: Tracing | None
) -> list[BaseRoute]:
    local_assets = assets_vendored()
    # First, so its operation span is the parent of every other step and it sees refusals by later hooks.
    observed = [operations.extension_factory(metrics, tracing)]
    build = _subgraph_builder() if settings.federation else build_schema
    schema = build([*observed, *schema_extensions(settings), *security.schema_extensions()])
    # With trusted documents GraphiQL's introspection query would be refused: the page gets the schema.
    embedded = schema if security.queries.trusted is not None else None
    graphiql = render_page(local=local_assets, schema=embedded) if settings.graphiql_enabled else None
    # "Did you mean ...?" hints would map the schema for callers who may not introspect it.
    schema.config.disable_field_suggestions = not settings.introspection_enabled
    view = GatewayGraphQL(
        schema,
        context_getter=_context_getter(settings, metrics, tracing),
        graphiql_html=graphiql,
        on_results=operations.finish_operations,
        max_batch_size=settings.max_batch_size,
    )
    configure_transports(view, settings)
    routes: list[BaseRoute] = [Route("/graphql", view, name="graphql"), WebSocketRoute("/graphql", view)]
    if graphiql and local_assets:
        routes.append(static_mount())
    return routes


def _subgraph_builder() -> Callable[[Sequence[ExtensionSpec]], strawberry.Schema]:
    from gateway.federation import build_subgraph_schema  # loaded only in federation mode

    return build_subgraph_schema


def _context_getter(
    settings: Settings, metrics: GatewayMetrics | None, tracing: Tracing | None
) -> Callable[[Request, Response], Any]:
    on_batch = partial(after_response, metrics.loader_batch) if metrics is not None else None
    trace_batch = tracing.loader_batch if tracing is not None else None

    async def get_context(request: Request, response: Response) -> GatewayContext:
        state = request.scope["state"]  # the lifespan's state, and what the middlewares put there
        return await build_context(
            request,
            response,
            client=state["client"],
            settings=settings,
            # Put in the request state by the authentication middleware, when one runs; None = the default.
            principal=state.get(PRINCIPAL_KEY),
            catalogue_cache=state["catalogue_cache"],
            products=state["products"],
            on_batch=on_batch,
            trace_batch=trace_batch,
        )

    return get_context


def _embedded_sandbox(settings: Settings) -> Starlette:
    # Imported here: a gateway pointed at a real upstream never needs the sandbox package loaded.
    from sandbox.app import create_app as create_sandbox_app
    from sandbox.config import SandboxConfig

    class EmbeddedSandboxConfig(SandboxConfig):
        # Only the values given here: SANDBOX_* variables (and .env/secrets files) are meant for a standalone
        # sandbox; read here, a stray SANDBOX_API_KEYS would 401 every call, SANDBOX_DB share its state.
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            *_: Any,
            **__: Any,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return (init_settings,)

    config = EmbeddedSandboxConfig(db=settings.sandbox_db, fulfilment_delay=settings.sandbox_fulfilment_delay)
    return create_sandbox_app(config)


def _lifespan(
    settings: Settings, transport: httpx.AsyncBaseTransport | None, sandbox_app: Starlette | None
) -> Lifespan:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        async with AsyncExitStack() as stack:
            upstream = transport
            if sandbox_app is not None:
                # Mounted apps get no lifespan events of their own, so the sandbox's runs inside ours.
                await stack.enter_async_context(sandbox_app.router.lifespan_context(sandbox_app))
                upstream = upstream or httpx.ASGITransport(app=sandbox_app)
                _announce_sandbox()
            await stack.enter_async_context(app.state.security.running())
            if app.state.tracing is not None:
                stack.callback(app.state.tracing.shutdown)  # exports the spans still buffered
            stack.enter_context(reload_on_sighup(app.state.security))
            # Over the network: the lean HTTP/1.1 pool, aiohttp behind a proxy (`gateway.backend.transport`).
            network: AiohttpTransport | None = None
            if upstream is None:
                upstream = network = AiohttpTransport(_limits(settings))
            http = await stack.enter_async_context(_http_client(settings, upstream))
            state = _lifespan_state(settings, http, network, app.state.metrics, app.state.tracing)
            state["order_feed"] = await stack.enter_async_context(
                feed_running(
                    app,
                    settings,
                    state["client"],
                    redis=app.state.security.redis,
                    observer=feed_observer(app.state.tracing, app.state.metrics),
                    sandbox_app=sandbox_app,
                )
            )
            stack.enter_context(_startup_objects_frozen(settings.gc_young_threshold))
            yield state

    return lifespan


@contextmanager
def _startup_objects_frozen(young_threshold: int) -> Iterator[None]:
    """Keep the objects that live as long as the process out of the garbage collector's full passes, and
    run its youngest-generation passes every `young_threshold` allocations.

    A large query allocates some twenty thousand short-lived objects, so the collector runs a full pass
    every few such queries, and each pass re-scanned the ~100k objects of the schema, models and libraries
    (about 20 ms a pass on the development machine). Frozen (`gc.freeze`), they are skipped; everything
    allocated later is collected as before. At shutdown they go back to the collector.

    `young_threshold` (GATEWAY_GC_YOUNG_THRESHOLD) defaults to 5,000 instead of Python's 700: a request's
    objects form no reference cycles (`gateway.schema.acyclic`, the loaders), so they are freed when it
    ends and a pass mostly finds live objects of requests in flight; at 5,000 the 50-order dashboard spends
    next to nothing in the collector (0.4-0.5 ms of ~6 at 700) and the worker's resident size stayed at
    ~101 MB with 8 queries in flight. (With the cycles, 3,000-10,000 had taken it from ~112 to ~150 MB:
    cyclic garbage lived longer.) The older generations keep Python's thresholds.
    """
    gc.freeze()
    previous = gc.get_threshold()
    gc.set_threshold(young_threshold, *previous[1:])  # 0: no automatic collection
    try:
        yield
    finally:
        gc.set_threshold(*previous)
        gc.unfreeze()


def _announce_sandbox() -> None:
    logger.warning(
        "SANDBOX MODE: GATEWAY_UPSTREAM_URL is not set, so the gateway runs on its embedded, in-process "
        "sandbox, open to any caller. No real carbon credits are bought. Set GATEWAY_UPSTREAM_URL and "
        "GATEWAY_UPSTREAM_API_KEY to use the real offsets API."
    )


def _limits(settings: Settings) -> httpx.Limits:
    return httpx.Limits(
        max_connections=settings.max_connections,
        max_keepalive_connections=settings.max_keepalive_connections,
    )


def _http_client(settings: Settings, transport: httpx.AsyncBaseTransport) -> httpx.AsyncClient:
    """One pooled client for every upstream call of this app (connection reuse across requests)."""
    # The client is shared by every caller and tenant: a cookie one upstream answer sets must never ride
    # along on another caller's request, so its jar stores none (and skips even looking at Set-Cookie).
    return httpx.AsyncClient(
        transport=transport, limits=_limits(settings), timeout=_timeout(settings), cookies=NoCookieJar()
    )


class NoCookieJar(CookieJar):
    """A cookie jar that keeps nothing (the REST API is stateless; its auth is the bearer key)."""

    def __init__(self) -> None:
        super().__init__(policy=_NoCookies())

    def extract_cookies(self, response: Any, request: urllib.request.Request) -> None:
        return None

    def set_cookie(self, cookie: Cookie) -> None:
        return None


class _NoCookies(DefaultCookiePolicy):
    """A cookie policy that accepts nothing, should a cookie reach the jar some other way."""

    def set_ok(self, cookie: Cookie, request: urllib.request.Request) -> bool:
        return False


def _timeout(settings: Settings) -> httpx.Timeout:
    return httpx.Timeout(
        connect=settings.connect_timeout,
        read=settings.read_timeout,
        write=settings.write_timeout,
        pool=settings.pool_timeout,
    )


def _lifespan_state(
    settings: Settings,
    http: httpx.AsyncClient,
    network: AiohttpTransport | None,
    metrics: GatewayMetrics | None,
    tracing: Tracing | None,
) -> dict[str, Any]:
    if not settings.embedded_sandbox:
        mode = "pass-through of callers' keys" if settings.pass_through_auth else "configured API key"
        logger.info("upstream %s (%s)", settings.safe_upstream_url, mode)
    return {
        "client": _offsets_client(settings, http, network, metrics, tracing),
        "catalogue_cache": CatalogueCache(settings.catalogue_cache_ttl),
        # The product platform (seed 000): configured, the embedded sandbox's, or None.
        "products": build_product_client(
            settings, http, embedded_sandbox_url=_EMBEDDED_ROOT if settings.embedded_sandbox else None
        ),
    }


def _offsets_client(
    settings: Settings,
    http: httpx.AsyncClient,
    network: AiohttpTransport | None,
    metrics: GatewayMetrics | None,
    tracing: Tracing | None,
) -> OffsetsClient:
    return OffsetsClient(
        http,
        base_url=settings.upstream_url or EMBEDDED_SANDBOX_URL,
        api_key=_upstream_key(settings),
        retry=_retry_policy(settings),
        timeout=_timeout(settings),
        # Queue calls in the client rather than in the pool, whose wait is bounded by `pool_timeout`.
        max_concurrency=settings.max_connections,
        on_request=_on_request(metrics),
        trace_attempt=tracing.upstream_attempt if tracing is not None else None,
        direct=network,  # its own calls skip httpx's request/response objects (`gateway.backend._http`)
    )


def _on_request(metrics: GatewayMetrics | None) -> Callable[[RequestEvent], None]:
    """Every upstream attempt is counted for its operation's log line, and in the metrics when on."""
    if metrics is None:
        return operations.count_upstream_attempt

    def observe(event: RequestEvent) -> None:
        operations.count_upstream_attempt(event)  # now: the operation's record reads it when it ends
        after_response(metrics.upstream_request, event)

    return observe


def _upstream_key(settings: Settings) -> str | None:
    if settings.upstream_api_key is not None:
        return settings.upstream_api_key.get_secret_value()
    return EMBEDDED_SANDBOX_KEY if settings.embedded_sandbox else None


def _retry_policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(
        max_attempts=settings.max_retries + 1,
        base_delay=settings.retry_base_delay,
        max_delay=settings.retry_max_delay,
        max_retry_after=settings.retry_after_cap,
    )
