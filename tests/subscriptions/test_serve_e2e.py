"""`offsets-gateway serve` with no configuration: live updates from the embedded sandbox's in-process
callbacks, over WebSockets and SSE, and a shutdown that tells subscribers it is going away (1001)."""

from __future__ import annotations

import asyncio
import json
import signal
from typing import Any

import httpx
import pytest

from tests.servers import free_port
from tests.subscriptions.processes import gateway_env, serving
from tests.subscriptions.wsclient import UPDATES, WsClient, summary

pytestmark = pytest.mark.e2e

PLACE = "mutation { placeOrder(input: {amountKg: 1}) { order { id state } } }"


async def test_serve_shows_live_updates_and_closes_subscriptions_when_stopped() -> None:
    port = free_port()
    # The poll interval is long, so FULFILLED can only come from the sandbox's in-process callback.
    env = gateway_env(sandbox_fulfilment_delay="0.3", subscription_poll_interval="300")
    url = f"http://127.0.0.1:{port}"
    with serving(port, env) as process:
        async with WsClient.connect(url.replace("http", "ws") + "/graphql") as client:
            await client.acknowledged()
            await client.subscribe("all")
            await asyncio.sleep(0.2)
            async with httpx.AsyncClient(base_url=url) as http:
                order_id = (await http.post("/graphql", json={"query": PLACE})).json()["data"]["placeOrder"][
                    "order"
                ]["id"]
                sse = asyncio.create_task(_sse_events(http, order_id))
                heard = [summary(await client.update("all", wait=5)) for _ in range(2)]
                assert heard == [(order_id, "PLACED", None), (order_id, "FULFILLED", "PLACED")]
                await asyncio.sleep(0.3)  # the SSE subscription is open and has had its first event
                process.send_signal(signal.SIGTERM)
                assert await client.closed() == 1001
                events = await asyncio.wait_for(sse, 10)
        # uvicorn shuts down, then re-raises the signal it caught: a clean stop ends with -SIGTERM.
        assert await asyncio.to_thread(process.wait, 15) in (0, -signal.SIGTERM)
        assert process.stderr is not None
        assert b"Traceback" not in process.stderr.read()
    states = [event["data"]["orderUpdates"]["order"]["state"] for event in events[:-1]]
    assert states in (["PLACED", "FULFILLED"], ["FULFILLED"])
    assert events[-1] == "complete", "the SSE stream ends with a complete event at shutdown"


async def _sse_events(http: httpx.AsyncClient, order_id: str) -> list[Any]:
    """GraphQL over SSE (distinct connections): the `next` payloads, then "complete" when the stream ends."""
    body = {"query": UPDATES, "variables": {"ids": [order_id]}}
    events: list[Any] = []
    headers = {"accept": "text/event-stream"}
    async with http.stream("POST", "/graphql", json=body, headers=headers, timeout=30) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        event = None
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event == "next":
                events.append(json.loads(line.split(":", 1)[1]))
            elif line.startswith("data:") and event == "complete":
                events.append("complete")
    return events
