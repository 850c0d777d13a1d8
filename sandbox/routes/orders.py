"""``/v1/orders``: list, create (by mass or price), create a ride order (deprecated), get, cancel."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox import emissions
from sandbox.accounts import Caller
from sandbox.bodies import OrderBody, RideOrderBody, parse
from sandbox.orders import NewOrder, resolve_portfolio
from sandbox.pagination import paginate, parse_page
from sandbox.problems import invalid_parameters
from sandbox.responses import json_response
from sandbox.services import Services, services

BOTH_AMOUNTS = "Exactly one of amount_kg and total_price_usd_cents must be specified."


async def list_orders(request: Request) -> Response:
    """``GET /orders``: newest first, paginated."""
    svc = services(request)
    caller = svc.accounts.caller(request)
    page = parse_page(request.query_params)
    docs = paginate(svc.orders.newest_first(caller), page, lambda d: str(d["order"]["id"]))
    return json_response({"data": [d["order"] for d in docs]})


async def get_order(request: Request) -> Response:
    """``GET /orders/{id}`` (the hot path: a dict lookup and one orjson dump)."""
    svc = services(request)
    doc = svc.orders.find(svc.accounts.caller(request), request.path_params["id"])
    return json_response(doc["order"])


async def create_order(request: Request) -> Response:
    """``POST /orders``."""
    svc = services(request)
    caller = svc.accounts.caller(request)

    async def place(raw: bytes) -> Response:
        body = parse(OrderBody, raw)
        return _place(svc, caller, _priced(svc, caller, body))

    return await svc.idempotency.run(request, caller.account_id, place)


def _priced(svc: Services, caller: Caller, body: OrderBody) -> NewOrder:
    if (body.amount_kg is None) == (body.total_price_usd_cents is None):
        raise invalid_parameters({"amount_kg": [BOTH_AMOUNTS], "total_price_usd_cents": [BOTH_AMOUNTS]})
    portfolio_id = resolve_portfolio(svc.catalogue, caller, body.portfolio_id)
    amount_kg = body.amount_kg
    if amount_kg is None:
        per_kg = svc.catalogue.price_per_kg(portfolio_id, "api")
        amount_kg = emissions.kg_for_budget(body.total_price_usd_cents or 0, per_kg)
        if amount_kg <= 0:
            raise invalid_parameters({"total_price_usd_cents": ["The total price does not buy a whole kg."]})
    return _new_order(svc, body, portfolio_id, amount_kg)


def _new_order(
    svc: Services, body: OrderBody | RideOrderBody, portfolio_id: str, amount_kg: float
) -> NewOrder:
    """An order of `amount_kg` from `portfolio_id` at its API price, with the body's common fields."""
    return NewOrder(
        amount_kg=amount_kg,
        price_usd_cents=emissions.price_cents(amount_kg, svc.catalogue.price_per_kg(portfolio_id, "api")),
        portfolio_id=portfolio_id,
        description=body.description,
        metadata=body.metadata,
        callback_url=body.notification_config.url if body.notification_config else None,
    )


def _place(svc: Services, caller: Caller, new: NewOrder) -> Response:
    doc = svc.orders.create(caller, new)
    svc.fulfiller.schedule(doc["order"]["id"])
    return json_response(doc["order"], status_code=201)


async def create_ride_order(request: Request) -> Response:
    """``POST /orders/ride`` (deprecated): the amount is the ride quote's."""
    svc = services(request)
    caller = svc.accounts.caller(request)

    async def place(raw: bytes) -> Response:
        body = parse(RideOrderBody, raw)
        portfolio_id = resolve_portfolio(svc.catalogue, caller, body.portfolio_id)
        return _place(svc, caller, _new_order(svc, body, portfolio_id, emissions.ride_kg(body.distance_km)))

    return await svc.idempotency.run(request, caller.account_id, place)


async def cancel_order(request: Request) -> Response:
    """``POST /orders/{id}/cancel`` (no body)."""
    svc = services(request)
    caller = svc.accounts.caller(request)

    async def cancel(raw: bytes) -> Response:
        doc = svc.orders.cancel(svc.orders.find(caller, request.path_params["id"]))
        return json_response(doc["order"])

    return await svc.idempotency.run(request, caller.account_id, cancel)


ROUTES = [
    Route("/v1/orders", list_orders, methods=["GET"]),
    Route("/v1/orders", create_order, methods=["POST"]),
    Route("/v1/orders/ride", create_ride_order, methods=["POST"]),
    Route("/v1/orders/{id}", get_order, methods=["GET"]),
    Route("/v1/orders/{id}/cancel", cancel_order, methods=["POST"]),
]
