"""Accounts, API keys and subaccount scoping.

``Authorization: Bearer <key>``; a missing, malformed or unknown key is a 401 problem. Each key is its own
isolated account: with ``api_keys`` configured only those keys are accepted, otherwise any non-empty key is
(as the former official sandbox gave every user their own). Accounts are created on first use and keyed by
a SHA-256 digest of the key, so the key itself is never stored.

``X-Subaccount-Id`` scopes the endpoints the reference says it scopes; naming a subaccount that does not
exist or belongs to another account is 400 ``invalid-subaccount``. [?] An empty header is treated as absent.
With ``subaccounts_enabled`` off, any use of subaccounts is 403 ``forbidden`` with the documented message.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from sandbox import clock, seed
from sandbox.problems import forbidden, invalid_subaccount, unauthorized
from sandbox.store import Document, Store

ACCOUNTS = "accounts"
SUBACCOUNTS = "subaccounts"
SUBACCOUNTS_FORBIDDEN = "User is not allowed to use subaccounts. Contact support to request access."


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling: the account, and the subaccount ``X-Subaccount-Id`` scoped the call to."""

    account: Document
    subaccount: Document | None

    @property
    def account_id(self) -> str:
        """The account's id."""
        account_id: str = self.account["id"]
        return account_id

    @property
    def subaccount_id(self) -> str | None:
        """The scoping subaccount's id, if any."""
        return None if self.subaccount is None else str(self.subaccount["subaccount"]["id"])

    def default_portfolio_id(self) -> str:
        """The subaccount's default portfolio, else the account's."""
        if self.subaccount is not None and self.subaccount["subaccount"]["default_portfolio_id"]:
            return str(self.subaccount["subaccount"]["default_portfolio_id"])
        return str(self.account["default_portfolio_id"])


class Accounts:
    """Resolves API keys to accounts and subaccount headers to subaccounts."""

    def __init__(self, store: Store, api_keys: list[str], *, subaccounts_enabled: bool = True) -> None:
        self._store = store
        self._allowed = {k for k in api_keys if k} or None
        self._by_header: dict[str, Document] = {}
        self.subaccounts_enabled = subaccounts_enabled

    def authenticate(self, request: Request) -> Document:
        """The caller's account, or a 401 problem."""
        header = request.headers.get("authorization", "")
        cached = self._by_header.get(header)  # the hot path: one dict lookup per request
        if cached is not None:
            return cached
        scheme, _, key = header.partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key or (self._allowed is not None and key not in self._allowed):
            raise unauthorized()
        account = self._account_for(key)
        self._by_header[header] = account
        return account

    def _account_for(self, key: str) -> Document:
        account_id = "acct_" + hashlib.sha256(key.encode()).hexdigest()[:24]
        account = self._store.get(ACCOUNTS, account_id)
        if account is None:
            account = new_account(account_id)
            self._store.put(ACCOUNTS, account_id, account)
        return account

    def caller(self, request: Request) -> Caller:
        """Authenticate and apply ``X-Subaccount-Id``."""
        account = self.authenticate(request)
        subaccount_id = request.headers.get("x-subaccount-id", "").strip()
        if not subaccount_id:
            return Caller(account, None)
        self.require_subaccounts()
        return Caller(account, self.subaccount_of(account, subaccount_id))

    def subaccount_of(self, account: Document, subaccount_id: str) -> Document:
        """The account's subaccount `subaccount_id`, or 400 ``invalid-subaccount``."""
        doc = self._store.get(SUBACCOUNTS, subaccount_id)
        if doc is None or doc["account_id"] != account["id"]:
            raise invalid_subaccount(subaccount_id)
        return doc

    def require_subaccounts(self) -> None:
        """403 unless the account may use subaccounts."""
        if not self.subaccounts_enabled:
            raise forbidden(SUBACCOUNTS_FORBIDDEN)


def new_account(account_id: str) -> dict[str, Any]:
    """A fresh sandbox account."""
    return {
        "id": account_id,
        "name": "Sandbox Account",
        "created_on": clock.format_ts(clock.now()),
        "default_portfolio_id": seed.DEFAULT_PORTFOLIO_ID,
    }
