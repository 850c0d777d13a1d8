"""The request log records exactly what the sandbox received, over real HTTP and in-process."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from sandbox.requestlog import RequestLog, RequestLogMiddleware, key_fingerprint, request_log_routes
from tests.servers import serve


async def _get_order(request: Request) -> Response:
    return JSONResponse({"id": request.path_params["id"]})


async def _create_order(request: Request) -> Response:
    return JSONResponse(await request.json(), status_code=201)


async def _boom(request: Request) -> Response:
    raise RuntimeError("endpoint failure")


def _tiny_app(log: RequestLog | None = None) -> Starlette:
    """A stand-in for the sandbox: the middleware only needs Starlette routing, not the real endpoints."""
    log = log or RequestLog()
    inner = [Route("/orders/{id}", _get_order), Route("/orders", _create_order, methods=["POST"])]
    routes = [Mount("/v1", routes=inner), Route("/boom", _boom), *request_log_routes()]
    app = Starlette(routes=routes, middleware=[Middleware(RequestLogMiddleware, log=log)])
    app.state.request_log = log
    return app


@pytest.fixture
def served() -> Iterator[tuple[Starlette, str]]:
    app = _tiny_app()
    with serve(app) as url:
        yield app, url


def _log(app: Starlette) -> RequestLog:
    log: RequestLog = app.state.request_log
    return log


def test_records_route_template_status_headers_and_body(served: tuple[Starlette, str]) -> None:
    app, url = served
    headers = {"Authorization": "Bearer sk-secret-key", "X-Subaccount-Id": "abc12345"}
    with httpx.Client(base_url=url, headers=headers) as client:
        assert client.get("/v1/orders/AAA?x=1").status_code == 200
        assert client.post("/v1/orders", json={"amount_kg": 5}).status_code == 201
        assert client.get("/nowhere").status_code == 404
    get, post, missing = _log(app).entries
    assert (get.method, get.path, get.query, get.route, get.status) == (
        "GET",
        "/v1/orders/AAA",
        "x=1",
        "GET /v1/orders/{id}",
        200,
    )
    assert (post.route, post.status, post.body) == ("POST /v1/orders", 201, b'{"amount_kg":5}')
    assert (missing.route, missing.status) == (None, 404)
    assert get.headers["x-subaccount-id"] == "abc12345"
    assert "sk-secret-key" not in get.headers["authorization"]
    assert get.headers["authorization"] == f"Bearer [redacted sha256:{key_fingerprint('sk-secret-key')}]"


def test_count_filters_exactly(served: tuple[Starlette, str]) -> None:
    app, url = served
    with httpx.Client(base_url=url) as client:
        for i in range(7):
            client.get(f"/v1/orders/o{i}")
        for _ in range(3):
            client.post("/v1/orders", json={})
    log = _log(app)
    assert log.count() == 10
    assert log.count(route="GET /v1/orders/{id}") == 7
    assert log.count(method="post") == 3
    assert log.count(path_prefix="/v1/orders/o1") == 1
    assert log.count(method="GET", route="POST /v1/orders") == 0
    log.clear()
    assert log.count() == 0 and log.entries == []


def test_endpoint_exception_is_recorded_as_500(served: tuple[Starlette, str]) -> None:
    app, url = served
    with httpx.Client(base_url=url) as client:
        assert client.get("/boom").status_code == 500
    (record,) = _log(app).entries
    assert (record.route, record.status) == ("GET /boom", 500)


def test_admin_endpoints_list_clear_and_count_without_logging_themselves(
    served: tuple[Starlette, str],
) -> None:
    app, url = served
    with httpx.Client(base_url=url) as client:
        client.get("/v1/orders/a")
        client.get("/v1/orders/b")
        client.post("/v1/orders", json={"k": 1})
        listed = client.get("/_sandbox/requests", params={"route": "GET /v1/orders/{id}"}).json()["data"]
        assert [r["path"] for r in listed] == ["/v1/orders/a", "/v1/orders/b"]
        stats = client.get("/_sandbox/stats").json()
        assert stats["routes"] == {"GET /v1/orders/{id}": 2, "POST /v1/orders": 1}
        assert stats["statuses"] == {"200": 2, "201": 1}
        assert client.delete("/_sandbox/requests").status_code == 204
        assert client.get("/_sandbox/requests").json() == {"data": []}
    assert _log(app).count() == 0


def test_a_request_is_in_the_log_before_its_client_has_the_response() -> None:
    # Work the server does after sending a response (a background task here; on a busy machine, merely the
    # frames unwinding after the send) must not delay the record: a client holding its answer reads the log.
    release = threading.Event()

    async def slow_tail(request: Request) -> Response:
        return JSONResponse({"ok": True}, background=BackgroundTask(asyncio.to_thread, release.wait, 10))

    log = RequestLog()
    app = Starlette(
        routes=[Route("/tail", slow_tail)], middleware=[Middleware(RequestLogMiddleware, log=log)]
    )
    with serve(app) as url:
        try:
            assert httpx.get(f"{url}/tail").status_code == 200
            assert [(r.route, r.status) for r in log.entries] == [("GET /tail", 200)]
        finally:
            release.set()


def test_concurrent_requests_are_all_counted_while_another_thread_reads(
    served: tuple[Starlette, str],
) -> None:
    app, url = served
    log = _log(app)
    seen: list[int] = []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            seen.append(log.count(route="GET /v1/orders/{id}"))
            time.sleep(0.001)

    async def fire() -> None:
        # 200 at once through 100 pooled connections: on a busy machine the second hundred can wait for a
        # connection longer than httpx's default 5 s pool timeout.
        async with httpx.AsyncClient(base_url=url, timeout=60) as client:
            await asyncio.gather(*(client.get(f"/v1/orders/{i}") for i in range(200)))

    thread = threading.Thread(target=reader)
    thread.start()
    asyncio.run(fire())
    stop.set()
    thread.join()
    assert log.count(route="GET /v1/orders/{id}") == 200
    assert seen == sorted(seen)  # counts only ever grow while the server writes


def test_bounded_log_reports_what_it_dropped() -> None:
    log = RequestLog(max_entries=3)
    transport = httpx.ASGITransport(app=_tiny_app(log))

    async def fire() -> None:
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
            for i in range(5):
                await client.get(f"/v1/orders/{i}")

    asyncio.run(fire())
    assert [r.path for r in log.entries] == ["/v1/orders/2", "/v1/orders/3", "/v1/orders/4"]
    assert log.dropped == 2
