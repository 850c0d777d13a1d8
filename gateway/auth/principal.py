"""Who is calling: the authenticated principal and the scopes it may hold."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

READ = "read"
ORDERS_WRITE = "orders:write"
SUBACCOUNTS_WRITE = "subaccounts:write"
ADMIN = "admin"

ALL_SCOPES: frozenset[str] = frozenset({READ, ORDERS_WRITE, SUBACCOUNTS_WRITE, ADMIN})


@dataclass(frozen=True)
class Principal:
    """An authenticated caller.

    name: a label for logs and rate-limit keys (never a secret).
    scopes: what the caller may do (see the scope constants of this module).
    subaccount_id: when set, the caller sees only this subaccount, every upstream call that takes
        `X-Subaccount-Id` carries it, and the others name it to `GatewayContext.call_options` to be checked.
    api_key: the caller's own upstream key in pass-through mode; None when the gateway's key is used.
    """

    name: str
    scopes: frozenset[str]
    subaccount_id: str | None = None
    api_key: str | None = field(default=None, repr=False)

    def has_scope(self, scope: str) -> bool:
        """True when the principal holds `scope` (or `admin`, which implies every scope)."""
        return scope in self.scopes or ADMIN in self.scopes

    @property
    def is_bound(self) -> bool:
        """True when the principal is confined to one subaccount."""
        return self.subaccount_id is not None

    @property
    def idempotency_namespace(self) -> str | None:
        """Who owns this caller's idempotency keys upstream: its credential and binding.

        Callers of the gateway's own upstream key share one upstream account, so their keys are confined to
        this namespace before they go upstream (`gateway.backend._http.upstream_idempotency_key`). None in
        pass-through mode, where the caller's own key already is its own account upstream. A JWT without
        `sub` is named `jwt:anonymous`: such tokens share one namespace per binding.
        """
        if self.api_key is not None:
            return None
        return json.dumps([self.name, self.subaccount_id])


def sandbox_principal() -> Principal:
    """The open principal of sandbox mode: every scope, no bound subaccount."""
    return Principal(name="sandbox", scopes=ALL_SCOPES)


def pass_through_principal(api_key: str) -> Principal:
    """A caller bringing its own upstream key; the upstream decides what it may do."""
    return Principal(name="pass-through", scopes=ALL_SCOPES, api_key=api_key)
