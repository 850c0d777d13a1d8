"""What travels between replicas: events (a state the upstream confirmed) and hints (a callback said so)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from gateway.backend import models

#: Order states in the only order they can follow each other (a cancelled order never becomes fulfilled),
#: so "newer" is "higher rank" and a subscriber never goes back.
STATE_RANK = {"placed": 0, "fulfilled": 1, "cancelled": 2}


def rank(state: str) -> int:
    """The position of `state` in an order's life; unknown states rank last."""
    return STATE_RANK.get(state, len(STATE_RANK))


@dataclass(frozen=True)
class OrderEvent:
    """An order as the upstream answered it, read with the key whose fingerprint is `partition`."""

    partition: str
    order: dict[str, Any]

    @classmethod
    def of(cls, partition: str, order: models.Order) -> OrderEvent:
        return cls(partition, order.model_dump(mode="json"))

    @property
    def order_id(self) -> str:
        return str(self.order["id"])

    @property
    def state(self) -> str:
        return str(self.order["state"])

    @property
    def subaccount_id(self) -> str | None:
        value = self.order.get("subaccount_id")
        return None if value is None else str(value)

    def model(self) -> models.Order:
        """The order as the backend model (validated again: it may come from another process)."""
        return models.Order.model_validate(self.order)


@dataclass(frozen=True)
class Hint:
    """A callback claimed `order_id` changed; whoever can read it with `partition`'s key checks."""

    id: str
    partition: str
    subaccount_id: str | None
    order_id: str


def encode(message: OrderEvent | Hint) -> bytes:
    """One broker message."""
    if isinstance(message, OrderEvent):
        return orjson.dumps({"kind": "event", "partition": message.partition, "order": message.order})
    return orjson.dumps(
        {
            "kind": "hint",
            "id": message.id,
            "partition": message.partition,
            "subaccount_id": message.subaccount_id,
            "order_id": message.order_id,
        }
    )


def decode(raw: bytes) -> OrderEvent | Hint | None:
    """The message in `raw`; None for anything malformed (another version, garbage on the channel)."""
    try:
        data = orjson.loads(raw)
        if data["kind"] == "event":
            return OrderEvent(str(data["partition"]), dict(data["order"]))
        if data["kind"] == "hint":
            sub = data["subaccount_id"]
            return Hint(str(data["id"]), str(data["partition"]), sub and str(sub), str(data["order_id"]))
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        pass
    return None
