"""Two gateway processes on one real redis-server: an order placed through one is heard on the other, once."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.security.conftest import UPSTREAM_KEY
from tests.servers import free_port
from tests.subscriptions.conftest import SubsSetup
from tests.subscriptions.processes import gateway_env, serving
from tests.subscriptions.wsclient import WsClient, summary

pytestmark = pytest.mark.e2e

CANCEL = "mutation($id: ID!) { cancelOrder(input: {id: $id}) { order { state } } }"


@pytest.fixture
def replicas(subs: SubsSetup, redis_url: str) -> Iterator[tuple[str, str]]:
    ports = [free_port(), free_port()]
    with contextlib.ExitStack() as stack:
        for port in ports:
            env = gateway_env(
                upstream_url=f"{subs.sandbox_url}/v1",
                upstream_api_key=UPSTREAM_KEY,
                clients_file=str(subs.clients_file),
                redis_url=redis_url,
                public_url=f"http://127.0.0.1:{port}",
                subscription_poll_interval="300",  # events here come from callbacks, not polls
            )
            stack.enter_context(serving(port, env))
        yield f"http://127.0.0.1:{ports[0]}", f"http://127.0.0.1:{ports[1]}"


async def test_an_order_placed_on_one_replica_is_heard_on_the_other_once(
    subs: SubsSetup, replicas: tuple[str, str]
) -> None:
    first = replicas[0]
    auth = {"authorization": f"Bearer {subs.token('writer')}"}
    ws = [url.replace("http://", "ws://") + "/graphql" for url in replicas]
    async with WsClient.connect(ws[1], auth) as there, WsClient.connect(ws[0], auth) as here:
        for client in (there, here):
            await client.acknowledged()
            await client.subscribe("all")
        await asyncio.sleep(0.3)
        subs.request_log.clear()
        async with httpx.AsyncClient(base_url=first, headers=auth, timeout=30) as http:
            placed = await http.post("/graphql", json={"query": _PLACE})
            order_id = placed.json()["data"]["placeOrder"]["order"]["id"]
            heard = await _until(there, order_id, "FULFILLED")
            await http.post("/graphql", json={"query": CANCEL, "variables": {"id": order_id}})
        heard += await _until(there, order_id, "CANCELLED")
        heard_here = await _until(here, order_id, "CANCELLED")
        # Two callbacks (fulfilled, cancelled), each re-read upstream by one replica although both listen.
        # The cancelled one may still be on its way (the mutation itself announced CANCELLED): wait for it
        # while still subscribed, then give a duplicate re-read - which would start at the same moment on
        # the other replica - time to show.
        await asyncio.to_thread(_wait_for_reads, subs, 2)
        await asyncio.sleep(0.5)
        reads = subs.request_log.count(route="GET /v1/orders/{id}")
    expected = [
        (order_id, "PLACED", None),
        (order_id, "FULFILLED", "PLACED"),
        (order_id, "CANCELLED", "FULFILLED"),
    ]
    assert heard == expected  # a duplicate would appear before CANCELLED
    assert heard_here == expected
    assert reads == 2


_PLACE = "mutation { placeOrder(input: {amountKg: 3}) { order { id } } }"


async def _until(client: WsClient, order_id: str, state: str) -> list[tuple[str, str, str | None]]:
    heard = []
    while not heard or heard[-1][1] != state:
        update = summary(await client.update("all"))
        if update[0] == order_id:
            heard.append(update)
    return heard


def _wait_for_reads(subs: SubsSetup, count: int) -> None:
    deadline = time.monotonic() + 10
    while subs.request_log.count(route="GET /v1/orders/{id}") < count and time.monotonic() < deadline:
        time.sleep(0.05)
