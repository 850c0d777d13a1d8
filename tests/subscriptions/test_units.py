"""The parts of `gateway.subscriptions` on their own: poller, tokens, subscriber queues, broker claims."""

from __future__ import annotations

from typing import Any

import httpx

from gateway.auth.principal import READ
from gateway.auth.scopes import required_scope
from gateway.backend import OffsetsClient, RetryPolicy, models
from gateway.subscriptions.broker import MemoryBroker
from gateway.subscriptions.events import OrderEvent, decode, encode
from gateway.subscriptions.hub import Signal, Subscription, Watch
from gateway.subscriptions.poller import Poller
from gateway.subscriptions.tokens import CallbackTokens

BASE = "https://api.example.test/v1"


def order(order_id: str, state: str = "placed", subaccount: str | None = None) -> dict[str, Any]:
    return {
        "id": order_id,
        "order_number": "1-2-3",
        "created_on": "2026-11-29T00:00:00Z",
        "amount_kg": 1,
        "state": state,
        "price_usd_cents": 2,
        "subaccount_id": subaccount,
    }


async def test_the_poller_reads_each_watched_set_once_however_many_subscribers_share_it() -> None:
    requests: list[str] = []

    def upstream(request: httpx.Request) -> httpx.Response:
        requests.append(f"{request.method} {request.url.path}")
        if request.url.path.endswith("/orders"):
            return httpx.Response(200, json={"data": [order("newest")]})
        return httpx.Response(200, json=order(request.url.path.rsplit("/", 1)[1]))

    seen: list[tuple[str, str]] = []

    async def observe(partition: str, found: models.Order) -> None:
        seen.append((partition, found.id))

    async with httpx.AsyncClient(transport=httpx.MockTransport(upstream)) as http:
        client = OffsetsClient(http, base_url=BASE, api_key="sk", retry=RetryPolicy(max_attempts=1))
        poller = Poller(client, MemoryBroker(), observe, interval=60, page_size=20)
        for _ in range(3):  # three subscribers of the same two orders, two of the whole list
            poller.add(Watch("p1", None, frozenset({"a", "newest"})), None)
        for _ in range(2):
            poller.add(Watch("p1", None, None), None)
        await poller.poll_once()
        assert sorted(requests) == ["GET /v1/orders", "GET /v1/orders/a"]
        assert sorted(seen) == [("p1", "a"), ("p1", "newest")]
        await poller.poll_once()  # the same round again within the interval: claimed, nothing read
        assert len(requests) == 2


def test_only_tokens_the_gateway_issued_are_accepted() -> None:
    tokens = CallbackTokens(b"s" * 32)
    token = tokens.issue("partition-1", "sub-a")
    assert tokens.verify(token) == ("partition-1", "sub-a")
    payload, mac = token.split(".")
    other = CallbackTokens(b"s" * 32).issue("partition-1", "sub-b").split(".")[0]
    assert tokens.verify(f"{other}.{mac}") is None  # another subaccount under the same MAC
    assert tokens.verify(payload) is None
    assert CallbackTokens(b"t" * 32).verify(token) is None  # another secret


def test_a_subscriber_hears_each_state_once_and_only_forward() -> None:
    subscription = Subscription(Watch("p", None, None), credential="c", connection=None, queue_size=10)
    assert subscription.tell("o1", "placed") == (True, None)
    assert subscription.tell("o1", "placed") == (False, "placed")
    assert subscription.tell("o1", "fulfilled") == (True, "placed")
    assert subscription.tell("o1", "placed") == (False, "fulfilled")  # a stale read arriving late
    assert subscription.tell("o1", "cancelled") == (True, "fulfilled")


async def test_a_slow_subscriber_is_ended_with_overflow_not_grown() -> None:
    subscription = Subscription(Watch("p", None, None), credential="c", connection=None, queue_size=2)
    for number in range(5):
        subscription.offer(OrderEvent("p", order(f"o{number}")))
    received = [await subscription.next() for _ in range(3)]
    assert [item.order_id for item in received[:2] if isinstance(item, OrderEvent)] == ["o0", "o1"]
    assert received[2] is Signal.OVERFLOW


def test_watches_keep_partitions_and_subaccounts_apart() -> None:
    event = OrderEvent("p", order("o1", subaccount="A"))
    assert Watch("p", None, None).matches(event)  # the account sees its subaccounts' orders
    assert Watch("p", "A", frozenset({"o1"})).matches(event)
    assert not Watch("p", "B", None).matches(event)
    assert not Watch("q", None, None).matches(event)  # another upstream key
    assert not Watch("p", None, frozenset({"o2"})).matches(event)


async def test_memory_claims_are_won_once() -> None:
    broker = MemoryBroker()
    assert await broker.claim("k", 60)
    assert not await broker.claim("k", 60)
    assert await broker.claim("other", 60)


def test_broker_messages_round_trip_and_garbage_is_ignored() -> None:
    event = OrderEvent("p", order("o1"))
    assert decode(encode(event)) == event
    assert decode(b"not json") is None
    assert decode(b'{"kind": "event"}') is None


def test_the_subscription_root_needs_the_read_scope() -> None:
    assert required_scope("subscription", "orderUpdates") == READ


def test_a_subscription_remembers_a_bounded_number_of_orders(monkeypatch: Any) -> None:
    monkeypatch.setattr("gateway.subscriptions.hub.MAX_REMEMBERED", 2)
    subscription = Subscription(Watch("p", None, None), credential="c", connection=None, queue_size=10)
    for order_id in ("o1", "o2", "o3"):
        subscription.tell(order_id, "placed")
    assert subscription.tell("o3", "placed") == (False, "placed")
    assert subscription.tell("o1", "placed") == (True, None)  # forgotten: reported as new
