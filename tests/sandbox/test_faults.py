"""Fault injection, observed the way a real client sees it: over real HTTP against uvicorn."""

from __future__ import annotations

import re
import select
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from sandbox.app import create_app
from sandbox.config import SandboxConfig
from sandbox.faults import FaultMiddleware, Faults, fault_routes
from sandbox.requestlog import RequestLog, RequestLogMiddleware, request_log_routes
from tests.servers import serve


@dataclass
class Tiny:
    """A stand-in sandbox whose POST /v1/orders has an observable side effect."""

    app: Starlette
    url: str
    created: list[object] = field(default_factory=list)

    @property
    def faults(self) -> Faults:
        faults: Faults = self.app.state.faults
        return faults

    @property
    def log(self) -> RequestLog:
        log: RequestLog = self.app.state.request_log
        return log


def _tiny_app(created: list[object], *, seed: int | None = None) -> Starlette:
    async def create_order(request: Request) -> Response:
        created.append(await request.json())
        return JSONResponse({"id": f"o{len(created)}"}, status_code=201)

    async def get_order(request: Request) -> Response:
        return JSONResponse({"id": request.path_params["id"]})

    async def fulfil(request: Request) -> Response:
        return JSONResponse({"ok": True})

    orders = [Route("/orders", create_order, methods=["POST"]), Route("/orders/{id}", get_order)]
    routes = [Mount("/v1", routes=orders), Route("/_sandbox/orders/{id}/fulfil", fulfil, methods=["POST"])]
    log, faults = RequestLog(), Faults(seed=seed, routes=routes)
    middleware = [Middleware(RequestLogMiddleware, log=log), Middleware(FaultMiddleware, faults=faults)]
    app = Starlette(routes=[*routes, *fault_routes(), *request_log_routes()], middleware=middleware)
    app.state.request_log, app.state.faults = log, faults
    return app


@pytest.fixture
def tiny() -> Iterator[Tiny]:
    created: list[object] = []
    app = _tiny_app(created, seed=7)
    with serve(app) as url:
        yield Tiny(app, url, created)


def test_status_fault_answers_without_running_the_endpoint(tiny: Tiny) -> None:
    tiny.faults.set([{"route": "POST /v1/orders", "status": 503, "times": 1}])
    with httpx.Client(base_url=tiny.url) as client:
        first = client.post("/v1/orders", json={"amount_kg": 1})
        second = client.post("/v1/orders", json={"amount_kg": 1})
    assert first.status_code == 503
    assert first.headers["content-type"] == "application/problem+json"
    assert first.json()["status"] == 503
    assert second.status_code == 201
    assert len(tiny.created) == 1  # the faulted request never reached the endpoint
    assert [r.status for r in tiny.log.entries] == [503, 201]
    assert tiny.log.count(route="POST /v1/orders") == 2
    assert tiny.log.entries[0].fault == "status 503"


def test_rate_limit_fault_sends_retry_after(tiny: Tiny) -> None:
    tiny.faults.set([{"route": "GET /v1/orders/{id}", "status": 429, "retry_after": 7}])
    with httpx.Client(base_url=tiny.url) as client:
        limited = client.get("/v1/orders/abc")
        untouched = client.post("/v1/orders", json={})
    assert (limited.status_code, limited.headers["retry-after"]) == (429, "7")
    assert untouched.status_code == 201


def test_dropped_connection_is_a_transport_error_for_the_client(tiny: Tiny) -> None:
    tiny.faults.set([{"route": "POST /v1/orders", "drop_connection": True, "times": 1}])
    with httpx.Client(base_url=tiny.url) as client:
        with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
            client.post("/v1/orders", json={"amount_kg": 2})
        assert client.post("/v1/orders", json={"amount_kg": 3}).status_code == 201
    assert tiny.created == [{"amount_kg": 3}]
    dropped = tiny.log.entries[0]
    assert (dropped.route, dropped.status, dropped.fault) == ("POST /v1/orders", None, "drop_connection")


