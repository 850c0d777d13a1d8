"""Prometheus metrics of one gateway app: GraphQL operations, upstream calls, loader batches, HTTP responses.

Each app owns a `CollectorRegistry` (never prometheus-client's global one), so several apps can run in one
process - as the tests do - without sharing or clashing counters. ``GET /metrics`` serves it in the text
exposition format.

Every label value comes from a small closed set, so the number of series stays bounded whatever callers
send: operation types, outcomes, error codes of the gateway's own code tree, upstream route *templates*
(``/orders/{id}``, never an id), status classes and the gateway's own paths. No label carries an id, a key,
a subaccount or a free-text message. Operation *names* are chosen by callers, so they become a label only
when trusted documents are enforced (the manifest bounds them); otherwise - APQ included, where any caller
can register a new document - they are left out, since each new name would be a new series kept forever.

With ``--workers N`` each worker process keeps its own counters and a scrape reaches one of them; run one
worker per container (and scale containers) when the figures must add up.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable
from typing import Generic, TypeVar, cast

from graphql import GraphQLError, OperationDefinitionNode, get_operation_ast
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.process_collector import ProcessCollector
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.types import ExecutionContext, ExecutionResult

from gateway.auth.authenticate import bearer_token
from gateway.backend import RequestEvent
from gateway.masking import INTERNAL_ERROR_CODE
from gateway.view import is_request_error, request_error_code

#: Codes of operations refused before they ran by the limits or the rate limiter (`gateway.security.guard`).
REJECTION_CODES = frozenset(
    {
        "RATE_LIMITED",
        "TOKEN_LIMIT_EXCEEDED",
        "DEPTH_LIMIT_EXCEEDED",
        "ALIAS_LIMIT_EXCEEDED",
        "ROOT_FIELD_LIMIT_EXCEEDED",
        "PAGE_SIZE_REQUIRED",
        "PAGE_SIZE_EXCEEDED",
        "MAX_COST_EXCEEDED",
    }
)
#: Paths reported by name in `gateway_http_responses_total`; anything else is "other".
KNOWN_PATHS = frozenset({"/graphql", "/healthz", "/readyz", "/metrics"})

# Upstream calls are tens of milliseconds to seconds (retries and timeouts included).
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_BATCH_BUCKETS = (1, 2, 5, 10, 20, 50, 100)
_CODE = re.compile(r"[A-Z][A-Z0-9_]{0,63}")
M = TypeVar("M", Counter, Histogram)


class _Children(Generic[M]):
    """A labelled metric's children, kept by label values once made.

    prometheus_client's ``labels()`` checks its arguments, converts them and takes a lock on every call
    (a few microseconds); a request asks for five to seven children. The label values here are bounded
    (route templates, status classes, codes, operation types; names only from trusted documents), and so
    is this map.
    """

    __slots__ = ("_children", "_metric")

    def __init__(self, metric: M) -> None:
        self._metric: M = metric
        self._children: dict[tuple[str, ...], M] = {}

    def __call__(self, *values: str) -> M:
        child = self._children.get(values)
        if child is None:
            child = self._children[values] = self._metric.labels(*values)
        return child


class GatewayMetrics:
    """The metrics of one app, in their own registry.

    label_operation_names: add the operation name as a label; only safe when the set of names is bounded
    (trusted documents), since a caller could otherwise mint a new series with every request.
    """

    def __init__(self, *, label_operation_names: bool = False) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.label_operation_names = label_operation_names
        ProcessCollector(registry=self.registry)
        self._graphql_metrics()
        self._upstream_metrics()
        self._other_metrics()
        self._subscription_metrics()
        # Children by label values, for the observations each request makes (see `_Children`).
        self._operation_count = _Children(self.operations)
        self._operation_time = _Children(self.operation_seconds)
        self._error_count = _Children(self.errors)
        self._rejection_count = _Children(self.rejections)
        self._upstream_count = _Children(self.upstream_requests)
        self._retry_count = _Children(self.upstream_retries)
        self._upstream_time = _Children(self.upstream_seconds)
        self._batch_size = _Children(self.loader_batch_size)
        self._http_count = _Children(self.http_responses)

    def _graphql_metrics(self) -> None:
        labels = ["operation_type", "outcome"] + (["operation_name"] if self.label_operation_names else [])
        self.operations = Counter(
            "gateway_graphql_operations",
            "GraphQL operations by type and outcome (success, error: ran with errors, rejected: never ran).",
            labels,
            registry=self.registry,
        )
        self.operation_seconds = Histogram(
            "gateway_graphql_operation_duration_seconds",
            "Time from parsing to the result of a GraphQL operation.",
            ["operation_type"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.errors = Counter(
            "gateway_graphql_errors",
            "GraphQL errors in responses, by extensions.code.",
            ["code"],
            registry=self.registry,
        )
        self.rejections = Counter(
            "gateway_rejections",
            "Operations refused before running by the operation limits or the rate limiter, by code.",
            ["code"],
            registry=self.registry,
        )

    def _upstream_metrics(self) -> None:
        self.upstream_requests = Counter(
            "gateway_upstream_requests",
            "HTTP requests sent upstream (every attempt), by method, route template and status class.",
            ["method", "route", "status_class"],
            registry=self.registry,
        )
        self.upstream_retries = Counter(
            "gateway_upstream_retries",
            "Upstream attempts that were retries of an earlier failed attempt.",
            ["method", "route"],
            registry=self.registry,
        )
        self.upstream_seconds = Histogram(
            "gateway_upstream_request_duration_seconds",
            "Duration of one upstream attempt.",
            ["method", "route"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )

    def _other_metrics(self) -> None:
        self.loader_batch_size = Histogram(
            "gateway_loader_batch_size",
            "Keys per batch of a per-request loader (distinct objects fetched together).",
            ["loader"],
            buckets=_BATCH_BUCKETS,
            registry=self.registry,
        )
        self.shed_requests = Counter(
            "gateway_requests_shed",
            "HTTP requests refused with 503 OVERLOADED by admission control (the worker was at capacity).",
            registry=self.registry,
        )
        self.http_responses = Counter(
            "gateway_http_responses",
            "HTTP responses by path (the gateway's own; others are 'other') and status code.",
            ["path", "status"],
            registry=self.registry,
        )

    def _subscription_metrics(self) -> None:
        self.subscription_connections = Gauge(
            "gateway_subscription_connections",
            "Open graphql-transport-ws connections (authenticated) of this process.",
            registry=self.registry,
        )
        self.subscriptions_open = Gauge(
            "gateway_subscriptions",
            "Open `orderUpdates` subscriptions of this process.",
            registry=self.registry,
        )
        self.subscription_events = Counter(
            "gateway_subscription_events",
            "Order-update activity: `published` (this process announced a state), `hint` (a callback "
            "arrived), `delivered` (an event sent to one subscriber).",
            ["kind"],
            registry=self.registry,
        )

    def watch_subscriptions(self, connections: Callable[[], int], subscriptions: Callable[[], int]) -> None:
        """Read the subscription gauges from the live feed at each scrape."""
        self.subscription_connections.set_function(connections)
        self.subscriptions_open.set_function(subscriptions)

    def subscription_event(self, kind: str) -> None:
        """One order-update event of `kind` (see `gateway_subscription_events`)."""
        self.subscription_events.labels(kind).inc()

    def upstream_request(self, event: RequestEvent) -> None:
        """The backend client's ``on_request`` hook: one call per attempt."""
        self._upstream_count(event.method, event.route, status_class(event.status)).inc()
        self._upstream_time(event.method, event.route).observe(event.elapsed)
        if event.attempt > 1:
            self._retry_count(event.method, event.route).inc()

    def http_response(self, path: str, status: int) -> None:
        """One HTTP response of `status` on `path` (one of `KNOWN_PATHS`, else ``other``)."""
        self._http_count(path, str(status)).inc()

    def loader_batch(self, loader: str, size: int) -> None:
        """A loader dispatched a batch of `size` keys."""
        self._batch_size(loader).observe(size)

    def operation(self, observed: ObservedOperation) -> None:
        """Record one finished (or refused) GraphQL operation."""
        labels = [observed.operation_type, observed.outcome]
        if self.label_operation_names:
            labels.append(observed.operation_name or "")
        self._operation_count(*labels).inc()
        self._operation_time(observed.operation_type).observe(observed.seconds)
        for code in observed.codes:
            self._error_count(code).inc()
            if code in REJECTION_CODES:
                self._rejection_count(code).inc()

    def exposition(self) -> bytes:
        """The registry in the Prometheus text format."""
        return generate_latest(self.registry)


