"""``GET /metrics``: counts that match what really happened, per-app registries, no secrets, off switch."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from gateway.persisted import sha256_hex
from gateway.security.settings import SecuritySettings
from tests.gateway.e2e.conftest import GATEWAY_KEY, GatewayServer, SandboxServer, StartGateway
from tests.gateway.e2e.schema_helpers import create_subaccount, fulfil, ok, place_order

pytestmark = pytest.mark.e2e

NESTED_ORDERS = (
    "{ orders(first: 10) { edges { node { subaccount { name } projectAllocations"
    " { project { creditIssuances { vintageYear } } } } } } }"
)

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(gateway: GatewayServer, **headers: str) -> Samples:
    """Every sample of ``/metrics``, keyed by (sample name, sorted labels)."""
    response = gateway.http.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum of `name` over the samples whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(value for (sample, keys), value in samples.items() if sample == name and wanted <= set(keys))


def upstream_by_route(samples: Samples) -> Counter[tuple[str, str, str]]:
    counts: Counter[tuple[str, str, str]] = Counter()
    for (name, keys), value in samples.items():
        if name == "gateway_upstream_requests_total" and value:
            labels = dict(keys)
            counts[(labels["method"], labels["route"], labels["status_class"])] += int(value)
    return counts


def sandbox_by_route(sandbox: SandboxServer) -> Counter[tuple[str, str, str]]:
    """What the sandbox received from the gateway, in the metric's terms (``/v1`` is the base URL)."""
    counts: Counter[tuple[str, str, str]] = Counter()
    for entry in sandbox.request_log.entries:
        method, _, route = (entry.route or "").partition(" ")
        if route.startswith("/v1/"):
            status = f"{entry.status // 100}xx" if entry.status is not None else "error"
            counts[(method, route.removeprefix("/v1"), status)] += 1
    return counts


def test_upstream_counts_match_the_sandbox_request_log(
    start_gateway: StartGateway, sandbox: SandboxServer
) -> None:
    gateway = start_gateway(security=SecuritySettings(max_cost=100_000, allow_unauthenticated=True))
    subaccount = create_subaccount(gateway, "North")["upstreamId"]
    for amount in (5, 6, 7):
        fulfil(sandbox, place_order(gateway, amount, subaccount=subaccount)["upstreamId"])
    ok(gateway.gql(NESTED_ORDERS))
    # A failing upstream call: two 503s, retried, then success; and one the retries cannot save.
    sandbox.app.state.faults.set([{"route": "GET /v1/portfolios", "status": 503, "times": 2}])
    ok(gateway.gql("{ portfolios { id } }"))
    sandbox.app.state.faults.set([{"route": "GET /v1/subaccounts/{id}", "status": 500}])
    failed = gateway.gql("query($id: ID!) { subaccount(id: $id) { name } }", {"id": "sub_missing"})
    sandbox.app.state.faults.clear()
    assert failed.codes == ["UPSTREAM_ERROR"]

    samples = scrape(gateway)
    expected = sandbox_by_route(sandbox)
    assert upstream_by_route(samples) == expected
    assert expected[("GET", "/portfolios", "5xx")] == 2
    assert expected[("GET", "/subaccounts/{id}", "5xx")] == gateway.settings.max_retries + 1
    assert expected[("POST", "/orders", "2xx")] == 3
    retries = total(samples, "gateway_upstream_retries_total")
    assert retries == 2 + gateway.settings.max_retries
    attempts = sum(expected.values())
    assert total(samples, "gateway_upstream_request_duration_seconds_count") == attempts


def test_operations_by_type_and_outcome(gateway: GatewayServer, sandbox: SandboxServer) -> None:
    place_order(gateway, 3)
    ok(gateway.gql("{ portfolios { id } }"))
    assert gateway.gql('{ order(id: "ord_nope") { id } }').codes == ["NOT_FOUND"]
    assert gateway.gql("{ nope }").codes == ["GRAPHQL_VALIDATION_FAILED"]
    assert gateway.gql("{ orders { edges { node { id } } } }").codes == ["PAGE_SIZE_REQUIRED"]

    samples = scrape(gateway)
    ops = "gateway_graphql_operations_total"
    assert total(samples, ops, operation_type="mutation", outcome="success") == 1
    assert total(samples, ops, operation_type="query", outcome="success") == 1
    assert total(samples, ops, operation_type="query", outcome="error") == 1
    assert total(samples, ops, outcome="rejected") == 2
    assert total(samples, "gateway_graphql_errors_total", code="NOT_FOUND") == 1
    assert total(samples, "gateway_graphql_errors_total", code="GRAPHQL_VALIDATION_FAILED") == 1
    assert total(samples, "gateway_rejections_total", code="PAGE_SIZE_REQUIRED") == 1
    assert total(samples, "gateway_rejections_total") == 1
    assert total(samples, "gateway_graphql_operation_duration_seconds_count") == 5
    # No operation names without trusted documents: callers could mint a series per request.
    assert not any(("operation_name" in dict(keys)) for _, keys in samples)
    assert total(samples, "gateway_http_responses_total", path="/graphql", status="200") == 5


