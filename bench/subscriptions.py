"""Benchmark: live order updates with 1,000 open subscriptions - events per second and memory.

Starts the gateway (embedded sandbox, orders held `placed`, polling off) as a uvicorn subprocess (uvloop,
httptools), opens `--connections` graphql-transport-ws connections with `--per-connection` list
subscriptions each (``orderUpdates { previousState order { id state } }``, every order of the account),
then places `--orders` orders and cancels them: each order is two state changes, each heard by every
subscriber. Prints one table row: deliveries (events x subscribers), seconds from the first mutation to the
last delivery, deliveries per second, the gateway's CPU seconds, and its resident memory before and after
the subscriptions were opened (the difference per subscription). Run on demand, never from the suite:

    python bench/subscriptions.py                       # 100 connections x 10 = 1,000 subscriptions
    python bench/subscriptions.py --orders 50
    python bench/subscriptions.py --profile /tmp/subs.prof   # the gateway under cProfile

The client is Python (`websockets`, orjson) in this process; its CPU is printed too. When it is near one
core, the client, not the gateway, bounds `deliveries/s`; `deliveries/gw-CPU-s` is then the better figure.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import time
from pathlib import Path

import httpx
import orjson
import websockets
from sandbox_orders import cpu_pressure, usage, uvicorn_server

QUERY = "subscription { orderUpdates { previousState order { id state } } }"
PLACE = "mutation { placeOrder(input: {amountKg: 1}) { order { id } } }"
CANCEL = "mutation($id: ID!) { cancelOrder(input: {id: $id}) { order { state } } }"


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


class Receiver:
    """Counts `next` messages over all connections."""

    def __init__(self) -> None:
        self.received = 0
        self.done = asyncio.Event()
        self.expected = -1

    async def read(self, ws: websockets.ClientConnection) -> None:
        async for raw in ws:
            message = orjson.loads(raw)
            if message["type"] == "next":
                self.received += 1
                if self.received == self.expected:
                    self.done.set()
            elif message["type"] == "ping":
                await ws.send('{"type":"pong"}')


async def open_connection(url: str, per_connection: int) -> websockets.ClientConnection:
    ws = await websockets.connect(url, subprotocols=["graphql-transport-ws"], max_queue=None)  # type: ignore[list-item]
    await ws.send('{"type":"connection_init","payload":{}}')
    assert orjson.loads(await ws.recv())["type"] == "connection_ack"
    for number in range(per_connection):
        payload = {"id": str(number), "type": "subscribe", "payload": {"query": QUERY}}
        await ws.send(orjson.dumps(payload).decode())
    return ws


async def open_subscriptions(http: httpx.AsyncClient, expected: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        text = (await http.get("/metrics")).text
        if f"gateway_subscriptions {float(expected)}" in text:
            return
        await asyncio.sleep(0.2)
    raise RuntimeError("the subscriptions did not all open")


async def drive(http: httpx.AsyncClient, orders: int) -> None:
    ids = []
    for _ in range(orders):
        ids.append(
            (await http.post("/graphql", json={"query": PLACE})).json()["data"]["placeOrder"]["order"]["id"]
        )
    for order_id in ids:
        await http.post("/graphql", json={"query": CANCEL, "variables": {"id": order_id}})


async def run(args: argparse.Namespace) -> None:
    env = {
        "GATEWAY_SANDBOX_FULFILMENT_DELAY": "3600",
        "GATEWAY_SUBSCRIPTION_POLL_INTERVAL": "3600",
        "GATEWAY_SUBSCRIPTION_MAX_PER_CREDENTIAL": str(args.connections * args.per_connection + 1),
        "GATEWAY_SUBSCRIPTION_MAX_PER_CONNECTION": str(args.per_connection),
        "GATEWAY_SUBSCRIPTION_QUEUE_SIZE": "1000",
        "GATEWAY_LOG_LEVEL": "warning",
    }
    subscriptions = args.connections * args.per_connection
    with uvicorn_server("gateway.app:create_app", env, "/healthz", args.profile) as gateway:
        ws_url = gateway.url.replace("http://", "ws://") + "/graphql"
        async with httpx.AsyncClient(base_url=gateway.url, timeout=60) as http:
            await http.post("/graphql", json={"query": "{ portfolios { id } }"})  # warm up
            rss_before = rss_mib(gateway.pid)
            connections = [
                await open_connection(ws_url, args.per_connection) for _ in range(args.connections)
            ]
            await open_subscriptions(http, subscriptions)
            rss_after = rss_mib(gateway.pid)
            receiver = Receiver()
            receiver.expected = subscriptions * args.orders * 2
            readers = [asyncio.create_task(receiver.read(ws)) for ws in connections]
            cpu_before, client_before, started = usage(gateway.pid), _client_cpu(), time.perf_counter()
            await drive(http, args.orders)
            await asyncio.wait_for(receiver.done.wait(), 300)
            seconds = time.perf_counter() - started
            gateway_cpu = (usage(gateway.pid) - cpu_before).cpu
            client_cpu = _client_cpu() - client_before
            for ws in connections:
                await ws.close()
            for reader in readers:
                reader.cancel()
    _print(args, subscriptions, receiver.received, seconds, gateway_cpu, client_cpu, rss_before, rss_after)


def _client_cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


def _print(
    args: argparse.Namespace,
    subscriptions: int,
    deliveries: int,
    seconds: float,
    gateway_cpu: float,
    client_cpu: float,
    rss_before: float,
    rss_after: float,
) -> None:
    per_sub_kib = (rss_after - rss_before) * 1024 / subscriptions
    print(f"machine: {cpu_pressure()}")
    print(
        "| subscriptions | events | deliveries | seconds | deliveries/s | gw CPU s | deliveries/gw-CPU-s "
        "| client CPU s | RSS before MiB | RSS after MiB | KiB/subscription |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    print(
        f"| {subscriptions} | {args.orders * 2} | {deliveries} | {seconds:.2f} | {deliveries / seconds:,.0f} "
        f"| {gateway_cpu:.2f} | {deliveries / max(gateway_cpu, 1e-9):,.0f} | {client_cpu:.2f} "
        f"| {rss_before:.1f} | {rss_after:.1f} | {per_sub_kib:.1f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--connections", type=int, default=100)
    parser.add_argument("--per-connection", type=int, default=10)
    parser.add_argument("--orders", type=int, default=20, help="orders placed, then cancelled")
    parser.add_argument("--profile", type=Path, help="run the gateway under cProfile, stats to this file")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
