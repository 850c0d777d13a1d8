"""Orders: creation, lookup within the caller's scope, listing and state transitions.

An order is stored as ``{"account_id", "portfolio_id", "order": <the public Order JSON>}`` so the hot path
renders ``doc["order"]`` without building anything. Certificate URLs are set from the start and become
null on cancellation ("null if the order state is cancelled"). Every state change goes to the
``on_change`` hook (the callback notifier).

Choices where the reference says [?]:
- Without ``X-Subaccount-Id`` the account sees (lists, gets, cancels) its own orders *and* its subaccounts';
  with it, only that subaccount's.
- Cancelling an already cancelled order is 403 ``forbidden`` (the user's copy of the docs lists
  "403 Forbidden Due to Order Already Cancelled"). A fulfilled order keeps its ``project_allocations`` when
  cancelled (the retirement happened), only its certificate URLs become null.
- An unknown ``portfolio_id`` is 403 ``forbidden`` ("Requested Portfolio not Available for the User").
- Orders carry no ``portfolio_id`` field (the reference's Order shape has none); ride orders have the
  generic shape (the legacy ``type`` / ``distance_km`` fields are not emitted).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sandbox import clock, ids
from sandbox.accounts import Caller
from sandbox.catalogue import Catalogue
from sandbox.problems import forbidden, not_found
from sandbox.store import Document, Store

ORDERS = "orders"
CERTIFICATE_URL = "https://registry.cnaught.com/orders/{id}"
CERTIFICATE_PDF_URL = "https://registry.cnaught.com/api/certificates/{id}/pdf"


@dataclass(frozen=True, slots=True)
class NewOrder:
    """What an order is created from (after validation and pricing)."""

    amount_kg: float
    price_usd_cents: int
    portfolio_id: str
    description: str | None = None
    metadata: str | None = None
    callback_url: str | None = None
    checkout_session_id: str | None = None


def number(value: float) -> float:
    """`value` as an int when it is whole, so JSON shows ``10`` rather than ``10.0``."""
    return int(value) if float(value).is_integer() else value


def resolve_portfolio(catalogue: Catalogue, caller: Caller, portfolio_id: str | None) -> str:
    """The portfolio an order is fulfilled from, or 403 when it is not available."""
    chosen = portfolio_id or caller.default_portfolio_id()
    if not catalogue.has_portfolio(chosen):
        raise forbidden(f"Requested portfolio {chosen!r} is not available for the user")
    return chosen


class Orders:
    """The orders of every account."""

    def __init__(self, store: Store, on_change: Callable[[Document], None]) -> None:
        self._store = store
        self._on_change = on_change

    def create(self, caller: Caller, new: NewOrder) -> Document:
        """Place an order (state ``placed``)."""
        order_id = ids.order_id()
        doc = {
            "account_id": caller.account_id,
            "portfolio_id": new.portfolio_id,
            "order": _public_order(order_id, caller.subaccount_id, new),
        }
        self._store.put(ORDERS, order_id, doc, owner=caller.account_id)
        return doc

    def get(self, order_id: str) -> Document | None:
        """Any account's order, unscoped (for the fulfilment worker)."""
        return self._store.get(ORDERS, order_id)

    def find(self, caller: Caller, order_id: str) -> Document:
        """The caller's order `order_id` (within its subaccount scope), or 404."""
        doc = self._store.get(ORDERS, order_id)
        if doc is None or doc["account_id"] != caller.account_id or not _in_scope(doc, caller):
            raise not_found("order")
        return doc

    def newest_first(self, caller: Caller) -> list[Document]:
        """The caller's orders in list order."""
        docs = self._store.owned(ORDERS, caller.account_id)
        return [d for d in reversed(docs) if _in_scope(d, caller)]

    def placed(self) -> list[Document]:
        """Every order still waiting for fulfilment."""
        return [d for d in self._store.values(ORDERS) if d["order"]["state"] == "placed"]

    def cancel(self, doc: Document) -> Document:
        """Cancel an order (placed or fulfilled); 403 when it already is."""
        order = doc["order"]
        if order["state"] == "cancelled":
            raise forbidden("Order is already cancelled")
        order.update(state="cancelled", certificate_public_url=None, certificate_download_public_url=None)
        self._changed(doc)
        return doc

    def fulfil(self, doc: Document, allocations: list[dict[str, Any]]) -> Document:
        """Record the credits retired for an order and mark it ``fulfilled``."""
        doc["order"].update(state="fulfilled", project_allocations=allocations)
        self._changed(doc)
        return doc

    def _changed(self, doc: Document) -> None:
        self._store.put(ORDERS, doc["order"]["id"], doc, owner=doc["account_id"])
        self._on_change(doc["order"])


def _in_scope(doc: Document, caller: Caller) -> bool:
    return caller.subaccount is None or doc["order"]["subaccount_id"] == caller.subaccount_id


def _public_order(order_id: str, subaccount_id: str | None, new: NewOrder) -> dict[str, Any]:
    return {
        "id": order_id,
        "order_number": ids.order_number(order_id),
        "created_on": clock.format_ts(clock.now()),
        "metadata": new.metadata,
        "description": new.description,
        "amount_kg": number(new.amount_kg),
        "state": "placed",
        "price_usd_cents": new.price_usd_cents,
        "callback_url": new.callback_url,
        "certificate_public_url": CERTIFICATE_URL.format(id=order_id),
        "certificate_download_public_url": CERTIFICATE_PDF_URL.format(id=order_id),
        "subaccount_id": subaccount_id,
        "project_allocations": [],
        "checkout_session_id": new.checkout_session_id,
    }