def test_rate_limit_rejections_are_counted(start_gateway: StartGateway) -> None:
    gateway = start_gateway(
        security=SecuritySettings(rate_limit_cost=3, rate_limit_window=60, allow_unauthenticated=True)
    )
    # Five, not four: the limiter's windows are clock-aligned, and four cost-1 requests straddling a window
    # boundary all fit a budget of 3 (the previous window's count is weighted down); the fifth never does.
    results = [gateway.gql("{ portfolios { id } }") for _ in range(5)]
    limited = sum(1 for result in results if result.codes == ["RATE_LIMITED"])
    assert limited >= 1
    samples = scrape(gateway)
    assert total(samples, "gateway_rejections_total", code="RATE_LIMITED") == limited
    assert total(samples, "gateway_http_responses_total", path="/graphql", status="429") == limited


def test_loader_batches_are_observed(start_gateway: StartGateway, sandbox: SandboxServer) -> None:
    gateway = start_gateway(security=SecuritySettings(max_cost=100_000, allow_unauthenticated=True))
    subaccounts = [create_subaccount(gateway, name)["upstreamId"] for name in ("A", "B")]
    for n in range(4):
        place_order(gateway, 2 + n, subaccount=subaccounts[n % 2])
    ok(gateway.gql("{ orders(first: 10) { nodes { subaccount { name } } } }"))
    samples = scrape(gateway)
    # One batch of the two distinct subaccounts, however many orders point at them.
    assert total(samples, "gateway_loader_batch_size_count", loader="subaccount") == 1
    assert total(samples, "gateway_loader_batch_size_sum", loader="subaccount") == 2


def test_metrics_hold_no_ids_or_secrets(gateway: GatewayServer, sandbox: SandboxServer) -> None:
    order = place_order(gateway, 4)
    text = gateway.http.get("/metrics").text
    for secret in (GATEWAY_KEY, order["upstreamId"], order["id"], sandbox.url):
        assert secret not in text
    assert 'route="/orders"' in text


def test_each_app_has_its_own_registry(start_gateway: StartGateway) -> None:
    first, second = start_gateway(), start_gateway()
    ok(first.gql("{ portfolios { id } }"))
    assert total(scrape(first), "gateway_graphql_operations_total") == 1
    assert total(scrape(second), "gateway_graphql_operations_total") == 0


def test_metrics_need_no_gateway_credentials_but_can_require_a_token(start_gateway: StartGateway) -> None:
    # A gateway whose /graphql needs credentials still lets a scraper in without them...
    open_metrics = start_gateway(security=SecuritySettings(jwt_secret=SecretStr("s" * 32)))
    assert open_metrics.gql("{ portfolios { id } }").status == 401
    assert total(scrape(open_metrics), "gateway_http_responses_total", path="/graphql", status="401") == 1
    # ... unless GATEWAY_METRICS_TOKEN is set.
    guarded = start_gateway(metrics_token=SecretStr("scrape-token"))
    assert guarded.http.get("/metrics").status_code == 401
    assert guarded.http.get("/metrics", headers={"authorization": "Bearer wrong"}).status_code == 401
    scrape(guarded, authorization="Bearer scrape-token")


def test_operation_names_are_labels_only_with_trusted_documents(
    start_gateway: StartGateway, tmp_path: Path
) -> None:
    document = "query Catalogue { portfolios { id } }"
    manifest = tmp_path / "trusted.json"
    manifest.write_text(json.dumps({sha256_hex(document): document}))
    security = SecuritySettings(trusted_documents_file=manifest, allow_unauthenticated=True)
    gateway = start_gateway(security=security)
    ok(gateway.gql(document))
    assert gateway.gql("query Mine { portfolios { id } }").status == 400  # not in the list: never runs
    samples = scrape(gateway)
    ops = "gateway_graphql_operations_total"
    assert total(samples, ops, operation_name="Catalogue", outcome="success") == 1
    assert total(samples, ops) == 1


def test_metrics_can_be_turned_off(start_gateway: StartGateway) -> None:
    gateway = start_gateway(metrics=False)
    assert gateway.http.get("/metrics").status_code == 404
    ok(gateway.gql("{ portfolios { id } }"))
    assert gateway.app.state.metrics is None


def test_metrics_are_served_over_plain_http(gateway: GatewayServer) -> None:
    response = httpx.get(f"{gateway.url}/metrics")
    assert "# TYPE gateway_graphql_operations_total counter" in response.text