def _wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def test_a_dropped_connection_is_closed_cleanly_even_when_the_body_comes_late(tiny: Tiny) -> None:
    # Closing the socket while request bytes are unread or still on their way makes the kernel answer with
    # a reset: the client then saw "connection reset" instead of "server disconnected", at random under load.
    # The sandbox must wait for the whole request, then close (FIN), and log the body it was sent.
    tiny.faults.set([{"route": "POST /v1/orders", "drop_connection": True, "times": 1}])
    body = b'{"amount_kg": 2}'
    head = b"POST /v1/orders HTTP/1.1\r\nhost: tiny\r\ncontent-type: application/json\r\n"
    url = httpx.URL(tiny.url)
    with socket.create_connection((url.host, url.port or 80), timeout=10) as sock:
        sock.sendall(head + b"content-length: %d\r\n\r\n" % len(body))
        _wait_until(lambda: tiny.faults.snapshot()[0]["hits"] == 1)  # the server has picked the fault
        readable, _, _ = select.select([sock], [], [], 0.2)
        assert readable == []  # not closed yet: the body it was promised has not arrived
        sock.sendall(body)
        assert sock.recv(1) == b""  # an orderly close without a response (a reset would raise here)
    _wait_until(lambda: len(tiny.log.entries) == 1)
    dropped = tiny.log.entries[0]
    assert (dropped.status, dropped.fault, dropped.body) == (None, "drop_connection", body)


def test_fail_after_processing_creates_the_order_but_answers_502(tiny: Tiny) -> None:
    tiny.faults.set([{"route": "POST /v1/orders", "fail_after_processing": True, "times": 1}])
    with httpx.Client(base_url=tiny.url) as client:
        lost = client.post("/v1/orders", json={"amount_kg": 4})
        assert client.post("/v1/orders", json={"amount_kg": 5}).status_code == 201
    assert lost.status_code == 502
    assert tiny.created == [{"amount_kg": 4}, {"amount_kg": 5}]
    assert tiny.log.entries[0].fault == "fail_after_processing: status 502 (endpoint answered 201)"


def test_fail_after_processing_can_drop_the_connection(tiny: Tiny) -> None:
    tiny.faults.set([{"route": "POST /v1/orders", "fail_after_processing": True, "drop_connection": True}])
    with httpx.Client(base_url=tiny.url) as client, pytest.raises(httpx.RemoteProtocolError):
        client.post("/v1/orders", json={"amount_kg": 6})
    assert tiny.created == [{"amount_kg": 6}]
    # No wait: the sandbox logs a request before it drops the connection (or sends the response's end), so a
    # client that saw the drop finds the record (the race behind this test's load-dependent failures).
    assert [r.status for r in tiny.log.entries] == [None]


def test_latency_delays_only_matching_requests(tiny: Tiny) -> None:
    tiny.faults.set([{"path_prefix": "/v1/orders/", "method": "GET", "latency_ms": 300}])
    with httpx.Client(base_url=tiny.url) as client:
        started = time.monotonic()
        assert client.get("/v1/orders/x").status_code == 200
        slow = time.monotonic() - started
        assert client.post("/v1/orders", json={}).status_code == 201
    assert slow >= 0.3
    # The other request was not delayed: the rule never hit it. (This was `fast < 0.3` by the clock, which
    # a busy machine can break without any fault at all.)
    assert [(r.route, r.fault) for r in tiny.log.entries] == [
        ("GET /v1/orders/{id}", "latency 300ms"),
        ("POST /v1/orders", None),
    ]
    assert tiny.faults.snapshot()[0]["hits"] == 1


