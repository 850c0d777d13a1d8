"""`OffsetsClient`: one async method per endpoint of the offsets REST API (CNaught v1).

Each method builds the path, query and body, hands them to the private HTTP layer (`_http`) and validates the
answer into a model. Failures raise the tree in `gateway.backend.errors`.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

import httpx
import pydantic
from pydantic import BaseModel, SecretStr

from gateway.backend._http import (
    Call,
    DirectTransport,
    HttpTransport,
    QueryValue,
    RawResult,
    RequestEvent,
    Retry,
    RetryPolicy,
    Sleep,
    TraceAttempt,
    fill_route,
    new_idempotency_key,
)
from gateway.backend.errors import BackendDecodeError, BackendStatusError, ForbiddenError, UnauthorizedError
from gateway.backend.models import (
    AirFreightQuoteParams,
    CheckoutSession,
    CreateCheckoutSessionParams,
    CreateOrderParams,
    CreateRideOrderParams,
    CreateSubaccountParams,
    FlightQuoteParams,
    GroundFreightQuoteParams,
    GroundTransportQuoteParams,
    HostedPageConfig,
    ImpactData,
    ListEnvelope,
    MassQuoteParams,
    OfficeSpaceQuoteParams,
    Order,
    Portfolio,
    PortfolioDetails,
    ProjectCategoryDetails,
    ProjectDetails,
    Quote,
    QuoteParams,
    RideQuoteParams,
    Subaccount,
    TrainQuoteParams,
    UpdateSubaccountParams,
    share_projects,
)

__all__ = ["CallOptions", "OffsetsClient", "Result"]

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class CallOptions:
    """Per-call options.

    api_key: the caller's own key (pass-through mode); overrides the configured key.
    subaccount_id: sent as `X-Subaccount-Id` on the endpoints that honour it (orders, quotes, impact,
        checkout-session create); the other endpoints ignore it.
    idempotency_key: the caller's key for the endpoints that accept `Idempotency-Key`; when None those
        endpoints get a fresh uuid4 per call, reused on every retry of that call.
    idempotency_namespace: who owns the key (`Principal.idempotency_namespace`); when set, the upstream
        receives a digest of namespace and key instead of the key (see `_http.upstream_idempotency_key`).
    timeout: overrides the client's timeout for this call (seconds, or an `httpx.Timeout`).
    request_id: the gateway request's correlation id, sent as `X-Request-Id` on every attempt.
    """

    api_key: str | None = field(default=None, repr=False)
    subaccount_id: str | None = None
    idempotency_key: str | None = None
    idempotency_namespace: str | None = None
    timeout: float | httpx.Timeout | None = None
    request_id: str | None = None


DEFAULT_OPTIONS = CallOptions()

# The list envelopes, parametrised once: pydantic holds its generic classes only weakly, and a class is a
# reference cycle of its own, so one made per call is rebuilt whenever the cyclic collector has freed it.
_ORDER_PAGE = ListEnvelope[Order]
_SUBACCOUNT_PAGE = ListEnvelope[Subaccount]
_PORTFOLIO_LIST = ListEnvelope[Portfolio]


@dataclass(frozen=True)
class Result(Generic[T]):
    """A mutation's result. `replayed` is True when the upstream answered from its idempotency store
    (`X-Idempotent-Replay: true`) for a key the caller supplied: the action was done by an earlier call."""

    data: T
    replayed: bool = False
    attempts: int = 1


class OffsetsClient:
    """Async client of the offsets REST API.

    http: the shared, pooled `httpx.AsyncClient` (opened and closed by the app's lifespan, not here).
    base_url: the API root including the version, e.g. `https://api.cnaught.com/v1`.
    api_key: the configured key; None means every call must bring `CallOptions.api_key` (pass-through).
    retry: how reads, keyed mutations, PUTs and DELETEs are retried.
    timeout: default timeout per call; None uses the `http` client's own.
    max_concurrency: bound on requests in flight from this client (None: only the pool limits apply).
    on_request: called after every attempt with a `RequestEvent` (method, route template, status, ...).
    trace_attempt: starts a trace span around every attempt, whose ``traceparent`` is sent (tracing on).
    sleep, rand: injectable for tests (waits between attempts; jitter source).
    direct: the aiohttp pool `http` sends through, to call without httpx's objects (`_http.HttpTransport`).
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        api_key: str | SecretStr | None = None,
        retry: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen dataclass, safe as a default
        timeout: float | httpx.Timeout | None = None,
        max_concurrency: int | None = None,
        on_request: Callable[[RequestEvent], None] | None = None,
        trace_attempt: TraceAttempt | None = None,
        sleep: Sleep = asyncio.sleep,
        rand: Callable[[], float] = random.random,
        direct: DirectTransport | None = None,
    ) -> None:
        self._transport = HttpTransport(
            http,
            base_url=base_url,
            api_key=api_key,
            retry=retry,
            timeout=_timeout(timeout),
            max_concurrency=max_concurrency,
            on_request=on_request,
            trace_attempt=trace_attempt,
            sleep=sleep,
            rand=rand,
            direct=direct,
        )

    def __repr__(self) -> str:
        return f"OffsetsClient({self._transport!r})"

    # --- orders ----------------------------------------------------------------------------------------

    async def list_orders(
        self,
        *,
        limit: int = 20,
        starting_after: str | None = None,
        ending_before: str | None = None,
        opts: CallOptions = DEFAULT_OPTIONS,
    ) -> list[Order]:
        """`GET /orders`, newest first; `starting_after` pages to older orders, `ending_before` to newer."""
        query = _page(limit, starting_after, ending_before)
        raw = await self._send("GET", "/orders", opts, query=query, scoped=True)
        return _validate(_ORDER_PAGE, raw).data

    async def get_order(self, id: str, *, opts: CallOptions = DEFAULT_OPTIONS) -> Order:
        """`GET /orders/{id}`."""
        raw = await self._send("GET", "/orders/{id}", opts, ids={"id": id}, scoped=True)
        return _validate(Order, raw)

    async def create_order(
        self, params: CreateOrderParams, *, opts: CallOptions = DEFAULT_OPTIONS
    ) -> Result[Order]:
        """`POST /orders` with an idempotency key (the caller's or a fresh one), retried safely."""
        raw = await self._send_keyed("/orders", opts, json=params.to_body())
        return _result(Order, raw)

    async def create_ride_order(
        self, params: CreateRideOrderParams, *, opts: CallOptions = DEFAULT_OPTIONS
    ) -> Result[Order]:
        """`POST /orders/ride` (deprecated upstream), keyed like `create_order`."""
        raw = await self._send_keyed("/orders/ride", opts, json=params.to_body())
        return _result(Order, raw)

    async def cancel_order(self, id: str, *, opts: CallOptions = DEFAULT_OPTIONS) -> Result[Order]:
        """`POST /orders/{id}/cancel` (no body), keyed like `create_order`."""
        raw = await self._send_keyed("/orders/{id}/cancel", opts, ids={"id": id})
        return _result(Order, raw)

    # --- quotes (POSTs that only read, so retried like reads) --------------------------------------------

    async def quote_mass(self, params: MassQuoteParams, *, opts: CallOptions = DEFAULT_OPTIONS) -> Quote:
        """`POST /quotes`: price of `amount_kg`."""
        return await self._quote("/quotes", params, opts)

    async def quote_flight(self, params: FlightQuoteParams, *, opts: CallOptions = DEFAULT_OPTIONS) -> Quote:
        """`POST /quotes/flight`."""
        return await self._quote("/quotes/flight", params, opts)

    async def quote_train(self, params: TrainQuoteParams, *, opts: CallOptions = DEFAULT_OPTIONS) -> Quote:
        """`POST /quotes/train`."""
        return await self._quote("/quotes/train", params, opts)

    async def quote_air_freight(
        self, params: AirFreightQuoteParams, *, opts: CallOptions = DEFAULT_OPTIONS
    ) -> Quote:
        """`POST /quotes/air-freight`."""
        return await self._quote("/quotes/air-freight", params, opts)

    async def quote_ground_freight(
        self, params: GroundFreightQuoteParams, *, opts: CallOptions = DEFAULT_OPTIONS
    ) -> Quote:
        """`POST /quotes/ground-freight`."""
        return await self._quote("/quotes/ground-freight", params, opts)

    async def quote_ground_transport(
        self, params: GroundTransportQuoteParams, *, opts: CallOptions = DEFAULT_OPTIONS
    ) -> Quote:
        """`POST /quotes/ground-transport`."""
        return await self._quote("/quotes/ground-transport", params, opts)

    async def quote_office_space(
        self, params: OfficeSpaceQuoteParams, *, opts: CallOptions = DEFAULT_OPTIONS
    ) -> Quote:
        """`POST /quotes/office-space`."""
        return await self._quote("/quotes/office-space", params, opts)

    async def quote_ride(self, params: RideQuoteParams, *, opts: CallOptions = DEFAULT_OPTIONS) -> Quote:
        """`POST /quotes/ride` (deprecated upstream)."""
        return await self._quote("/quotes/ride", params, opts)

    # --- impact ------------------------------------------------------------------------------------------

    async def get_impact_data(
        self,
        *,
        from_: datetime | None = None,
        to: datetime | None = None,
        opts: CallOptions = DEFAULT_OPTIONS,
    ) -> ImpactData:
        """`GET /impact/data`, optionally limited to `[from_, to]` (naive datetimes are taken as UTC)."""
        query = {"from": _iso(from_), "to": _iso(to)}
        raw = await self._send("GET", "/impact/data", opts, query=query, scoped=True)
        return _validate(ImpactData, raw)

    async def get_hosted_page_config(self, *, opts: CallOptions = DEFAULT_OPTIONS) -> HostedPageConfig:
        """`GET /impact/hosted-page-config`."""
        raw = await self._send("GET", "/impact/hosted-page-config", opts, scoped=True)
        return _validate(HostedPageConfig, raw)

    # --- subaccounts -------------------------------------------------------------------------------------
    # The reference (section 2) lists these endpoints as taking no X-Subaccount-Id, and the sandbox ignores
    # it, so it is not sent: the upstream cannot confine a bound caller here. The security guard and
    # `GatewayContext.call_options(subaccount_id=...)`, which every subaccount resolver and the subaccount
    # loader call with the id they are about to send, are what keep a bound caller to its own subaccount.

    async def list_subaccounts(
        self,
        *,
        limit: int = 20,
        starting_after: str | None = None,
        ending_before: str | None = None,
        opts: CallOptions = DEFAULT_OPTIONS,
    ) -> list[Subaccount]:
        """`GET /subaccounts`, newest first, paged like `list_orders`."""
        query = _page(limit, starting_after, ending_before)
        raw = await self._send("GET", "/subaccounts", opts, query=query)
        return _validate(_SUBACCOUNT_PAGE, raw).data

    async def get_subaccount(self, id: str, *, opts: CallOptions = DEFAULT_OPTIONS) -> Subaccount:
        """`GET /subaccounts/{id}`."""
        raw = await self._send("GET", "/subaccounts/{id}", opts, ids={"id": id})
        return _validate(Subaccount, raw)

    async def create_subaccount(
        self, params: CreateSubaccountParams, *, opts: CallOptions = DEFAULT_OPTIONS
    ) -> Result[Subaccount]:
        """`POST /subaccounts`, keyed like `create_order`."""
        raw = await self._send_keyed("/subaccounts", opts, json=params.to_body(), scoped=False)
        return _result(Subaccount, raw)

    async def update_subaccount(
        self, id: str, params: UpdateSubaccountParams, *, opts: CallOptions = DEFAULT_OPTIONS
    ) -> Subaccount:
        """`PUT /subaccounts/{id}`: full replacement (a None email/default portfolio clears it)."""
        raw = await self._send("PUT", "/subaccounts/{id}", opts, ids={"id": id}, json=params.to_body())
        return _validate(Subaccount, raw)

    async def delete_subaccount(self, id: str, *, opts: CallOptions = DEFAULT_OPTIONS) -> None:
        """`DELETE /subaccounts/{id}` (204). The upstream refuses when the subaccount has orders."""
        await self._send("DELETE", "/subaccounts/{id}", opts, ids={"id": id})

    async def set_subaccount_logo_url(
        self, id: str, logo_url: str, *, opts: CallOptions = DEFAULT_OPTIONS
    ) -> Subaccount:
        """`POST /subaccounts/{id}/logo`: the upstream downloads and rehosts the image (not retried)."""
        body = {"logo_url": logo_url}
        raw = await self._send(
            "POST", "/subaccounts/{id}/logo", opts, ids={"id": id}, json=body, retry=Retry.NEVER
        )
        return _validate(Subaccount, raw)

    async def upload_subaccount_logo(
        self, id: str, content: bytes, content_type: str, *, opts: CallOptions = DEFAULT_OPTIONS
    ) -> Subaccount:
        """`PUT /subaccounts/{id}/logo` with the raw image bytes and their MIME type."""
        raw = await self._send(
            "PUT", "/subaccounts/{id}/logo", opts, ids={"id": id}, content=content, content_type=content_type
        )
        return _validate(Subaccount, raw)

    async def remove_subaccount_logo(self, id: str, *, opts: CallOptions = DEFAULT_OPTIONS) -> Subaccount:
        """`DELETE /subaccounts/{id}/logo`."""
        raw = await self._send("DELETE", "/subaccounts/{id}/logo", opts, ids={"id": id})
        return _validate(Subaccount, raw)

    # --- catalogue ---------------------------------------------------------------------------------------

    async def list_portfolios(self, *, opts: CallOptions = DEFAULT_OPTIONS) -> list[Portfolio]:
        """`GET /portfolios` (unpaginated): the portfolios the account may use."""
        raw = await self._send("GET", "/portfolios", opts)
        return _validate(_PORTFOLIO_LIST, raw).data

    async def get_portfolio(self, id: str, *, opts: CallOptions = DEFAULT_OPTIONS) -> PortfolioDetails:
        """`GET /portfolios/{id}` with prices and category allocations."""
        raw = await self._send("GET", "/portfolios/{id}", opts, ids={"id": id})
        return _validate(PortfolioDetails, raw)

    async def get_project(self, id: str, *, opts: CallOptions = DEFAULT_OPTIONS) -> ProjectDetails:
        """`GET /projects/{id}` with credit issuances."""
        raw = await self._send("GET", "/projects/{id}", opts, ids={"id": id})
        return _validate(ProjectDetails, raw)

    async def get_project_category(
        self, id: str, *, opts: CallOptions = DEFAULT_OPTIONS
    ) -> ProjectCategoryDetails:
        """`GET /project-categories/{id}` with its projects."""
        raw = await self._send("GET", "/project-categories/{id}", opts, ids={"id": id})
        return _validate(ProjectCategoryDetails, raw)

    # --- checkout ----------------------------------------------------------------------------------------

    async def create_checkout_session(
        self, params: CreateCheckoutSessionParams, *, opts: CallOptions = DEFAULT_OPTIONS
    ) -> CheckoutSession:
        """`POST /checkout/sessions`. The upstream takes no idempotency key, so this is never retried."""
        raw = await self._send(
            "POST", "/checkout/sessions", opts, json=params.to_body(), scoped=True, retry=Retry.NEVER
        )
        return _validate(CheckoutSession, raw)

    async def get_checkout_session(self, id: str, *, opts: CallOptions = DEFAULT_OPTIONS) -> CheckoutSession:
        """`GET /checkout/sessions/{id}`."""
        raw = await self._send("GET", "/checkout/sessions/{id}", opts, ids={"id": id})
        return _validate(CheckoutSession, raw)

    # --- health ------------------------------------------------------------------------------------------

    async def ping(self, *, probe_timeout: float = 2.0) -> None:
        """Raise unless the upstream answers HTTP within `probe_timeout` (one attempt, for `/readyz`).

        Sends `GET /portfolios`. Connection failures, timeouts and 5xx raise; a 401/403 raises only when a
        key is configured (it is then wrong); without one (pass-through) any 4xx proves the upstream is up.
        """
        keyed = self._transport.has_api_key
        call = self._call(
            "GET",
            "/portfolios",
            DEFAULT_OPTIONS,
            retry=Retry.NEVER,
            timeout=probe_timeout,
            authenticated=keyed,
        )
        try:
            await self._transport.send(call)
        except BackendStatusError as exc:
            if exc.status >= 500 or (keyed and isinstance(exc, UnauthorizedError | ForbiddenError)):
                raise

    # --- plumbing ----------------------------------------------------------------------------------------

    async def _quote(self, route: str, params: QuoteParams, opts: CallOptions) -> Quote:
        raw = await self._send("POST", route, opts, json=params.to_body(), scoped=True)
        return _validate(Quote, raw)

    async def _send_keyed(
        self,
        route: str,
        opts: CallOptions,
        *,
        ids: dict[str, str] | None = None,
        json: Any = None,
        scoped: bool = True,
    ) -> RawResult:
        """POST to an endpoint that accepts `Idempotency-Key`: one key for the call, on every attempt."""
        key = opts.idempotency_key or new_idempotency_key()
        return await self._send(
            "POST",
            route,
            opts,
            ids=ids,
            json=json,
            scoped=scoped,
            retry=Retry.KEYED,
            idempotency_key=key,
            idempotency_namespace=opts.idempotency_namespace,
            key_generated=opts.idempotency_key is None,
        )

    async def _send(
        self,
        method: str,
        route: str,
        opts: CallOptions,
        *,
        ids: dict[str, str] | None = None,
        retry: Retry = Retry.SAFE,
        scoped: bool = False,
        **fields: Any,
    ) -> RawResult:
        call = self._call(method, route, opts, ids=ids, retry=retry, scoped=scoped, **fields)
        return await self._transport.send(call)

    @staticmethod
    def _call(
        method: str,
        route: str,
        opts: CallOptions,
        *,
        ids: dict[str, str] | None = None,
        retry: Retry = Retry.SAFE,
        scoped: bool = False,
        timeout: float | httpx.Timeout | None = None,
        **fields: Any,
    ) -> Call:
        return Call(
            method=method,
            route=route,
            path=fill_route(route, **(ids or {})),
            retry=retry,
            api_key=opts.api_key,
            subaccount_id=opts.subaccount_id if scoped else None,
            request_id=opts.request_id,
            timeout=_timeout(timeout if timeout is not None else opts.timeout),
            **fields,
        )


def _validate(model: type[M], raw: RawResult) -> M:
    """Validate a decoded body; a shape off the contract is the upstream's fault, not the caller's."""
    try:
        return model.model_validate(share_projects(raw.data))
    except pydantic.ValidationError as exc:
        # The pydantic message quotes input values; keep only where the mismatch was.
        where = ", ".join(".".join(str(p) for p in err["loc"]) for err in exc.errors()[:5])
        raise BackendDecodeError(f"upstream sent an unexpected {model.__name__} ({where})") from None


def _result(model: type[M], raw: RawResult) -> Result[M]:
    return Result(_validate(model, raw), replayed=raw.replayed, attempts=raw.attempts)


def _page(limit: int, starting_after: str | None, ending_before: str | None) -> dict[str, QueryValue]:
    return {"limit": limit, "starting_after": starting_after, "ending_before": ending_before}


def _iso(value: datetime | None) -> str | None:
    """ISO-8601 in UTC with a `Z`, as the upstream prints its own timestamps."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _timeout(value: float | httpx.Timeout | None) -> httpx.Timeout | None:
    if value is None or isinstance(value, httpx.Timeout):
        return value
    return httpx.Timeout(value)
