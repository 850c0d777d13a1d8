"""orderUpdates over real WebSockets (graphql-transport-ws) against real uvicorn servers."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from gateway.ids import from_global_id, to_global_id
from gateway.security.settings import SecuritySettings
from tests.security.conftest import UPSTREAM_KEY
from tests.subscriptions.conftest import SubsSetup
from tests.subscriptions.wsclient import WsClient, summary

pytestmark = pytest.mark.e2e


def bearer(subs: SubsSetup, name: str) -> dict[str, str]:
    return {"authorization": f"Bearer {subs.token(name)}"}


async def test_an_order_placed_is_heard_placed_then_fulfilled(subs: SubsSetup) -> None:
    gateway = subs.start()
    async with WsClient.connect(gateway.ws_url, bearer(subs, "writer")) as client:
        await client.acknowledged()
        await client.subscribe("all")
        await asyncio.sleep(0.2)  # the newest page (first events) may be empty or not: skip what was there
        order_id = await gateway.place(subs.token("writer"))
        states = []
        while len(states) < 2:
            update = await client.update("all")
            if update["order"]["id"] == order_id:
                states.append(summary(update))
    assert states == [(order_id, "PLACED", None), (order_id, "FULFILLED", "PLACED")]


async def test_a_late_subscriber_gets_the_current_state_first(subs: SubsSetup) -> None:
    gateway = subs.start()
    order_id = await gateway.place(subs.token("writer"))
    upstream_id = from_global_id(order_id)[1]
    async with httpx.AsyncClient(base_url=subs.sandbox_url, headers=_upstream()) as sandbox:
        (await sandbox.post(f"/_sandbox/orders/{upstream_id}/fulfil")).raise_for_status()
    async with WsClient.connect(
        gateway.ws_url, {"Authorization": f"Bearer {subs.token('reader')}"}
    ) as client:
        await client.acknowledged()
        await client.subscribe("one", ids=[order_id])
        assert summary(await client.update("one")) == (order_id, "FULFILLED", None)


async def test_credentials_may_be_nested_in_headers_or_come_with_the_upgrade(subs: SubsSetup) -> None:
    gateway = subs.start()
    nested = {"headers": {"Authorization": f"Bearer {subs.token('reader')}"}}
    async with WsClient.connect(gateway.ws_url, nested) as client:
        await client.acknowledged()
    upgrade = {"additional_headers": bearer(subs, "reader")}
    async with WsClient.connect(gateway.ws_url, {}, **upgrade) as client:
        await client.acknowledged()


@pytest.mark.parametrize(
    ("payload", "code"),
    [({}, 4401), ({"authorization": "Bearer tok_wrong"}, 4401), ({"authorization": "Basic x"}, 4401)],
)
async def test_a_connection_without_a_good_credential_is_closed_and_runs_nothing(
    subs: SubsSetup, payload: dict[str, str], code: int
) -> None:
    gateway = subs.start()
    subs.request_log.clear()
    async with WsClient.connect(gateway.ws_url, payload) as client:
        await client.subscribe("x")
        assert await client.closed() == code
    assert subs.request_log.entries == [], "nothing may reach the upstream"


async def test_subscribing_before_connection_init_or_never_sending_it_closes(subs: SubsSetup) -> None:
    gateway = subs.start(subscription_init_timeout=0.3)
    async with WsClient.connect(gateway.ws_url, init=False) as client:
        await client.subscribe("x")
        assert await client.closed() == 4401
    async with WsClient.connect(gateway.ws_url, init=False) as client:
        assert await client.closed() == 4408


async def test_a_bound_subscriber_never_hears_another_subaccounts_orders(subs: SubsSetup) -> None:
    gateway = subs.start()
    async with WsClient.connect(gateway.ws_url, bearer(subs, "bound_reader")) as client:
        await client.acknowledged()
        await client.subscribe("mine")
        await asyncio.sleep(0.2)
        theirs = await gateway.place(subs.token("writer"), subaccount=_global_sub(subs.sub_b))
        mine = await gateway.place(subs.token("writer"), subaccount=_global_sub(subs.sub_a))
        heard = set()
        while (mine, "FULFILLED") not in heard:
            update = await client.update("mine")
            heard.add((update["order"]["id"], update["order"]["state"]))
            assert update["order"]["subaccount"]["name"] == "Tenant A"
        assert theirs not in {order_id for order_id, _ in heard}
        # Naming the other tenant is refused before anything runs, like a subaccount that does not exist.
        await client.subscribe("theirs", sub=_global_sub(subs.sub_b))
        message = await client.receive()
        assert message["id"] == "theirs"
        errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
        assert errors[0]["extensions"]["code"] == "NOT_FOUND"


async def test_a_forged_callback_changes_nothing(subs: SubsSetup) -> None:
    gateway = subs.start()
    order_id = await gateway.place(subs.token("writer"))
    upstream_id = from_global_id(order_id)[1]
    genuine = await _order_callback(gateway.url, order_id, subs)
    assert genuine is not None and genuine.startswith(f"{gateway.url}/webhooks/orders/")
    token = genuine.rsplit("/", 1)[1]
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    async with httpx.AsyncClient(base_url=gateway.url) as http:
        for bad in ("not-a-token", forged, token.split(".")[0]):
            response = await http.post(f"/webhooks/orders/{bad}", json={"order": {"id": upstream_id}})
            assert response.status_code == 404, bad
    async with WsClient.connect(gateway.ws_url, bearer(subs, "writer")) as client:
        await client.acknowledged()
        await client.subscribe("one", ids=[order_id])
        updates = [summary(await client.update("one"))]
        # A genuine token with a body that lies: the order is re-read upstream, which says otherwise.
        async with httpx.AsyncClient() as http:
            lie = {"order": {"id": upstream_id, "state": "cancelled"}}
            assert (await http.post(genuine, json=lie)).status_code == 200
        if updates[0][1] == "PLACED":
            updates.append(summary(await client.update("one")))
        await _cancel(gateway.url, order_id, subs)
        updates.append(summary(await client.update("one")))
    # The only CANCELLED is the genuine one, and it follows FULFILLED: the lie announced nothing.
    assert updates[-2:] == [
        (order_id, "FULFILLED", "PLACED" if len(updates) == 3 else None),
        (order_id, "CANCELLED", "FULFILLED"),
    ]


async def _cancel(url: str, order_id: str, subs: SubsSetup) -> None:
    query = "mutation($id: ID!) { cancelOrder(input: {id: $id}) { order { state } userErrors { code } } }"
    async with httpx.AsyncClient(base_url=url) as http:
        body = {"query": query, "variables": {"id": order_id}}
        response = await http.post("/graphql", json=body, headers=bearer(subs, "writer"))
    assert response.json()["data"]["cancelOrder"]["order"]["state"] == "CANCELLED", response.text


async def test_polling_keeps_subscribers_current_without_callbacks(subs: SubsSetup) -> None:
    gateway = subs.start(callbacks=False, subscription_poll_interval=0.2)
    order_id = await gateway.place(subs.token("writer"))
    async with WsClient.connect(gateway.ws_url, bearer(subs, "reader")) as client:
        await client.acknowledged()
        await client.subscribe("one", ids=[order_id])
        updates = [summary(await client.update("one"))]
        if updates[0][1] == "PLACED":
            updates.append(summary(await client.update("one")))
    assert updates[-1][:2] == (order_id, "FULFILLED")
    callback = await _order_callback(gateway.url, order_id, subs)
    assert callback is None, "without a public URL the gateway gives the upstream no callback"


async def test_limits_refuse_with_a_coded_protocol_error(subs: SubsSetup) -> None:
    gateway = subs.start(subscription_max_per_connection=1)
    order_id = await gateway.place(subs.token("writer"))
    async with WsClient.connect(gateway.ws_url, bearer(subs, "reader")) as client:
        await client.acknowledged()
        await client.subscribe("a", ids=[order_id])
        await client.update("a")
        await client.subscribe("b", ids=[order_id])
        message = await client.receive()
        assert (message["id"], message["type"]) == ("b", "error")
        assert message["payload"][0]["extensions"]["code"] == "SUBSCRIPTION_LIMIT_EXCEEDED"
    async with WsClient.connect(gateway.ws_url, bearer(subs, "reader"), max_size=2**20) as client:
        await client.acknowledged()
        await client.send({"type": "ping", "payload": {"pad": "x" * 70_000}})
        assert await client.closed() == 1009


async def test_metrics_count_connections_subscriptions_and_events(subs: SubsSetup) -> None:
    gateway = subs.start()
    order_id = await gateway.place(subs.token("writer"))
    async with WsClient.connect(gateway.ws_url, bearer(subs, "reader")) as client:
        await client.acknowledged()
        await client.subscribe("one", ids=[order_id])
        await client.update("one")
        async with httpx.AsyncClient(base_url=gateway.url) as http:
            text = (await http.get("/metrics")).text
    assert "gateway_subscription_connections 1.0" in text
    assert "gateway_subscriptions 1.0" in text
    assert 'gateway_subscription_events_total{kind="delivered"}' in text


_CALLBACK = "query($id: ID!) { order(id: $id) { callbackUrl } }"


async def _order_callback(url: str, order_id: str, subs: SubsSetup) -> str | None:
    async with httpx.AsyncClient(base_url=url) as http:
        body = {"query": _CALLBACK, "variables": {"id": order_id}}
        response = await http.post("/graphql", json=body, headers=bearer(subs, "reader"))
    value: str | None = response.json()["data"]["order"]["callbackUrl"]
    return value


def _global_sub(upstream_id: str) -> str:
    return to_global_id("Subaccount", upstream_id)


def _upstream() -> dict[str, str]:
    return {"authorization": f"Bearer {UPSTREAM_KEY}"}


async def test_a_subscription_over_plain_http_is_refused_with_a_clear_code(subs: SubsSetup) -> None:
    gateway = subs.start()
    async with httpx.AsyncClient(base_url=gateway.url) as http:
        body = {"query": "subscription { orderUpdates { order { id } } }"}
        headers = {**bearer(subs, "reader"), "accept": "application/graphql-response+json"}
        response = await http.post("/graphql", json=body, headers=headers)
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_in_pass_through_mode_a_subscriber_hears_only_its_own_keys_orders(subs: SubsSetup) -> None:
    # Callers bring their own upstream keys (the sandbox gives each key its own account); the callback's
    # re-read uses the subscriber's key, and another key's orders are another partition.
    gateway = subs.start(upstream_api_key=None, security=SecuritySettings())
    mine, theirs = "sk_test_pass_through_mine", "sk_test_pass_through_theirs"
    async with WsClient.connect(gateway.ws_url, {"authorization": f"Bearer {mine}"}) as client:
        await client.acknowledged()
        await client.subscribe("all")
        await asyncio.sleep(0.2)
        other = await gateway.place(theirs)
        order_id = await gateway.place(mine)
        heard = [summary(await client.update("all")) for _ in range(2)]
    assert heard == [(order_id, "PLACED", None), (order_id, "FULFILLED", "PLACED")]
    assert other not in {found for found, _, _ in heard}