class ObservedOperation:
    """What the metrics keep of one operation."""

    __slots__ = ("codes", "operation_name", "operation_type", "outcome", "seconds")

    def __init__(
        self, operation_type: str, outcome: str, operation_name: str | None, codes: list[str], seconds: float
    ) -> None:
        self.operation_type, self.outcome, self.operation_name = operation_type, outcome, operation_name
        self.codes, self.seconds = codes, seconds


def status_class(status: int | None) -> str:
    """``2xx``..``5xx``, or ``error`` when no response came (connection failure, timeout)."""
    return f"{status // 100}xx" if status is not None else "error"


def error_code(error: GraphQLError, result: ExecutionResult | None, *, executed: bool) -> str:
    """An error's ``extensions.code`` as a bounded label value.

    Errors without a code are graphql-core's own request errors (the view adds the same codes to the
    response later) or, once execution started, errors the masking reports as INTERNAL_SERVER_ERROR.
    """
    code = (error.extensions or {}).get("code")
    if isinstance(code, str):
        return code if _CODE.fullmatch(code) else "OTHER"
    if executed:
        return INTERNAL_ERROR_CODE
    if result is not None:
        return request_error_code(result, error.message)
    return "GRAPHQL_PARSE_FAILED" if error.message.startswith("Syntax Error") else "GRAPHQL_VALIDATION_FAILED"


