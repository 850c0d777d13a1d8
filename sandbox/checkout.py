"""Checkout sessions: a hosted payment page for one purchase; completing one creates its order.

States: ``open`` until completed (``complete``) or 24 hours after creation (``expired``, applied when the
session is read). The sandbox has no payment page; ``POST /_sandbox/checkout/sessions/{id}/complete`` plays
the buyer paying. Rules: ``success_url`` and ``cancel_url`` must be absolute https URLs (``success_url`` may
contain the literal ``{CHECKOUT_SESSION_ID}``), and the total at the checkout price must be at least 50 cents.

Choices where the reference says [?]: an unknown ``portfolio_id`` is 403 ``forbidden`` as for orders;
completing a session that is not ``open`` is 403 ``forbidden``; the order gets the session's
``order_description`` and ``order_webhook_url`` (as ``callback_url``) and is fulfilled like any other.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from sandbox import clock, emissions, ids
from sandbox.accounts import Caller
from sandbox.bodies import CheckoutSessionBody
from sandbox.catalogue import Catalogue
from sandbox.orders import NewOrder, number, resolve_portfolio
from sandbox.problems import forbidden, invalid_parameters, not_found
from sandbox.store import Document, Store

SESSIONS = "checkout_sessions"
CHECKOUT_URL = "https://checkout.cnaught.com/pay/{id}"
LIFETIME = timedelta(hours=24)
MIN_TOTAL_CENTS = 50


def check_urls(body: CheckoutSessionBody) -> None:
    """400 unless both redirect URLs are absolute https URLs."""
    errors = {
        field: ["The URL must be an absolute https URL."]
        for field in ("success_url", "cancel_url")
        if not _absolute_https(getattr(body, field))
    }
    if errors:
        raise invalid_parameters(errors)


def _absolute_https(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme == "https" and bool(parts.netloc)


class CheckoutSessions:
    """The checkout sessions of every account."""

    def __init__(self, store: Store, catalogue: Catalogue) -> None:
        self._store = store
        self._catalogue = catalogue

    def create(self, caller: Caller, body: CheckoutSessionBody) -> Document:
        """A new ``open`` session."""
        check_urls(body)
        portfolio_id = resolve_portfolio(self._catalogue, caller, body.portfolio_id)
        price = emissions.price_cents(body.amount_kg, self._catalogue.price_per_kg(portfolio_id, "checkout"))
        if price < MIN_TOTAL_CENTS:
            raise invalid_parameters({"amount_kg": ["The total price must be at least $0.50."]})
        session_id = ids.checkout_session_id()
        doc = {
            "account_id": caller.account_id,
            "session": _public(session_id, caller, body, portfolio_id, price),
        }
        self._store.put(SESSIONS, session_id, doc, owner=caller.account_id)
        return doc

    def find(self, account_id: str, session_id: str) -> Document:
        """The account's session (with expiry applied), or 404."""
        doc = self._store.get(SESSIONS, session_id)
        if doc is None or doc["account_id"] != account_id:
            raise not_found("checkout session")
        session = doc["session"]
        if session["state"] == "open" and clock.parse_ts(session["expires_on"]) <= clock.now():
            session["state"] = "expired"
            self._store.put(SESSIONS, session_id, doc, owner=account_id)
        return doc

    def complete(self, doc: Document) -> NewOrder:
        """Mark an open session ``complete`` and say what order it buys."""
        session = doc["session"]
        if session["state"] != "open":
            raise forbidden(f"Checkout session is {session['state']}, not open")
        session.update(state="complete", completed_on=clock.format_ts(clock.now()))
        self._store.put(SESSIONS, session["id"], doc, owner=doc["account_id"])
        return NewOrder(
            amount_kg=session["amount_kg"],
            price_usd_cents=session["price_usd_cents"],
            portfolio_id=session["portfolio_id"],
            description=session["order_description"],
            callback_url=session["order_webhook_url"],
            checkout_session_id=session["id"],
        )


def legacy_view(session: Document) -> Document:
    """A session as the pre-2024-05 paths showed it: ``status`` where ``state`` is now."""
    view = {name: value for name, value in session.items() if name != "state"}
    view["status"] = session["state"]
    return view


def _public(
    session_id: str, caller: Caller, body: CheckoutSessionBody, portfolio_id: str, price: int
) -> dict[str, Any]:
    created = clock.now()
    return {
        "id": session_id,
        "amount_kg": number(body.amount_kg),
        "price_usd_cents": price,
        "success_url": body.success_url,
        "cancel_url": body.cancel_url,
        "checkout_url": CHECKOUT_URL.format(id=session_id),
        "state": "open",
        "created_on": clock.format_ts(created),
        "expires_on": clock.format_ts(created + LIFETIME),
        "completed_on": None,
        "portfolio_id": portfolio_id,
        "subaccount_id": caller.subaccount_id,
        "order_description": body.description,
        "order_webhook_url": body.notification_config.url if body.notification_config else None,
    }
