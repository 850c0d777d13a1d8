"""The sandbox's parts, wired together once per app by `create_app` and reached from handlers."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from sandbox.accounts import Accounts
from sandbox.callbacks import Notifier
from sandbox.catalogue import Catalogue
from sandbox.config import SandboxConfig
from sandbox.fulfilment import Fulfiller
from sandbox.idempotency import Idempotency
from sandbox.inventory import Inventory
from sandbox.orders import Orders
from sandbox.store import Store


@dataclass(frozen=True, slots=True)
class Services:
    """Everything a handler may need."""

    config: SandboxConfig
    store: Store
    catalogue: Catalogue
    accounts: Accounts
    idempotency: Idempotency
    orders: Orders
    fulfiller: Fulfiller
    notifier: Notifier

    @classmethod
    def build(cls, config: SandboxConfig) -> Services:
        """Wire the parts for `config` (opens the SQLite file when ``config.db`` is set)."""
        store = Store.open(config.db)
        catalogue = Catalogue()
        notifier = Notifier(
            deadline=config.callback_deadline,
            backoff_initial=config.callback_backoff_initial,
            backoff_max=config.callback_backoff_max,
        )
        orders = Orders(store, notifier.order_changed)
        fulfiller = Fulfiller(orders, Inventory(store, catalogue), config.fulfilment_delay)
        accounts = Accounts(store, config.api_keys, subaccounts_enabled=config.subaccounts_enabled)
        return cls(config, store, catalogue, accounts, Idempotency(store), orders, fulfiller, notifier)


def services(request: Request) -> Services:
    """The app's services."""
    found: Services = request.app.state.services
    return found
