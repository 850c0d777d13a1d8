"""OpenTelemetry tracing: a span per HTTP request, GraphQL operation step, loader batch and upstream attempt.

Configured by the standard ``OTEL_*`` variables (`gateway.config.OtelSettings` decides whether tracing is
on; the SDK reads the rest itself: ``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES``,
``OTEL_TRACES_SAMPLER``/``_ARG``, ``OTEL_EXPORTER_OTLP_HEADERS``, ``OTEL_BSP_*``...). Spans go to an OTLP/HTTP
(protobuf) endpoint through a batching processor, off the request path.

Off (no endpoint set) means *absent*: no middleware, no schema extension, no span objects, and the SDK is
never imported; the hooks in the backend transport and the loaders are ``None`` checks.

Each app owns its `TracerProvider` (the global one is left alone, like the metrics' registry), so several
apps in one process - the tests - keep their spans apart. W3C ``traceparent``/``tracestate`` (the
``OTEL_PROPAGATORS`` choice, trace context by default) is read from callers and written on every upstream
attempt, carrying that attempt's span as the parent.

Attributes come from closed sets and templates only: HTTP method, the gateway's route, upstream route
templates (``/orders/{id}``), status codes, retry counts, operation type and name, cost, error codes. Never
ids, keys, subaccounts, variables or query text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from typing import TYPE_CHECKING

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

# The gateway's own paths are the ``http.route``; anything else (the embedded sandbox's REST paths hold ids,
# a webhook path a token) is traced under the method alone.
from gateway.metrics import KNOWN_PATHS

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from gateway.config import OtelSettings
    from gateway.subscriptions.feed import Observer as FeedObserver

SERVICE_NAME = "offsets-gateway"
_SCOPE = "gateway"
AttributeValue = str | bool | int | float | list[str]


class Tracing:
    """The tracer of one app and the provider that exports its spans (`shutdown` flushes them)."""

    def __init__(self, provider: TracerProvider) -> None:
        self.provider = provider
        self.tracer = provider.get_tracer(_SCOPE)

    def shutdown(self) -> None:
        """Export what is buffered and stop (the app's lifespan calls this at exit)."""
        self.provider.shutdown()

    def start(self, name: str, kind: SpanKind = SpanKind.INTERNAL) -> trace.Span:
        """A span that is a child of the current one (not made current)."""
        return self.tracer.start_span(name, kind=kind)

    @contextmanager
    def span(
        self,
        name: str,
        attributes: Mapping[str, AttributeValue] | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
    ) -> Iterator[trace.Span]:
        """A child span of the current one, current while the block runs; an exception marks it failed."""
        with self.tracer.start_as_current_span(name, kind=kind, attributes=attributes) as span:
            yield span

    def upstream_attempt(self, method: str, route: str, attempt: int) -> UpstreamSpan:
        """The span of one upstream HTTP attempt (`gateway.backend`'s ``trace_attempt`` hook)."""
        attributes: dict[str, AttributeValue] = {"http.request.method": method, "url.template": route}
        if attempt > 1:
            attributes["http.request.resend_count"] = attempt - 1
        span = self.tracer.start_span(f"{method} {route}", kind=SpanKind.CLIENT, attributes=attributes)
        return UpstreamSpan(span)

    @contextmanager
    def loader_batch(self, loader: str, size: int) -> Iterator[None]:
        """Around one loader batch: its upstream attempts become the span's children."""
        attributes: dict[str, AttributeValue] = {"gateway.loader": loader, "gateway.loader.batch_size": size}
        with self.span(f"loader {loader}", attributes):
            yield


class UpstreamSpan:
    """One upstream attempt: puts its ``traceparent`` on the request, then records the outcome."""

    __slots__ = ("_span",)

    def __init__(self, span: trace.Span) -> None:
        self._span = span

    def inject(self, headers: MutableMapping[str, str]) -> None:
        propagate.inject(headers, context=trace.set_span_in_context(self._span))

    def end(self, status: int | None, error: str | None) -> None:
        if status is not None:
            self._span.set_attribute("http.response.status_code", status)
        if error is not None or (status is not None and status >= 500):
            self._span.set_attribute("error.type", error or str(status))
            self._span.set_status(Status(StatusCode.ERROR))
        self._span.end()


@contextmanager
def event_span(tracing: Tracing | None, name: str, **attributes: AttributeValue) -> Iterator[None]:
    """A span for one webhook or subscription event (``name`` e.g. ``"webhook order.fulfilled"``), or
    nothing when tracing is off. Attributes must be closed-set values (event type, outcome), never ids."""
    if tracing is None:
        yield
        return
    with tracing.span(name, attributes):
        yield


class TracedFeedObserver:
    """The subscription feed's observer (`gateway.subscriptions.feed.Observer`) with a span per event.

    Each order-update event - ``hint`` (a webhook callback arrived), ``published`` (this replica announced
    a state), ``delivered`` (sent to one subscriber) - becomes a ``subscription <kind>`` span under the
    current one (the webhook request's, or the subscription's), then goes on to `inner` (the metrics).
    """

    def __init__(self, tracing: Tracing, inner: FeedObserver | None) -> None:
        self.tracing, self.inner = tracing, inner

    def subscription_event(self, kind: str) -> None:
        with event_span(self.tracing, f"subscription {kind}", **{"gateway.subscription.event": kind}):
            pass
        if self.inner is not None:
            self.inner.subscription_event(kind)

    def watch_subscriptions(self, connections: Callable[[], int], subscriptions: Callable[[], int]) -> None:
        if self.inner is not None:
            self.inner.watch_subscriptions(connections, subscriptions)


def feed_observer(tracing: Tracing | None, metrics: FeedObserver | None) -> FeedObserver | None:
    """What the subscription feed reports to: the metrics, wrapped in spans when tracing is on."""
    return metrics if tracing is None else TracedFeedObserver(tracing, metrics)


def build_tracing(otel: OtelSettings) -> Tracing | None:
    """The app's tracing from the ``OTEL_*`` settings, or ``None`` (tracing off) when no endpoint is set."""
    endpoint = otel.traces_endpoint
    if endpoint is None:
        return None
    # Imported only when tracing is on: the off path never loads the SDK or the exporter.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create()  # OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES win over our default
    if str(resource.attributes.get("service.name", "")).startswith("unknown_service"):
        resource = resource.merge(Resource({"service.name": SERVICE_NAME}))
    provider = TracerProvider(resource=resource, shutdown_on_exit=False)  # sampler: OTEL_TRACES_SAMPLER
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    return Tracing(provider)


class TracingMiddleware:
    """The server span of each HTTP request, continuing the caller's ``traceparent`` when it sends one."""

    def __init__(self, app: ASGIApp, *, tracing: Tracing) -> None:
        self.app, self.tracing = app, tracing

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        parent = propagate.extract(_Carrier(scope))
        token = otel_context.attach(parent)
        try:
            name, attributes = _span_name(scope), _request_attributes(scope)
            with self.tracing.span(name, attributes, SpanKind.SERVER) as span:
                await self.app(scope, receive, _recording_status(send, span))
        finally:
            otel_context.detach(token)


def _span_name(scope: Scope) -> str:
    path = scope["path"]
    return f"{scope['method']} {path}" if path in KNOWN_PATHS else str(scope["method"])


def _request_attributes(scope: Scope) -> dict[str, AttributeValue]:
    attributes: dict[str, AttributeValue] = {"http.request.method": scope["method"]}
    if scope["path"] in KNOWN_PATHS:
        attributes["http.route"] = scope["path"]
    return attributes


def _recording_status(send: Send, span: trace.Span) -> Send:
    async def send_recording(message: Message) -> None:
        if message["type"] == "http.response.start":
            status = int(message["status"])
            span.set_attribute("http.response.status_code", status)
            if status >= 500:
                span.set_status(Status(StatusCode.ERROR))
        await send(message)

    return send_recording


class _Carrier(dict[str, str]):
    """An ASGI scope's headers as the mapping OpenTelemetry's propagators read (lower-case names)."""

    def __init__(self, scope: Scope) -> None:
        super().__init__(
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, value in scope["headers"]
            if name in (b"traceparent", b"tracestate", b"baggage")
        )