def observe_operation(
    context: ExecutionContext, failure: Exception | None, seconds: float
) -> ObservedOperation:
    """What one finished operation was: type, name, outcome and error codes (metrics, traces, logs).

    failure: the exception a hook refused the operation with, if one did.
    """
    # graphql-core's and strawberry's results have the same `data`/`errors`, all these checks read.
    result = cast("ExecutionResult | None", context.result)
    # Request errors (parse, validation, variables) and refusals by a hook mean nothing ran.
    executed = failure is None and result is not None and not is_request_error(result)
    errors = _errors(failure, list(getattr(result, "errors", None) or context.pre_execution_errors or ()))
    outcome = "rejected" if not executed else ("error" if errors else "success")
    operation = _operation(context)
    kind = operation.operation.value if operation is not None else "unknown"
    name = operation.name.value if operation is not None and operation.name else None
    codes = sorted({error_code(e, result, executed=executed) for e in errors})
    return ObservedOperation(kind, outcome, name, codes, seconds)


def _operation(context: ExecutionContext) -> OperationDefinitionNode | None:
    if context.graphql_document is None:
        return None
    return get_operation_ast(context.graphql_document, context.operation_name)


def _errors(failure: Exception | None, errors: list[GraphQLError]) -> list[GraphQLError]:
    if failure is None:
        return errors
    return [failure if isinstance(failure, GraphQLError) else GraphQLError(str(failure))]


class HttpMetricsMiddleware:
    """Counts every HTTP response by path and status, including those middleware send (401, 413, 504).

    A response is counted once the app is done with it (its body sent, or the app failed after starting
    it), so the count is never on the response's path.
    """

    def __init__(self, app: ASGIApp, *, metrics: GatewayMetrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status: list[int] = []

        async def noting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, noting_send)
        finally:
            if status:
                path = scope["path"] if scope["path"] in KNOWN_PATHS else "other"
                self.metrics.http_response(path, status[0])


def metrics_route(metrics: GatewayMetrics, *, token: str | None = None) -> Route:
    """``GET /metrics``; with `token`, only for ``Authorization: Bearer <token>`` (Prometheus'
    ``authorization`` scrape option), everyone else gets 401."""

    async def endpoint(request: Request) -> Response:
        if token is not None and not _bearer_matches(request.headers.get("authorization"), token):
            headers = {"www-authenticate": 'Bearer realm="metrics"'}
            return Response("unauthorized\n", status_code=401, media_type="text/plain", headers=headers)
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    return Route("/metrics", endpoint, methods=["GET"], name="metrics")


def _bearer_matches(header: str | None, token: str) -> bool:
    value = bearer_token(header)
    # Constant-time comparison: the token must not be guessable from response timings.
    return value is not None and hmac.compare_digest(value.encode(), token.encode())
