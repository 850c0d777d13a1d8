"""Unit tests of the tracing helpers other modules call (webhook and subscription events)."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from gateway.config import OtelSettings
from gateway.telemetry.tracing import Tracing, build_tracing, event_span, feed_observer


def _tracing() -> tuple[Tracing, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return Tracing(provider), exporter


def test_event_span_records_one_span_with_its_attributes_under_the_current_one() -> None:
    tracing, exporter = _tracing()
    with tracing.span("parent"), event_span(tracing, "webhook order.fulfilled", outcome="delivered"):
        pass
    child, parent = exporter.get_finished_spans()
    assert child.name == "webhook order.fulfilled"
    assert dict(child.attributes or {}) == {"outcome": "delivered"}
    assert child.parent is not None and child.parent.span_id == parent.context.span_id


def test_event_span_without_tracing_does_nothing() -> None:
    with event_span(None, "subscription event", outcome="sent"):
        pass  # no tracer, no error


def test_a_failing_event_marks_its_span_failed() -> None:
    tracing, exporter = _tracing()
    with pytest.raises(ValueError), event_span(tracing, "subscription event"):
        raise ValueError("boom")
    (span,) = exporter.get_finished_spans()
    assert not span.status.is_ok


def test_tracing_is_on_only_with_an_endpoint() -> None:
    assert OtelSettings().traces_endpoint is None
    assert OtelSettings(exporter_otlp_endpoint="http://c:4318/").traces_endpoint == "http://c:4318/v1/traces"
    assert OtelSettings(exporter_otlp_traces_endpoint="http://c/t").traces_endpoint == "http://c/t"
    assert OtelSettings(exporter_otlp_endpoint="http://c", sdk_disabled=True).traces_endpoint is None
    assert OtelSettings(exporter_otlp_endpoint="http://c", traces_exporter="none").traces_endpoint is None
    assert build_tracing(OtelSettings()) is None


def test_otel_service_name_wins_over_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_SERVICE_NAME", "gw-eu-1")
    tracing = build_tracing(OtelSettings(exporter_otlp_endpoint="http://127.0.0.1:9"))
    assert tracing is not None
    try:
        assert tracing.provider.resource.attributes["service.name"] == "gw-eu-1"
    finally:
        tracing.shutdown()


class _Metrics:
    def __init__(self) -> None:
        self.events: list[str] = []
        self.watched = False

    def subscription_event(self, kind: str) -> None:
        self.events.append(kind)

    def watch_subscriptions(self, connections, subscriptions) -> None:  # type: ignore[no-untyped-def]
        self.watched = True


def test_subscription_events_become_spans_and_still_reach_the_metrics() -> None:
    tracing, exporter = _tracing()
    metrics = _Metrics()
    observer = feed_observer(tracing, metrics)
    assert observer is not None
    with tracing.span("POST"):  # e.g. the webhook request
        observer.subscription_event("hint")
    observer.watch_subscriptions(lambda: 0, lambda: 0)
    hint, request = exporter.get_finished_spans()
    assert hint.name == "subscription hint" and dict(hint.attributes or {}) == {
        "gateway.subscription.event": "hint"
    }
    assert hint.parent is not None and hint.parent.span_id == request.context.span_id
    assert metrics.events == ["hint"] and metrics.watched


def test_without_tracing_the_feed_reports_to_the_metrics_alone() -> None:
    metrics = _Metrics()
    assert feed_observer(None, metrics) is metrics
