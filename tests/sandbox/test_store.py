"""State in SQLite (``--db``) survives a restart; the in-memory store does not."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from sandbox.store import SqliteBackend, Store
from tests.sandbox.sandbox_helpers import asgi_client, make_app
from tests.servers import serve


async def test_state_survives_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "sandbox.sqlite3"
    async with asgi_client(make_app(db=db)) as client:
        sub = (await client.post("/v1/subaccounts", json={"name": "kept"})).json()
        first = (await client.post("/v1/orders", json={"amount_kg": 3000})).json()
        fulfilled = (await client.post(f"/_sandbox/orders/{first['id']}/fulfil")).json()
        keyed = await client.post("/v1/orders", json={"amount_kg": 1}, headers={"Idempotency-Key": "persist"})
        placed = keyed.json()
    async with asgi_client(make_app(db=db)) as client:
        assert (await client.get(f"/v1/orders/{first['id']}")).json() == fulfilled
        listed = [o["id"] for o in (await client.get("/v1/orders")).json()["data"]]
        assert listed == [placed["id"], first["id"]]
        assert (await client.get(f"/v1/subaccounts/{sub['id']}")).json() == sub
        replay = await client.post(
            "/v1/orders", json={"amount_kg": 1}, headers={"Idempotency-Key": "persist"}
        )
        assert replay.headers["x-idempotent-replay"] == "true" and replay.json()["id"] == placed["id"]
        second = (await client.post("/v1/orders", json={"amount_kg": 3000})).json()
        again = (await client.post(f"/_sandbox/orders/{second['id']}/fulfil")).json()
        serial = again["project_allocations"][0]["retirements"][0]["serial_number_range"]
        assert serial == "SBX-I0UbDH-2022-000001051-000002100"  # the inventory was kept too


async def test_memory_store_starts_empty() -> None:
    async with asgi_client(make_app()) as client:
        await client.post("/v1/orders", json={"amount_kg": 1})
    async with asgi_client(make_app()) as client:
        assert (await client.get("/v1/orders")).json() == {"data": []}


def test_placed_orders_are_fulfilled_after_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "sandbox.sqlite3"
    auth = {"Authorization": "Bearer restart"}
    with serve(make_app(db=db, fulfilment_delay=3600)) as base:
        order = httpx.post(f"{base}/v1/orders", json={"amount_kg": 10}, headers=auth).json()
    with serve(make_app(db=db, fulfilment_delay=0)) as base:
        deadline = time.monotonic() + 30
        while httpx.get(f"{base}/v1/orders/{order['id']}", headers=auth).json()["state"] != "fulfilled":
            assert time.monotonic() < deadline, "the restarted worker did not pick the order up"
            time.sleep(0.02)


def test_backend_keeps_creation_order_on_update(tmp_path: Path) -> None:
    store = Store(SqliteBackend(tmp_path / "s.db"))
    for key in ("a", "b", "c"):
        store.put("things", key, {"v": key}, owner="me")
    store.put("things", "a", {"v": "a2"}, owner="me")
    store.delete("things", "b", owner="me")
    store.close()
    reloaded = Store(SqliteBackend(tmp_path / "s.db"))
    assert reloaded.owned("things", "me") == [{"v": "a2"}, {"v": "c"}]
    assert reloaded.get("things", "b") is None
    reloaded.close()
