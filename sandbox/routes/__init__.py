"""HTTP handlers of the sandbox, one module per resource; `api_routes` lists them all."""

from __future__ import annotations

from starlette.routing import BaseRoute

from sandbox.routes import catalogue, checkout, impact, lifecycle, orders, quotes, subaccounts


def api_routes() -> list[BaseRoute]:
    """The ``/v1`` REST routes of the offsets API."""
    return [
        *orders.ROUTES,
        *quotes.ROUTES,
        *impact.ROUTES,
        *subaccounts.ROUTES,
        *catalogue.ROUTES,
        *checkout.ROUTES,
    ]


def sandbox_routes() -> list[BaseRoute]:
    """The always-on sandbox-only lifecycle routes under ``/_sandbox``."""
    return list(lifecycle.ROUTES)
