"""Caller authentication, scopes and tenant binding for the gateway."""

from gateway.auth.principal import (
    ADMIN,
    ALL_SCOPES,
    ORDERS_WRITE,
    READ,
    SUBACCOUNTS_WRITE,
    Principal,
    pass_through_principal,
    sandbox_principal,
)

__all__ = [
    "ADMIN",
    "ALL_SCOPES",
    "ORDERS_WRITE",
    "READ",
    "SUBACCOUNTS_WRITE",
    "Principal",
    "pass_through_principal",
    "sandbox_principal",
]