def test_error_rate_hits_a_fraction_of_requests(tiny: Tiny) -> None:
    tiny.faults.set([{"route": "GET /v1/orders/{id}", "status": 500, "error_rate": 0.5}])
    with httpx.Client(base_url=tiny.url) as client:
        statuses = [client.get(f"/v1/orders/{i}").status_code for i in range(100)]
    failures = statuses.count(500)
    assert 20 <= failures <= 80  # binomial(100, 0.5): outside this band has probability < 1e-9
    assert statuses.count(200) == 100 - failures
    assert tiny.faults.snapshot()[0]["hits"] == failures


def test_sandbox_only_endpoints_are_never_faulted(tiny: Tiny) -> None:
    tiny.faults.set([{"status": 500}])
    with httpx.Client(base_url=tiny.url) as client:
        assert client.get("/v1/orders/a").status_code == 500
        assert client.post("/_sandbox/orders/a/fulfil").status_code == 200
        assert client.get("/_sandbox/faults").status_code == 200


def test_admin_api_sets_lists_and_clears_rules(tiny: Tiny) -> None:
    with httpx.Client(base_url=tiny.url) as client:
        put = client.put(
            "/_sandbox/faults", json=[{"route": "GET /v1/orders/{id}", "status": 502, "times": 2}]
        )
        assert put.status_code == 200
        assert client.get("/v1/orders/a").status_code == 502
        (listed,) = client.get("/_sandbox/faults").json()["data"]
        assert listed["route"] == "GET /v1/orders/{id}"
        assert (listed["status"], listed["times"], listed["remaining"], listed["hits"]) == (502, 2, 1, 1)
        added = client.post("/_sandbox/faults", json={"route": "POST /v1/orders", "status": 500})
        assert added.status_code == 201 and len(added.json()["data"]) == 2
        assert client.delete("/_sandbox/faults").status_code == 204
        assert client.get("/v1/orders/a").status_code == 200
        assert client.get("/_sandbox/faults").json() == {"data": []}


@pytest.mark.parametrize(
    ("rules", "field"),
    [
        ([{"route": "POST /v1/orders", "status": 404}], "0.status"),
        ([{"route": "post /v1/orders", "status": 500}], "0"),
        ([{"route": "POST /v1/orders"}], "0"),
        ([{"route": "POST /v1/orders", "status": 500, "drop_connection": True}], "0"),
        ([{"status": 500, "error_rate": 2}], "0.error_rate"),
        ([{"status": 500, "bogus": 1}], "0.bogus"),
        ({"not": "a list"}, "rules"),
    ],
)
def test_bad_rules_are_400_problems_and_change_nothing(tiny: Tiny, rules: object, field: str) -> None:
    tiny.faults.set([{"route": "GET /v1/orders/{id}", "latency_ms": 1}])
    with httpx.Client(base_url=tiny.url) as client:
        response = client.put("/_sandbox/faults", json=rules)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "https://api.cnaught.com/v1/errors/invalid-parameters"
    assert field in problem["errors"]
    assert len(tiny.faults.snapshot()) == 1


def test_in_process_api_validates_too() -> None:
    with pytest.raises(ValidationError):
        Faults().set([{"route": "POST /v1/orders", "retry_after": 3, "status": 500}])


