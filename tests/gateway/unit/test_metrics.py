"""Unit tests of `gateway.metrics`: label values stay in closed sets, registries are per instance."""

from __future__ import annotations

from graphql import GraphQLError
from prometheus_client.parser import text_string_to_metric_families

from gateway.backend import RequestEvent
from gateway.metrics import GatewayMetrics, ObservedOperation, error_code, status_class


def samples(metrics: GatewayMetrics, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    text = metrics.exposition().decode()
    return {
        tuple(sorted(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name
    }


def test_status_classes() -> None:
    assert [status_class(s) for s in (200, 204, 404, 429, 503, None)] == [
        "2xx",
        "2xx",
        "4xx",
        "4xx",
        "5xx",
        "error",
    ]


def test_error_codes_are_bounded_label_values() -> None:
    assert error_code(GraphQLError("x", extensions={"code": "NOT_FOUND"}), None, executed=True) == "NOT_FOUND"
    # A code shaped like free text (or an id) would be a new series per value: it is folded into OTHER.
    for odd in ("not found", "A" * 65, "ord_123", ""):
        assert error_code(GraphQLError("x", extensions={"code": odd}), None, executed=True) == "OTHER"
    assert error_code(GraphQLError("boom"), None, executed=True) == "INTERNAL_SERVER_ERROR"
    syntax = GraphQLError("Syntax Error: Unexpected Name 'x'.")
    assert error_code(syntax, None, executed=False) == "GRAPHQL_PARSE_FAILED"
    assert error_code(GraphQLError("Cannot query field"), None, executed=False) == "GRAPHQL_VALIDATION_FAILED"


def test_upstream_events_count_attempts_and_retries() -> None:
    metrics = GatewayMetrics()
    metrics.upstream_request(RequestEvent("GET", "/orders/{id}", 503, 1, 0.01))
    metrics.upstream_request(RequestEvent("GET", "/orders/{id}", None, 2, 0.02, "ConnectError"))
    metrics.upstream_request(RequestEvent("GET", "/orders/{id}", 200, 3, 0.01))
    requests = samples(metrics, "gateway_upstream_requests_total")
    route = (("method", "GET"), ("route", "/orders/{id}"))
    assert requests[(*route, ("status_class", "5xx"))] == 1
    assert requests[(*route, ("status_class", "error"))] == 1
    assert requests[(*route, ("status_class", "2xx"))] == 1
    assert samples(metrics, "gateway_upstream_retries_total")[route] == 2


def test_operation_names_only_when_asked() -> None:
    plain, named = GatewayMetrics(), GatewayMetrics(label_operation_names=True)
    for metrics in (plain, named):
        metrics.operation(ObservedOperation("query", "success", "MyOrders", [], 0.01))
    assert list(samples(plain, "gateway_graphql_operations_total")) == [
        (("operation_type", "query"), ("outcome", "success"))
    ]
    assert list(samples(named, "gateway_graphql_operations_total")) == [
        (("operation_name", "MyOrders"), ("operation_type", "query"), ("outcome", "success"))
    ]


def test_rejections_are_the_limit_and_rate_limit_codes_only() -> None:
    metrics = GatewayMetrics()
    metrics.operation(ObservedOperation("query", "rejected", None, ["RATE_LIMITED"], 0.0))
    metrics.operation(ObservedOperation("query", "error", None, ["NOT_FOUND"], 0.0))
    assert samples(metrics, "gateway_rejections_total") == {(("code", "RATE_LIMITED"),): 1}
    errors = samples(metrics, "gateway_graphql_errors_total")
    assert errors == {(("code", "RATE_LIMITED"),): 1, (("code", "NOT_FOUND"),): 1}


def test_every_instance_has_its_own_registry() -> None:
    first, second = GatewayMetrics(), GatewayMetrics()
    first.loader_batch("project", 4)
    assert samples(first, "gateway_loader_batch_size_count") == {(("loader", "project"),): 1}
    assert samples(second, "gateway_loader_batch_size_count") == {}
