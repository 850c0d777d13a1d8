"""The npm `graphql-ws` and `graphql-sse` clients, unchanged (pinned in js/package-lock.json), in Node."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.ids import from_global_id
from tests.security.conftest import UPSTREAM_KEY
from tests.subscriptions.conftest import SubsSetup

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js (scripts/test installs it)"),
]

JS = Path(__file__).parent / "js"


async def _node(
    mode: str, url: str, token: str, order_id: str, fulfil: SubsSetup | None = None
) -> list[dict[str, Any]]:
    """Run the client; with `fulfil`, the order is fulfilled once the client printed its first event."""
    assert (JS / "node_modules" / "graphql-ws").is_dir(), "run scripts/test (npm ci) first"
    process = await asyncio.create_subprocess_exec(
        "node", str(JS / "client.mjs"), mode, url, token, order_id, stdout=asyncio.subprocess.PIPE
    )
    assert process.stdout is not None
    lines = []
    while raw := await asyncio.wait_for(process.stdout.readline(), 30):
        lines.append(json.loads(raw))
        if fulfil is not None and len(lines) == 1:
            await _fulfil(fulfil, order_id)
    await asyncio.wait_for(process.wait(), 10)
    return lines


async def _fulfil(subs: SubsSetup, order_id: str) -> None:
    headers = {"authorization": f"Bearer {UPSTREAM_KEY}"}
    async with httpx.AsyncClient(base_url=subs.sandbox_url, headers=headers) as http:
        upstream_id = from_global_id(order_id)[1]
        (await http.post(f"/_sandbox/orders/{upstream_id}/fulfil")).raise_for_status()


@pytest.mark.parametrize("mode", ["ws", "sse"])
async def test_the_npm_client_hears_placed_then_fulfilled(held_subs: SubsSetup, mode: str) -> None:
    gateway = held_subs.start()
    order_id = await gateway.place(held_subs.token("writer"))
    lines = await _node(mode, gateway.url, held_subs.token("reader"), order_id, fulfil=held_subs)
    updates = [line["data"]["orderUpdates"] for line in lines if "data" in line]
    states = [(u["order"]["id"], u["order"]["state"], u["previousState"]) for u in updates]
    assert states == [(order_id, "PLACED", None), (order_id, "FULFILLED", "PLACED")]


async def test_the_npm_ws_client_is_closed_with_4401_for_a_bad_credential(held_subs: SubsSetup) -> None:
    gateway = held_subs.start()
    lines = await _node("ws", gateway.url, "tok_not_a_client", "T3JkZXI6eA")
    assert {"closed": 4401} in lines
    assert not any("data" in line for line in lines)