async def test_in_process_drop_raises_what_httpx_would() -> None:
    created: list[object] = []
    app = _tiny_app(created)
    app.state.faults.set(
        [{"route": "POST /v1/orders", "fail_after_processing": True, "drop_connection": True}]
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.post("/v1/orders", json={"amount_kg": 1})
    assert created == [{"amount_kg": 1}]
    assert app.state.request_log.entries[0].status is None


@pytest.fixture
def sandbox_url() -> Iterator[tuple[Starlette, str]]:
    app = create_app(SandboxConfig(fulfilment_delay=3600, enable_admin=True))
    with serve(app) as url:
        yield app, url


def test_real_sandbox_lost_response_then_keyed_retry_replays_the_same_order(
    sandbox_url: tuple[Starlette, str],
) -> None:
    """The recipe resilience tests use: the order is created, the response is lost, the retry replays it."""
    app, url = sandbox_url
    headers = {"Authorization": "Bearer faults-key", "Idempotency-Key": "lost-once"}
    with httpx.Client(base_url=url, headers=headers) as client:
        rule = {"route": "POST /v1/orders", "fail_after_processing": True, "times": 1}
        assert client.put("/_sandbox/faults", json=[rule]).status_code == 200
        assert client.post("/v1/orders", json={"amount_kg": 12}).status_code == 502
        retry = client.post("/v1/orders", json={"amount_kg": 12})
        listed = client.get("/v1/orders").json()["data"]
    assert retry.status_code == 201
    assert retry.headers["x-idempotent-replay"] == "true"
    assert [order["id"] for order in listed] == [retry.json()["id"]]
    log: RequestLog = app.state.request_log
    assert log.count(route="POST /v1/orders") == 2
    assert [r.status for r in log.filter(route="POST /v1/orders")] == [502, 201]


def test_a_route_the_sandbox_does_not_have_is_refused_everywhere(sandbox_url: tuple[Starlette, str]) -> None:
    """A typo'd or exempt route would never fire: 400 naming the rule's route field, rules unchanged."""
    app, url = sandbox_url
    app.state.faults.set([{"route": "POST /product-api/oauth/token", "latency_ms": 1}])
    with httpx.Client(base_url=url) as client:
        put = client.put("/_sandbox/faults", json=[{"route": "POST /v1/order", "status": 503}])
        post = client.post(
            "/_sandbox/faults", json={"route": "POST /_sandbox/orders/{id}/fulfil", "status": 503}
        )
    assert (put.status_code, post.status_code) == (400, 400)
    assert put.headers["content-type"] == post.headers["content-type"] == "application/problem+json"
    assert put.json()["type"] == post.json()["type"] == "https://api.cnaught.com/v1/errors/invalid-parameters"
    assert "POST /v1/order" in put.json()["errors"]["0.route"][0]
    assert list(post.json()["errors"]) == ["0.route"]  # POST validates a list of one, like PUT
    with pytest.raises(ValidationError, match=re.escape("no route 'GET /v1/orders/{id}/x'")):
        app.state.faults.add({"route": "GET /v1/orders/{id}/x", "status": 500})
    assert [rule["route"] for rule in app.state.faults.snapshot()] == ["POST /product-api/oauth/token"]


def test_real_sandbox_in_process_faults_without_admin_api() -> None:
    app = create_app(SandboxConfig(fulfilment_delay=3600))
    app.state.faults.set([{"route": "GET /v1/portfolios", "status": 503, "times": 1}])
    with serve(app) as url, httpx.Client(base_url=url, headers={"Authorization": "Bearer k"}) as client:
        assert client.get("/_sandbox/faults").status_code == 404
        assert client.get("/_sandbox/requests").status_code == 404
        assert client.get("/_sandbox/stats").status_code == 404
        assert client.get("/v1/portfolios").status_code == 503
        assert client.get("/v1/portfolios").status_code == 200
    assert app.state.request_log.count(route="GET /v1/portfolios") == 2


def test_mounted_inside_another_app_routes_and_faults_are_relative_to_the_mount() -> None:
    created: list[object] = []
    inner = _tiny_app(created)
    outer = Starlette(routes=[Mount("/sandbox", app=inner)])
    inner.state.faults.set([{"route": "GET /v1/orders/{id}", "status": 503, "times": 1}])
    with serve(outer) as url, httpx.Client(base_url=url) as client:
        assert client.get("/sandbox/v1/orders/a").status_code == 503
        assert client.get("/sandbox/v1/orders/a").status_code == 200
        assert client.get("/sandbox/nowhere").status_code == 404
    log: RequestLog = inner.state.request_log
    assert [(r.path, r.route, r.status) for r in log.entries] == [
        ("/v1/orders/a", "GET /v1/orders/{id}", 503),
        ("/v1/orders/a", "GET /v1/orders/{id}", 200),
        ("/nowhere", None, 404),
    ]
