"""Which scope each root field needs, and the tenant rules for subaccount-bound credentials: ONE table.

Every root field of the schema must have an entry (a test walks the schema's root fields and fails on a
new field without one); a field missing at run time needs `admin`, so forgetting a rule fails closed.
"""

from __future__ import annotations

from collections.abc import Iterable

from gateway.auth.errors import PermissionDeniedError
from gateway.auth.principal import ADMIN, ORDERS_WRITE, READ, SUBACCOUNTS_WRITE, Principal

QUERY_SCOPES: dict[str, str] = {
    name: READ
    for name in (
        "order",
        "orders",
        "subaccount",
        "subaccounts",
        "portfolio",
        "portfolios",
        "project",
        "projectCategory",
        "quote",
        "impact",
        "hostedImpactPage",
        "checkoutSession",
        "node",
        "nodes",
        "_entities",  # federation subgraph mode (gateway.federation): objects by key, like `nodes`
        "_service",  # federation subgraph mode: the SDL a router composes
    )
}

MUTATION_SCOPES: dict[str, str] = {
    "placeOrder": ORDERS_WRITE,
    "placeRideOrder": ORDERS_WRITE,
    "cancelOrder": ORDERS_WRITE,
    "createCheckoutSession": ORDERS_WRITE,
    "createSubaccount": SUBACCOUNTS_WRITE,
    "updateSubaccount": SUBACCOUNTS_WRITE,
    "deleteSubaccount": SUBACCOUNTS_WRITE,
    "setSubaccountLogo": SUBACCOUNTS_WRITE,
    "removeSubaccountLogo": SUBACCOUNTS_WRITE,
    "recordProductOffsets": ORDERS_WRITE,
    "offsetProductBatch": ORDERS_WRITE,
}

SUBSCRIPTION_SCOPES: dict[str, str] = {"orderUpdates": READ}

ROOT_SCOPES: dict[str, dict[str, str]] = {
    "query": QUERY_SCOPES,
    "mutation": MUTATION_SCOPES,
    "subscription": SUBSCRIPTION_SCOPES,
}

#: Root fields a credential bound to one subaccount may never use, whatever its scopes: creating a
#: subaccount would step outside its tenant.
BOUND_FORBIDDEN: frozenset[tuple[str, str]] = frozenset({("mutation", "createSubaccount")})


#: Root arguments naming a subaccount by its own id, checked against a bound credential's subaccount (any
#: argument or input field called `subaccountId` is checked too). `node`/`nodes` ids are checked when they
#: are global ids of a Subaccount.
SUBACCOUNT_TARGETS: dict[tuple[str, str], tuple[str, ...]] = {
    ("query", "subaccount"): ("id",),
    ("query", "node"): ("id",),
    ("query", "nodes"): ("ids",),
    ("mutation", "updateSubaccount"): ("input", "id"),
    ("mutation", "deleteSubaccount"): ("input", "id"),
    ("mutation", "setSubaccountLogo"): ("input", "id"),
    ("mutation", "removeSubaccountLogo"): ("input", "id"),
}


def required_scope(operation: str, field: str) -> str:
    """The scope a root field needs; `admin` for a field with no rule (fail closed)."""
    if field.startswith("__"):
        return READ  # introspection; switched off separately outside sandbox mode
    return ROOT_SCOPES.get(operation, {}).get(field, ADMIN)


def has_rule(operation: str, field: str) -> bool:
    """True when the table names the field (used by the test that every root field has a rule)."""
    return field in ROOT_SCOPES.get(operation, {})


def authorize(principal: Principal, operation: str, fields: Iterable[str]) -> None:
    """Raise PermissionDeniedError unless `principal` may use every root field of the operation."""
    for field in fields:
        scope = required_scope(operation, field)
        if not principal.has_scope(scope):
            raise PermissionDeniedError(f"`{field}` needs the `{scope}` scope")
        if principal.is_bound and (operation, field) in BOUND_FORBIDDEN:
            raise PermissionDeniedError(f"`{field}` is not available to a subaccount-bound credential")
