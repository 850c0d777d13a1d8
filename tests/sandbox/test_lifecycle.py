"""Order lifecycle over real HTTP: timed fulfilment and callbacks received by a real local server."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.sandbox.sandbox_helpers import make_app
from tests.servers import serve

AUTH = {"Authorization": "Bearer lifecycle"}


class Receiver:
    """A callback endpoint that records every delivery and answers scripted statuses (then 200)."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.statuses = list(statuses or [])
        self.bodies: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    async def endpoint(self, request: Request) -> Response:
        body = orjson.loads(await request.body())
        with self._lock:
            self.bodies.append(body)
            status = self.statuses.pop(0) if self.statuses else 200
        return Response(status_code=status)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/hook", self.endpoint, methods=["POST"])])

    def states(self) -> list[str]:
        with self._lock:
            return [b["order"]["state"] for b in self.bodies]


def wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


@pytest.fixture
def receiver_url() -> Iterator[tuple[Receiver, str]]:
    receiver = Receiver()
    with serve(receiver.app()) as base:
        yield receiver, f"{base}/hook"


def test_order_is_fulfilled_after_the_delay_and_callbacks_fire(receiver_url: tuple[Receiver, str]) -> None:
    receiver, url = receiver_url
    with serve(make_app(fulfilment_delay=0.3)) as base, httpx.Client(base_url=base, headers=AUTH) as http:
        started = time.monotonic()
        created = http.post("/v1/orders", json={"amount_kg": 100, "notification_config": {"url": url}}).json()
        assert created["state"] == "placed"
        wait_for(lambda: receiver.states() == ["fulfilled"])
        # Not before the delay. (A GET expecting "placed" right after the POST raced the 0.3 s delay and
        # failed whenever the machine was busy; this lower bound holds however slow the machine is.)
        assert time.monotonic() - started >= 0.3
        fulfilled = http.get(f"/v1/orders/{created['id']}").json()
        assert receiver.bodies[0] == {"order": fulfilled}
        assert fulfilled["project_allocations"]
        http.post(f"/v1/orders/{created['id']}/cancel")
        wait_for(lambda: receiver.states() == ["fulfilled", "cancelled"])
        assert receiver.bodies[1]["order"]["certificate_public_url"] is None


def test_delay_zero_fulfils_right_after_the_response(receiver_url: tuple[Receiver, str]) -> None:
    receiver, url = receiver_url
    with serve(make_app(fulfilment_delay=0)) as base, httpx.Client(base_url=base, headers=AUTH) as http:
        created = http.post("/v1/orders", json={"amount_kg": 5, "notification_config": {"url": url}}).json()
        wait_for(lambda: receiver.states() == ["fulfilled"])
        assert http.get(f"/v1/orders/{created['id']}").json()["state"] == "fulfilled"


def test_callbacks_are_retried_until_200() -> None:
    receiver = Receiver([500, 503])
    hooks = serve(receiver.app())
    with (
        hooks as hook_base,
        serve(make_app(callback_backoff_initial=0.05)) as base,
        httpx.Client(base_url=base, headers=AUTH) as http,
    ):
        body = {"amount_kg": 5, "notification_config": {"url": f"{hook_base}/hook"}}
        order = http.post("/v1/orders", json=body).json()
        http.post(f"/_sandbox/orders/{order['id']}/fulfil")
        wait_for(lambda: len(receiver.bodies) == 3)
        time.sleep(0.3)  # no further attempts after the 200
        assert receiver.states() == ["fulfilled"] * 3


def test_callbacks_stop_at_the_deadline() -> None:
    receiver = Receiver([500] * 1000)
    # A deadline long enough for several attempts even when one is slow (0.3 s gave a single attempt on a
    # loaded machine), and no guess at when the sandbox gives up: wait until it has.
    config = {"callback_backoff_initial": 0.05, "callback_backoff_max": 0.05, "callback_deadline": 1.0}
    app = make_app(**config)
    hooks = serve(receiver.app())
    with (
        hooks as hook_base,
        serve(app) as base,
        httpx.Client(base_url=base, headers=AUTH) as http,
    ):
        body = {"amount_kg": 5, "notification_config": {"url": f"{hook_base}/hook"}}
        order = http.post("/v1/orders", json=body).json()
        http.post(f"/_sandbox/orders/{order['id']}/fulfil")
        wait_for(lambda: len(receiver.bodies) >= 1)
        wait_for(lambda: app.state.services.notifier.pending == 0, timeout=30)  # it gave up
        attempts = len(receiver.bodies)
        time.sleep(0.3)  # and no attempt follows
        assert 2 <= attempts == len(receiver.bodies)


def test_unreachable_callback_does_not_block_the_api() -> None:
    with (
        serve(make_app(callback_backoff_initial=0.05)) as base,
        httpx.Client(base_url=base, headers=AUTH) as http,
    ):
        body = {"amount_kg": 5, "notification_config": {"url": "http://127.0.0.1:9/hook"}}
        order = http.post("/v1/orders", json=body).json()
        assert http.post(f"/_sandbox/orders/{order['id']}/fulfil").json()["state"] == "fulfilled"
        assert http.get(f"/v1/orders/{order['id']}").status_code == 200


def test_checkout_completion_order_is_fulfilled_and_calls_back(receiver_url: tuple[Receiver, str]) -> None:
    receiver, url = receiver_url
    with serve(make_app(fulfilment_delay=0)) as base, httpx.Client(base_url=base, headers=AUTH) as http:
        session = http.post(
            "/v1/checkout/sessions",
            json={
                "amount_kg": 50,
                "success_url": "https://a.example/ok",
                "cancel_url": "https://a.example/no",
                "notification_config": {"url": url},
            },
        ).json()
        completed = http.post(f"/_sandbox/checkout/sessions/{session['id']}/complete")
        wait_for(lambda: receiver.states() == ["fulfilled"])
        order = receiver.bodies[0]["order"]
        assert order["id"] == completed.headers["x-sandbox-order-id"]
        assert order["checkout_session_id"] == session["id"]
