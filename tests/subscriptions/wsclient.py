"""A small graphql-transport-ws client over the `websockets` package, for the tests."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

UPDATES = (
    "subscription($ids: [ID!], $sub: ID) { orderUpdates(ids: $ids, subaccountId: $sub) "
    "{ previousState order { id state subaccount { name } } } }"
)


class WsClient:
    """One graphql-transport-ws connection; protocol pings are answered with pongs while reading."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    @classmethod
    @contextlib.asynccontextmanager
    async def connect(
        cls, url: str, payload: dict[str, Any] | None = None, *, init: bool = True, **kwargs: Any
    ) -> AsyncIterator[WsClient]:
        async with websockets.connect(url, subprotocols=["graphql-transport-ws"], **kwargs) as ws:  # type: ignore[list-item]
            client = cls(ws)
            if init:
                await client.send({"type": "connection_init", "payload": payload or {}})
            yield client

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(message))

    async def receive(self, wait: float = 10) -> dict[str, Any]:
        while True:
            raw = await asyncio.wait_for(self.ws.recv(), wait)
            assert isinstance(raw, str), "graphql-transport-ws messages are text frames"
            message: dict[str, Any] = json.loads(raw)
            if message["type"] == "ping":
                await self.send({"type": "pong"})
                continue
            return message

    async def acknowledged(self) -> None:
        message = await self.receive()
        assert message["type"] == "connection_ack", message

    async def subscribe(
        self, op_id: str, ids: list[str] | None = None, sub: str | None = None, query: str = UPDATES
    ) -> None:
        variables = {"ids": ids, "sub": sub}
        await self.send(
            {"id": op_id, "type": "subscribe", "payload": {"query": query, "variables": variables}}
        )

    async def update(self, op_id: str, wait: float = 10) -> dict[str, Any]:
        """The next `orderUpdates` payload of `op_id` (other operations' messages are not expected)."""
        message = await self.receive(wait)
        assert message.get("id") == op_id and message["type"] == "next", message
        assert "errors" not in message["payload"], message
        update: dict[str, Any] = message["payload"]["data"]["orderUpdates"]
        return update

    async def closed(self, wait: float = 10) -> int | None:
        """Wait for the server to close; its close code."""
        with contextlib.suppress(websockets.ConnectionClosed):
            while True:
                await asyncio.wait_for(self.ws.recv(), wait)
        return self.ws.close_code


def summary(update: dict[str, Any]) -> tuple[str, str, str | None]:
    """(order id, state, previous state) of one update."""
    return update["order"]["id"], update["order"]["state"], update["previousState"]
