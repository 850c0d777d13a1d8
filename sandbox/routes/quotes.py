"""``POST /v1/quotes[/kind]``: the eight quote endpoints (pure reads, nothing is stored).

[?] An unknown ``portfolio_id`` is 400 ``invalid-parameters`` (quotes document no 403/404).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox import emissions
from sandbox.bodies import (
    DistanceQuoteBody,
    FreightQuoteBody,
    GroundTransportQuoteBody,
    MassQuoteBody,
    OfficeSpaceQuoteBody,
    parse_body,
)
from sandbox.orders import number
from sandbox.problems import invalid_field
from sandbox.responses import json_response
from sandbox.services import services

Estimator = Callable[[Any], float]


def quote_endpoint(model: type[BaseModel], estimate: Estimator) -> Callable[[Request], Any]:
    """A handler that validates `model`, estimates kg with `estimate` and prices them."""

    async def quote(request: Request) -> Response:
        svc = services(request)
        caller = svc.accounts.caller(request)
        body: Any = await parse_body(request, model)
        portfolio_id = body.portfolio_id or caller.default_portfolio_id()
        if not svc.catalogue.has_portfolio(portfolio_id):
            raise invalid_field("portfolio_id", f"Unknown portfolio {portfolio_id!r}.")
        amount_kg = number(estimate(body))
        per_kg = svc.catalogue.price_per_kg(portfolio_id, body.source or "api")
        return json_response(
            {"amount_kg": amount_kg, "price_usd_cents": emissions.price_cents(amount_kg, per_kg)}
        )

    return quote


# Path suffix under /v1/quotes -> (body model, kg estimate).
_QUOTES: dict[str, tuple[type[BaseModel], Estimator]] = {
    "": (MassQuoteBody, lambda b: b.amount_kg),
    "/air-freight": (FreightQuoteBody, lambda b: emissions.air_freight_kg(b.freight_mass_kg, b.distance_km)),
    "/flight": (DistanceQuoteBody, lambda b: emissions.flight_kg(b.distance_km)),
    "/ground-freight": (
        FreightQuoteBody,
        lambda b: emissions.ground_freight_kg(b.freight_mass_kg, b.distance_km),
    ),
    "/ground-transport": (
        GroundTransportQuoteBody,
        lambda b: emissions.ground_transport_kg(b.distance_km, b.vehicle_type),
    ),
    "/office-space": (OfficeSpaceQuoteBody, lambda b: emissions.office_space_kg(b.square_footage)),
    "/train": (DistanceQuoteBody, lambda b: emissions.train_kg(b.distance_km)),
    "/ride": (DistanceQuoteBody, lambda b: emissions.ride_kg(b.distance_km)),
}

ROUTES = [
    Route(f"/v1/quotes{suffix}", quote_endpoint(model, estimate), methods=["POST"])
    for suffix, (model, estimate) in _QUOTES.items()
]
