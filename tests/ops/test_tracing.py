"""OpenTelemetry traces, exported over real OTLP/HTTP to a receiver the test runs, decoded and checked:
span tree, attributes (no ids or keys), the caller's traceparent continued and sent on to the upstream."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from gateway.config import OtelSettings
from tests.ops.otlp import OtlpReceiver, ReceivedSpan
from tests.servers import serve

pytestmark = pytest.mark.e2e

CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"
TRACEPARENT = f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"
QUERY = "query TwoOrders($a: ID!, $b: ID!) { a: order(id: $a) { amountKg } b: order(id: $b) { amountKg } }"


@pytest.fixture
def receiver() -> Iterator[tuple[OtlpReceiver, str]]:
    otlp = OtlpReceiver()
    with serve(otlp.app) as url:
        yield otlp, url


def _traced_gateway(start_gateway, url: str):  # type: ignore[no-untyped-def]
    return start_gateway(otel=OtelSettings(exporter_otlp_endpoint=url))


def _flush(gateway) -> None:  # type: ignore[no-untyped-def]
    assert gateway.app.state.tracing.provider.force_flush(10_000)


def _orders(sandbox, n: int) -> list[str]:  # type: ignore[no-untyped-def]
    ids = []
    for _ in range(n):
        response = sandbox.http.post("/v1/orders", json={"amount_kg": 2})
        response.raise_for_status()
        ids.append(response.json()["id"])
    return ids


def _one(spans: list[ReceivedSpan]) -> ReceivedSpan:
    assert len(spans) == 1, spans
    return spans[0]


def _ancestors(receiver: OtlpReceiver, span: ReceivedSpan) -> list[str]:
    by_id = {s.span_id: s for s in receiver.spans}
    names = []
    while span.parent_id in by_id:
        span = by_id[span.parent_id]
        names.append(span.name)
    return names


def test_a_query_is_one_trace_continuing_the_callers(start_gateway, sandbox, receiver) -> None:
    otlp, url = receiver
    gateway = _traced_gateway(start_gateway, url)
    a, b = _orders(sandbox, 2)
    sandbox.request_log.clear()
    # The first attempt at one of the orders fails: its retry is a second upstream span.
    sandbox.app.state.faults.set([{"route": "GET /v1/orders/{id}", "status": 503, "times": 1}])

    response = gateway.gql(QUERY, {"a": a, "b": b}, headers={"traceparent": TRACEPARENT})
    assert response.errors == [] and response.data["a"]["amountKg"] == 2
    _flush(gateway)

    assert {span.trace_id for span in otlp.spans} == {CALLER_TRACE}
    assert {span.service_name for span in otlp.spans} == {"offsets-gateway"}
    assert "application/x-protobuf" in otlp.content_types
    server = _one(otlp.by_name("POST /graphql"))
    assert server.parent_id == CALLER_SPAN
    assert server.kind == 2  # SPAN_KIND_SERVER
    assert server.attributes == {
        "http.request.method": "POST",
        "http.route": "/graphql",
        "http.response.status_code": 200,
    }
    operation = _one(otlp.by_name("query TwoOrders"))
    assert operation.parent_id == server.span_id
    assert operation.attributes["graphql.operation.type"] == "query"
    assert operation.attributes["graphql.operation.name"] == "TwoOrders"
    assert operation.attributes["gateway.outcome"] == "success"
    assert operation.attributes["gateway.cost.requested"] == 2
    assert operation.attributes["gateway.cost.actual"] == 2
    assert operation.attributes["gateway.upstream_calls"] == 3  # two orders, one retried
    steps = {span.name for span in otlp.children(operation)}
    assert steps == {"graphql.parse", "graphql.validate", "graphql.execute"}

    loader = _one(otlp.by_name("loader order"))
    assert loader.attributes == {"gateway.loader": "order", "gateway.loader.batch_size": 2}
    assert "query TwoOrders" in _ancestors(otlp, loader)
    upstream = otlp.by_name("GET /orders/{id}")
    assert len(upstream) == 3 and all(span.parent_id == loader.span_id for span in upstream)
    assert all(span.kind == 3 for span in upstream)  # SPAN_KIND_CLIENT
    outcomes = sorted(
        (s.attributes["http.response.status_code"], s.attributes.get("http.request.resend_count", 0))
        for s in upstream
    )
    assert outcomes == [(200, 0), (200, 1), (503, 0)]
    assert all(s.attributes["url.template"] == "/orders/{id}" for s in upstream)

    # The sandbox received each attempt's own span as the parent, in the caller's trace.
    received = sandbox.request_log.filter(route="GET /v1/orders/{id}")
    parents = {record.headers["traceparent"] for record in received}
    assert parents == {f"00-{CALLER_TRACE}-{span.span_id}-01" for span in upstream}

    # Nothing identifying in any attribute: no order id, no key, no request id.
    flat = repr([(s.name, s.attributes) for s in otlp.spans])
    for secret in (a, b, "sk_test_gateway_e2e", response.headers["x-request-id"]):
        assert secret not in flat


def test_a_refused_operation_and_a_new_trace(start_gateway, receiver) -> None:
    otlp, url = receiver
    gateway = _traced_gateway(start_gateway, url)
    response = gateway.gql("query Deep { orders(first: 1000) { edges { node { id } } } }")
    assert response.codes == ["PAGE_SIZE_EXCEEDED"]
    _flush(gateway)

    operation = _one(otlp.by_name("query Deep"))
    assert operation.attributes["gateway.outcome"] == "rejected"
    assert operation.attributes["gateway.error_codes"] == ["PAGE_SIZE_EXCEEDED"]
    assert operation.status_code == 2  # STATUS_CODE_ERROR
    assert otlp.by_name("GET /orders") == []  # refused before any upstream call
    server = _one(otlp.by_name("POST /graphql"))
    assert server.parent_id == ""  # no traceparent sent: the gateway starts the trace
    assert operation.trace_id == server.trace_id


def test_tracing_is_absent_without_an_endpoint(gateway) -> None:
    assert gateway.app.state.tracing is None
    assert "TracingMiddleware" not in repr(gateway.app.user_middleware)


def test_the_tracing_sdk_is_not_even_imported_without_an_endpoint() -> None:
    # (redis-py imports opentelemetry.sdk.metrics for its own observability; the trace SDK stays out.)
    code = (
        "import sys; from gateway.app import create_app; from gateway.config import Settings; "
        "app = create_app(Settings()); "
        "print(app.state.tracing, [m for m in sys.modules if m.startswith(('opentelemetry.sdk.trace', "
        "'opentelemetry.exporter'))])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert out.stdout.split() == ["None", "[]"]
