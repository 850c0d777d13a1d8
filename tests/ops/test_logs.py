"""Log lines of real gateway processes: JSON and text, the same under ``offsets-gateway serve`` and
``uvicorn --factory gateway.app:create_app``, one line per operation and per HTTP request, no duplicates,
no secrets."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.ops.otlp import OtlpReceiver
from tests.ops.processes import Process, gateway_process, running, sandbox_process
from tests.servers import serve

pytestmark = pytest.mark.e2e

API_KEY = "sk_test_logs_secret_key_1234"
URL_PASSWORD = "pw-secret-9876"
TRACE = "0af7651916cd43dd8448eb211c80319c"
TRACEPARENT = f"00-{TRACE}-b7ad6b7169203331-01"
KEYS = {"timestamp", "level", "logger", "message", "request_id", "trace_id"}


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Process]:
    process = sandbox_process(tmp_path_factory.mktemp("sandbox"))
    with running(process):
        yield process


@pytest.fixture(scope="module")
def receiver() -> Iterator[str]:
    with serve(OtlpReceiver().app) as url:
        yield url


def _env(sandbox: Process, receiver: str, log_format: str) -> dict[str, str]:
    return {
        "GATEWAY_UPSTREAM_URL": f"http://logs:{URL_PASSWORD}@127.0.0.1:{sandbox.port}/v1",
        "GATEWAY_UPSTREAM_API_KEY": API_KEY,
        "GATEWAY_ALLOW_UNAUTHENTICATED": "true",
        "GATEWAY_LOG_FORMAT": log_format,
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver,
    }


def _traffic(gateway: Process) -> None:
    """A query from a named client in a caller's trace, a mutation, a document that does not validate."""
    with httpx.Client(base_url=gateway.url, timeout=30) as http:
        headers = {
            "x-request-id": "req-query",
            "apollographql-client-name": "web-shop",
            "traceparent": TRACEPARENT,
        }
        query = http.post(
            "/graphql", json={"query": "query Catalogue { portfolios { name } }"}, headers=headers
        )
        assert query.status_code == 200 and query.json()["data"]["portfolios"]
        mutation = "mutation Buy { placeOrder(input: {amountKg: 1}) { replayed userErrors { code } } }"
        bought = http.post("/graphql", json={"query": mutation}, headers={"x-request-id": "req-mutation"})
        assert bought.json()["data"]["placeOrder"]["replayed"] is False
        bad = http.post("/graphql", json={"query": "{ nope }"}, headers={"x-request-id": "req-bad"})
        assert bad.json()["errors"]


def _run(tmp: Path, name: str, env: dict[str, str], *, factory: bool) -> list[str]:
    gateway = gateway_process(name, tmp, env, factory=factory)
    with running(gateway):
        _traffic(gateway)
    return gateway.stderr_lines()


def _parse(lines: list[str]) -> list[dict[str, Any]]:
    entries = [json.loads(line) for line in lines]  # every line, or the test fails here
    for entry in entries:
        assert isinstance(entry, dict) and entry.keys() >= KEYS, entry
    return entries


def _one(entries: list[dict[str, Any]], logger: str, request_id: str) -> dict[str, Any]:
    found = [e for e in entries if e["logger"] == logger and e["request_id"] == request_id]
    assert len(found) == 1, found
    return found[0]


def _shape(entries: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    """What a run logged, minus what differs between two runs (ports, pids, durations, timestamps)."""
    return {(e["level"], e["logger"], re.sub(r"\d+(\.\d+)?", "0", e["message"])) for e in entries}


def test_json_logs_are_the_same_under_serve_and_uvicorn_factory(tmp_path: Path, sandbox, receiver) -> None:
    env = _env(sandbox, receiver, "json")
    runs = {
        "serve": _parse(_run(tmp_path, "serve", env, factory=False)),
        "factory": _parse(_run(tmp_path, "factory", env, factory=True)),
    }
    for entries in runs.values():
        _check_run(entries)
    assert _shape(runs["serve"]) == _shape(runs["factory"])


def _check_run(entries: list[dict[str, Any]]) -> None:
    messages = [e["message"] for e in entries]
    # The start-up lines, the gateway's own included, and uvicorn's.
    assert f"upstream http://127.0.0.1:{_port(messages)}/v1 (configured API key)" in messages
    assert any("ignoring credentials embedded in the upstream URL" in m for m in messages)
    assert "Application startup complete." in messages
    assert any(m.startswith("Uvicorn running on http://127.0.0.1:") for m in messages)

    access = _one(entries, "gateway.access", "req-query")
    assert (access["method"], access["path"], access["status"]) == ("POST", "/graphql", 200)
    assert access["duration_ms"] > 0 and access["trace_id"] == TRACE
    query = _one(entries, "gateway.operations", "req-query")
    assert (query["operation_type"], query["operation_name"], query["outcome"]) == (
        "query",
        "Catalogue",
        "success",
    )
    assert query["cost_requested"] >= 1 and query["cost_actual"] >= 1
    assert query["upstream_calls"] == 1 and query["error_codes"] == []
    assert query["client_name"] == "web-shop" and query["trace_id"] == TRACE
    assert query["duration_ms"] > 0 and query["level"] == "info"
    buy = _one(entries, "gateway.operations", "req-mutation")
    assert (buy["operation_type"], buy["operation_name"], buy["upstream_calls"]) == ("mutation", "Buy", 1)
    assert buy["trace_id"] not in (None, TRACE)  # no traceparent sent: a trace of its own
    bad = _one(entries, "gateway.operations", "req-bad")
    assert (bad["outcome"], bad["error_codes"], bad["upstream_calls"]) == (
        "rejected",
        ["GRAPHQL_VALIDATION_FAILED"],
        0,
    )
    _one(entries, "gateway.access", "req-bad")

    # Nothing twice (uvicorn's own access log is off), no secret anywhere.
    lines = Counter(json.dumps({k: v for k, v in e.items() if k != "timestamp"}) for e in entries)
    assert [line for line, n in lines.items() if n > 1] == []
    assert not [e for e in entries if e["logger"] == "uvicorn.access"]
    text = json.dumps(entries)
    assert API_KEY not in text and URL_PASSWORD not in text


def _port(messages: list[str]) -> str:
    for message in messages:
        if match := re.fullmatch(r"upstream http://127\.0\.0\.1:(\d+)/v1 \(configured API key\)", message):
            return match.group(1)
    raise AssertionError(f"no upstream line in {messages}")


def test_text_logs_tag_lines_with_the_request_id(tmp_path: Path, sandbox, receiver) -> None:
    lines = _run(tmp_path, "text", _env(sandbox, receiver, "text"), factory=True)
    assert any("[request req-query]" in line and '"POST /graphql" 200' in line for line in lines)
    operation = [line for line in lines if "[request req-query]" in line and "query Catalogue" in line]
    assert len(operation) == 1 and "1 upstream calls client web-shop" in operation[0]
    assert any("Application startup complete." in line for line in lines)
    assert not any(API_KEY in line or URL_PASSWORD in line for line in lines)
