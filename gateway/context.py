"""The per-request GraphQL context: caller, backend client, settings and request-scoped loaders."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

import strawberry

from gateway.auth import Principal, pass_through_principal, sandbox_principal
from gateway.auth.authenticate import bearer_token as parse_bearer
from gateway.auth.middleware import principal_of
from gateway.backend.client import CallOptions
from gateway.headers import header
from gateway.loaders import CatalogueCache, Loaders, TraceBatch, build_loaders
from gateway.request_id import STATE_KEY

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.websockets import WebSocket

    from gateway.backend.client import OffsetsClient
    from gateway.config import Settings
    from gateway.products import ProductPlatformClient


class SubaccountNotAllowedError(Exception):
    """The caller is bound to one subaccount and asked for another.

    Answered exactly like a subaccount that does not exist (NOT_FOUND, same message as the security
    guard's), so a bound credential cannot probe which other subaccounts exist.
    """

    code = "NOT_FOUND"
    message = "subaccount not found"

    def __init__(self, message: str = message) -> None:
        super().__init__(message)


@dataclass
class GatewayContext:
    """What every resolver sees as `info.context`; one per GraphQL request."""

    request: Request | WebSocket | None
    response: Response | None
    client: OffsetsClient
    settings: Settings
    principal: Principal
    products: ProductPlatformClient | None = None  # the product platform (seed 000), when configured
    request_id: str | None = None  # the correlation id (`gateway.request_id`), forwarded upstream
    # Cost requested so far by the operations of one JSON-array batch, which share one maximum; None outside
    # a batch (a WebSocket connection also keeps one context, and its operations are each checked alone).
    requested_cost: int | None = None
    loaders: Loaders = field(init=False)

    def call_options(
        self, subaccount_id: str | None = None, idempotency_key: str | None = None
    ) -> CallOptions:
        """The backend call options for one upstream call (see `call_options_for`)."""
        return call_options_for(self.principal, self.request_id, subaccount_id, idempotency_key)


def call_options_for(
    principal: Principal,
    request_id: str | None,
    subaccount_id: str | None = None,
    idempotency_key: str | None = None,
) -> CallOptions:
    """The backend call options for one upstream call of `principal`: the ONLY place they are built.

    A principal bound to a subaccount gets that subaccount on every call, and asking for another one
    is refused here, so no resolver can forget the tenant boundary (resolvers of endpoints the
    upstream does not scope pass the subaccount they are about to touch, to be checked here too).
    Idempotency keys are confined to the principal's namespace (`Principal.idempotency_namespace`).
    """
    bound = principal.subaccount_id
    if bound is not None and subaccount_id not in (None, bound):
        raise SubaccountNotAllowedError
    return CallOptions(
        api_key=principal.api_key,
        subaccount_id=bound or subaccount_id,
        idempotency_key=idempotency_key,
        idempotency_namespace=principal.idempotency_namespace,
        request_id=request_id,
    )


GatewayInfo = strawberry.Info[GatewayContext, Any]


def bearer_token(request: Request | WebSocket | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, if the request has one."""
    return None if request is None else parse_bearer(header(request.scope, b"authorization"))


def default_principal(settings: Settings, request: Request | WebSocket | None) -> Principal:
    """The principal when no authentication layer supplied one.

    With a configured upstream key (or the embedded sandbox) the gateway's own key is used; otherwise the
    caller's bearer token is passed through upstream, and a request without one stays key-less so the
    upstream answers 401.
    """
    if settings.upstream_api_key is not None or settings.upstream_url is None:
        return sandbox_principal()
    token = bearer_token(request)
    return pass_through_principal(token) if token else sandbox_principal()


def _authenticated(request: Request | WebSocket | None) -> Principal | None:
    """The principal the authentication middleware attached to the request, if it ran."""
    return None if request is None else principal_of(request)


def key_fingerprint(principal: Principal, settings: Settings) -> str:
    """A non-reversible tag of the upstream key a request uses, to partition cross-request caches."""
    if principal.api_key is not None:
        secret = principal.api_key
    elif settings.upstream_api_key is not None:
        secret = settings.upstream_api_key.get_secret_value()
    else:
        secret = ""
    return hashlib.sha256(secret.encode()).hexdigest()[:32]


async def build_context(
    request: Request | WebSocket | None,
    response: Response | None,
    *,
    client: OffsetsClient,
    settings: Settings,
    principal: Principal | None = None,
    catalogue_cache: CatalogueCache | None = None,
    products: ProductPlatformClient | None = None,
    on_batch: Callable[[str, int], None] | None = None,
    trace_batch: TraceBatch | None = None,
) -> GatewayContext:
    """Build one request's context. Must run inside the request's event loop (loaders bind to it).

    principal: who calls; default: the one the authentication middleware attached to the request, else
    the sandbox/pass-through principal (`default_principal`). products: the product-platform client.
    on_batch: hears each loader batch's name and size (metrics). trace_batch: spans them (tracing).

    Loaders are created here, per request, so their memoised results never leak to another caller;
    cross-request reuse happens only through `catalogue_cache`, partitioned by upstream key.
    """
    principal = principal or _authenticated(request) or default_principal(settings, request)
    request_id = None if request is None else request.scope.get("state", {}).get(STATE_KEY)
    context = GatewayContext(request, response, client, settings, principal, products, request_id)
    context.loaders = build_loaders(
        client,
        # Not `context.call_options`: the context holds its loaders, and loaders pointing back at it would
        # make a reference cycle that leaves each request's objects to the cyclic garbage collector.
        partial(call_options_for, principal, request_id),
        loop=asyncio.get_running_loop(),
        max_concurrency=settings.max_concurrent_upstream,
        catalogue_cache=catalogue_cache,
        cache_partition=key_fingerprint(principal, settings),
        on_batch=on_batch,
        trace_batch=trace_batch,
    )
    return context
