"""Operations sent over one WebSocket share its context but not a cost total: each is checked alone.

(Only a JSON-array batch over HTTP adds its operations' costs up against one maximum.)
"""

from __future__ import annotations

import pytest

from gateway.security.settings import SecuritySettings
from tests.subscriptions.conftest import SubsSetup
from tests.subscriptions.wsclient import WsClient

pytestmark = pytest.mark.e2e

QUERY = "{ orders(first: 10) { nodes { subaccount { name } } } }"  # cost 1 + 10 x 1 = 11


async def test_each_operation_over_one_socket_is_checked_alone(subs: SubsSetup) -> None:
    gateway = subs.start(security=SecuritySettings(clients_file=subs.clients_file, max_cost=25))
    headers = {"authorization": f"Bearer {subs.token('reader')}"}
    async with WsClient.connect(gateway.ws_url, headers) as client:
        await client.acknowledged()
        for n in range(4):  # 44 points in all, more than the maximum of 25: fine for separate operations
            await client.send({"id": f"q{n}", "type": "subscribe", "payload": {"query": QUERY}})
            message = await client.receive()
            assert message["type"] == "next" and "errors" not in message["payload"], message
            assert (await client.receive())["type"] == "complete"
