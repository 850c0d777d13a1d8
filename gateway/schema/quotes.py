"""Quotes: what offsetting an activity would cost, by mass or by activity, in one `quote` field.

`QuoteInput` is a `@oneOf` input: exactly one member says which upstream quote endpoint to call.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Annotated, Any

import strawberry

from gateway.backend import models
from gateway.backend.errors import BadRequestError
from gateway.context import GatewayInfo
from gateway.schema.arguments import SubaccountIdArg, input_argument
from gateway.schema.catalogue import Portfolio, load_portfolio
from gateway.schema.errors import to_graphql_error
from gateway.schema.money import Money
from gateway.schema.node import optional_upstream_id


@strawberry.enum(description="Which price list a quote uses.")
class QuoteSource(enum.Enum):
    API = strawberry.enum_value("api", description="The price list of API orders.")
    CHECKOUT = strawberry.enum_value("checkout", description="The price list of checkout sessions.")


@strawberry.enum(description="The vehicle of a ground-transport trip.")
class VehicleType(enum.Enum):
    PASSENGER_CAR_VAN_OR_SUV = strawberry.enum_value(
        "passenger_car_van_or_suv", description="A passenger car, van or SUV."
    )
    SMALL_BUS = strawberry.enum_value("small_bus", description="A small bus.")
    SCHOOL_BUS = strawberry.enum_value("school_bus", description="A school bus.")
    COACH_BUS = strawberry.enum_value("coach_bus", description="A coach bus.")


@strawberry.input(description="Emissions already known, in kg CO2e.")
class MassQuoteInput:
    amount_kg: float = strawberry.field(description="The emissions to offset, in kg CO2e.")


@strawberry.input(description="A passenger trip by its distance.")
class DistanceQuoteInput:
    distance_km: float = strawberry.field(description="Distance travelled, in km.")


@strawberry.input(description="A freight shipment by its mass and distance.")
class FreightQuoteInput:
    freight_mass_kg: float = strawberry.field(description="Mass of the freight, in kg.")
    distance_km: float = strawberry.field(description="Distance shipped, in km.")


@strawberry.input(description="A ground-transport trip by vehicle and distance.")
class GroundTransportQuoteInput:
    distance_km: float = strawberry.field(description="Distance travelled, in km.")
    vehicle_type: VehicleType = strawberry.field(description="The vehicle used.")


@strawberry.input(description="A year of office space by its floor area.")
class OfficeSpaceQuoteInput:
    square_footage: float = strawberry.field(description="Floor area, in square feet.")


@strawberry.input(one_of=True, description="Exactly one kind of activity to quote.")
class QuoteInput:
    mass: MassQuoteInput | None = strawberry.field(
        default=strawberry.UNSET, description="Emissions already known, in kg CO2e."
    )
    flight: DistanceQuoteInput | None = strawberry.field(
        default=strawberry.UNSET, description="A passenger flight."
    )
    train: DistanceQuoteInput | None = strawberry.field(
        default=strawberry.UNSET, description="A passenger train trip."
    )
    air_freight: FreightQuoteInput | None = strawberry.field(
        default=strawberry.UNSET, description="Freight by air."
    )
    ground_freight: FreightQuoteInput | None = strawberry.field(
        default=strawberry.UNSET, description="Freight by road or rail."
    )
    ground_transport: GroundTransportQuoteInput | None = strawberry.field(
        default=strawberry.UNSET, description="A trip by car or bus."
    )
    office_space: OfficeSpaceQuoteInput | None = strawberry.field(
        default=strawberry.UNSET, description="A year of office space."
    )
    ride: DistanceQuoteInput | None = strawberry.field(
        default=strawberry.UNSET,
        description="A car ride (deprecated upstream).",
        deprecation_reason="Deprecated upstream: use `groundTransport` with PASSENGER_CAR_VAN_OR_SUV.",
    )


# QuoteInput member -> (backend params model, client method).
_QUOTE_KINDS: dict[str, tuple[type[models.QuoteParams], str]] = {
    "mass": (models.MassQuoteParams, "quote_mass"),
    "flight": (models.FlightQuoteParams, "quote_flight"),
    "train": (models.TrainQuoteParams, "quote_train"),
    "air_freight": (models.AirFreightQuoteParams, "quote_air_freight"),
    "ground_freight": (models.GroundFreightQuoteParams, "quote_ground_freight"),
    "ground_transport": (models.GroundTransportQuoteParams, "quote_ground_transport"),
    "office_space": (models.OfficeSpaceQuoteParams, "quote_office_space"),
    "ride": (models.RideQuoteParams, "quote_ride"),
}


@strawberry.type(description="What offsetting would cost now; quotes are not stored upstream.")
class Quote:
    amount_kg: float = strawberry.field(description="Credits needed, in kg CO2e.")
    price: Money = strawberry.field(description="What the credits would cost (US dollars).")
    _portfolio_id: strawberry.Private[str | None]
    _subaccount_id: strawberry.Private[str | None]

    @strawberry.field(
        description="The quoted portfolio: the requested one, else the subaccount's default; null when "
        "the account's default was used (the API does not say which that is)."
    )
    async def portfolio(self, info: GatewayInfo) -> Portfolio | None:
        portfolio_id = await _quoted_portfolio(info, self._portfolio_id, self._subaccount_id)
        if portfolio_id is None:
            return None
        return await load_portfolio(info.context.loaders, portfolio_id)


def _chosen(input: QuoteInput) -> tuple[str, dict[str, Any]]:
    """The one member set in a @oneOf input (the schema guarantees there is exactly one)."""
    kind = next(k for k in _QUOTE_KINDS if getattr(input, k) not in (None, strawberry.UNSET))
    fields = dataclasses.asdict(getattr(input, kind))
    if isinstance(fields.get("vehicle_type"), VehicleType):
        fields["vehicle_type"] = models.VehicleType(fields["vehicle_type"].value)
    return kind, fields


async def _quoted_portfolio(
    info: GatewayInfo, portfolio_id: str | None, subaccount_id: str | None
) -> str | None:
    if portfolio_id is not None or subaccount_id is None:
        return portfolio_id
    return (await info.context.loaders.subaccounts.load(subaccount_id)).default_portfolio_id


@strawberry.type
class QuoteQueries:
    @strawberry.field(description="Price an activity's emissions (or a known mass) in a portfolio.")
    async def quote(
        self,
        info: GatewayInfo,
        input: Annotated[QuoteInput, input_argument("The activity whose emissions to price.")],
        portfolio_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(
                description="Portfolio to price in, global or upstream id (default: the subaccount's)."
            ),
        ] = None,
        source: Annotated[
            QuoteSource | None, strawberry.argument(description="Which price list to use (default: API).")
        ] = None,
        subaccount_id: SubaccountIdArg = None,
    ) -> Quote | None:
        portfolio = optional_upstream_id(portfolio_id, "Portfolio")
        subaccount = optional_upstream_id(subaccount_id, "Subaccount")
        kind, params = _quote_params(input, portfolio, source)
        context = info.context
        try:
            quote: models.Quote = await getattr(context.client, _QUOTE_KINDS[kind][1])(
                params, opts=context.call_options(subaccount)
            )
        except BadRequestError as exc:  # point validation messages at the quoted member's fields
            raise to_graphql_error(exc, field_root=("input", _camel(kind))) from exc
        return Quote(
            amount_kg=quote.amount_kg,
            price=Money.from_usd_cents(quote.price_usd_cents),
            _portfolio_id=portfolio,
            _subaccount_id=subaccount,
        )


def _quote_params(
    input: QuoteInput, portfolio_id: str | None, source: QuoteSource | None
) -> tuple[str, models.QuoteParams]:
    """The chosen quote kind and its backend params."""
    kind, fields = _chosen(input)
    source_value = None if source is None else models.QuoteSource(source.name.lower())
    return kind, _QUOTE_KINDS[kind][0](**fields, portfolio_id=portfolio_id, source=source_value)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)
