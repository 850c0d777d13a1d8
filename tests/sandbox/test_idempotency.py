"""Idempotency keys: replay, changed payload, too long, scope, failures, and concurrency over real HTTP."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import Response

from sandbox.idempotency import Idempotency, fingerprint
from sandbox.problems import ProblemError
from sandbox.store import Store
from tests.sandbox.sandbox_helpers import assert_problem, make_app
from tests.servers import serve


async def test_replay_returns_the_original_response(client: httpx.AsyncClient) -> None:
    headers = {"Idempotency-Key": "k-1"}
    first = await client.post("/v1/orders", json={"amount_kg": 5}, headers=headers)
    again = await client.post("/v1/orders", content=b'{ "amount_kg" : 5 }', headers=headers)
    assert first.status_code == again.status_code == 201
    assert "x-idempotent-replay" not in first.headers
    assert again.headers["x-idempotent-replay"] == "true"
    assert again.json() == first.json()
    assert len((await client.get("/v1/orders")).json()["data"]) == 1


async def test_changed_payload_is_422(client: httpx.AsyncClient) -> None:
    headers = {"Idempotency-Key": "k-2"}
    await client.post("/v1/orders", json={"amount_kg": 5}, headers=headers)
    problem = assert_problem(
        await client.post("/v1/orders", json={"amount_kg": 6}, headers=headers),
        422,
        "idempotency-changed-payload",
    )
    assert problem["title"] == "Previous request submitted with same idempotency key had different payload"


async def test_subaccount_header_is_part_of_the_payload(client: httpx.AsyncClient) -> None:
    sub = (await client.post("/v1/subaccounts", json={"name": "s"})).json()
    headers = {"Idempotency-Key": "k-sub"}
    await client.post("/v1/orders", json={"amount_kg": 5}, headers=headers)
    response = await client.post(
        "/v1/orders", json={"amount_kg": 5}, headers={**headers, "X-Subaccount-Id": sub["id"]}
    )
    assert_problem(response, 422, "idempotency-changed-payload")


async def test_key_longer_than_512_is_400(client: httpx.AsyncClient) -> None:
    ok = await client.post("/v1/orders", json={"amount_kg": 1}, headers={"Idempotency-Key": "k" * 512})
    assert ok.status_code == 201
    response = await client.post("/v1/orders", json={"amount_kg": 1}, headers={"Idempotency-Key": "k" * 513})
    assert_problem(response, 400, "idempotency-key-too-long")


async def test_keys_are_scoped_per_path_and_api_key(client: httpx.AsyncClient) -> None:
    headers = {"Idempotency-Key": "shared"}
    order = (await client.post("/v1/orders", json={"amount_kg": 1}, headers=headers)).json()
    ride = await client.post("/v1/orders/ride", json={"distance_km": 30}, headers=headers)
    assert ride.status_code == 201 and "x-idempotent-replay" not in ride.headers
    other_key = {**headers, "Authorization": "Bearer someone-else"}
    theirs = await client.post("/v1/orders", json={"amount_kg": 1}, headers=other_key)
    assert theirs.status_code == 201 and theirs.json()["id"] != order["id"]


async def test_failed_requests_are_not_recorded(client: httpx.AsyncClient) -> None:
    headers = {"Idempotency-Key": "k-fail"}
    assert_problem(
        await client.post("/v1/orders", json={"amount_kg": -1}, headers=headers), 400, "invalid-parameters"
    )
    retry = await client.post("/v1/orders", json={"amount_kg": 1}, headers=headers)
    assert retry.status_code == 201 and "x-idempotent-replay" not in retry.headers


async def test_cancel_and_subaccount_create_replay(client: httpx.AsyncClient) -> None:
    order = (await client.post("/v1/orders", json={"amount_kg": 1})).json()
    headers = {"Idempotency-Key": "c-1"}
    first = await client.post(f"/v1/orders/{order['id']}/cancel", headers=headers)
    again = await client.post(f"/v1/orders/{order['id']}/cancel", headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.headers["x-idempotent-replay"] == "true"
    subs = [
        await client.post("/v1/subaccounts", json={"name": "n"}, headers={"Idempotency-Key": "s-1"})
        for _ in "ab"
    ]
    assert subs[0].status_code == subs[1].status_code == 201
    assert subs[0].json() == subs[1].json()
    assert len((await client.get("/v1/subaccounts")).json()["data"]) == 1


def _request(key: str, path: str = "/v1/orders", body: bytes = b'{"amount_kg": 1}') -> Request:
    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": body, "more_body": False}

    scope = {
        "type": "http",
        "method": "POST",
        "path": path,
        "query_string": b"",
        "headers": [(b"idempotency-key", key.encode())],
    }
    return Request(scope, receive)


async def test_request_in_flight_gets_409_and_changed_one_422() -> None:
    idempotency = Idempotency(Store())
    started, release = asyncio.Event(), asyncio.Event()

    async def slow(body: bytes) -> Response:
        started.set()
        await release.wait()
        return Response(b"{}", status_code=201, media_type="application/json")

    first = asyncio.create_task(idempotency.run(_request("k"), "acct", slow))
    await started.wait()
    with pytest.raises(ProblemError) as conflict:
        await idempotency.run(_request("k"), "acct", slow)
    assert conflict.value.status == 409
    assert conflict.value.type.endswith("/idempotency-concurrent-requests")
    release.set()
    assert (await first).status_code == 201
    replay = await idempotency.run(_request("k"), "acct", slow)
    assert replay.headers["x-idempotent-replay"] == "true"
    with pytest.raises(ProblemError) as changed:
        await idempotency.run(_request("k", body=b'{"amount_kg": 2}'), "acct", slow)
    assert changed.value.status == 422


def test_fingerprint_ignores_key_order_and_whitespace() -> None:
    assert fingerprint(b'{"a": 1, "b": 2}', "") == fingerprint(b'{"b":2,"a":1}', "")
    assert fingerprint(b'{"a": 1}', "") != fingerprint(b'{"a": 1}', "sub")
    assert fingerprint(b"not json", "") != fingerprint(b"not json!", "")


def test_concurrent_identical_keyed_posts_create_exactly_one_order() -> None:
    app = make_app()
    with serve(app) as base:

        async def fire() -> list[httpx.Response]:
            limits = httpx.Limits(max_connections=20)
            headers = {"Authorization": "Bearer race", "Idempotency-Key": "race-1"}
            async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits) as http:
                return await asyncio.gather(
                    *(http.post("/v1/orders", json={"amount_kg": 7}) for _ in range(20))
                )

        responses = asyncio.run(fire())
        listed = httpx.get(f"{base}/v1/orders", headers={"Authorization": "Bearer race"}).json()["data"]
    created = [r for r in responses if r.status_code == 201 and "x-idempotent-replay" not in r.headers]
    replays = [r for r in responses if r.headers.get("x-idempotent-replay") == "true"]
    conflicts = [r for r in responses if r.status_code == 409]
    assert len(created) == 1
    assert len(created) + len(replays) + len(conflicts) == 20
    assert all(r.json()["id"] == created[0].json()["id"] for r in replays)
    assert all(r.json()["type"].endswith("/idempotency-concurrent-requests") for r in conflicts)
    assert [o["id"] for o in listed] == [created[0].json()["id"]]


def _wait_until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def test_request_still_uploading_holds_its_key_over_real_http() -> None:
    body = b'{"amount_kg": 3}'
    head = (
        "POST /v1/orders HTTP/1.1\r\nHost: sandbox\r\n"
        "Authorization: Bearer slow\r\nIdempotency-Key: slow-1\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    headers = {"Authorization": "Bearer slow", "Idempotency-Key": "slow-1"}
    app = make_app()
    with serve(app) as base:
        port = int(base.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=30) as slow:
            slow.sendall(head + body[:5])  # the first request is in flight, its body half sent
            # The server must hold the key before the second request arrives (a fixed sleep lost this
            # race on a loaded machine, and the second request then ran first and got 201).
            _wait_until(lambda: app.state.services.idempotency.in_flight == 1)
            second = httpx.post(f"{base}/v1/orders", json={"amount_kg": 3}, headers=headers)
            assert_problem(second, 409, "idempotency-concurrent-requests")
            slow.sendall(body[5:])
            first = slow.recv(65536)
        assert first.startswith(b"HTTP/1.1 201")
        replay = httpx.post(f"{base}/v1/orders", json={"amount_kg": 3}, headers=headers)
        assert replay.headers["x-idempotent-replay"] == "true"
        assert (
            len(httpx.get(f"{base}/v1/orders", headers={"Authorization": "Bearer slow"}).json()["data"]) == 1
        )
