"""Request bodies of the offsets API as pydantic models, and their validation into problem+json.

Numbers are strict (a JSON string ``"10"`` is not a number, as with the .NET backend CNaught runs) and must be
positive; unknown fields are ignored. A validation failure becomes 400 ``invalid-parameters`` whose
``errors`` map is keyed by the request's snake_case field path (``notification_config.url``), or ``body``
when the body is missing or not a JSON object. [?] ``amount_kg`` may be fractional: the docs call it a
positive integer but their own examples use 10.5. [?] Numbers are at most 1e9 (kg, km, square feet) and
``total_price_usd_cents`` at most 1e12, so no derived amount or price overflows a 64-bit JSON integer; NaN
and Infinity are rejected.
"""

from __future__ import annotations

from typing import Annotated, Literal, TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator
from starlette.requests import Request

from sandbox.problems import invalid_parameters

# Upper bounds keep every derived amount and price well inside a 64-bit JSON integer.
PositiveNumber = Annotated[float, Field(strict=True, gt=0, le=1e9, allow_inf_nan=False)]
PositiveInt = Annotated[int, Field(strict=True, gt=0, le=10**12)]
Text512 = Annotated[str, StringConstraints(max_length=512)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=512, strip_whitespace=True)]
VehicleType = Literal["passenger_car_van_or_suv", "small_bus", "school_bus", "coach_bus"]

ModelT = TypeVar("ModelT", bound=BaseModel)


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, allow_inf_nan=False)


class NotificationConfig(_Body):
    """Where to POST order state changes ([?] an absolute http(s) URL, else 400)."""

    url: Annotated[str, StringConstraints(min_length=1, max_length=2048)]

    @field_validator("url")
    @classmethod
    def _absolute_http_url(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("The callback URL must be an absolute http(s) URL.")
        return url


class _OrderCommon(_Body):
    description: Text512 | None = None
    metadata: Text512 | None = None
    notification_config: NotificationConfig | None = None
    portfolio_id: str | None = None


class OrderBody(_OrderCommon):
    """``POST /orders``: exactly one of ``amount_kg`` and ``total_price_usd_cents``."""

    amount_kg: PositiveNumber | None = None
    total_price_usd_cents: PositiveInt | None = None


class RideOrderBody(_OrderCommon):
    """``POST /orders/ride`` (deprecated)."""

    distance_km: PositiveNumber


class _QuoteCommon(_Body):
    portfolio_id: str | None = None
    source: Literal["api", "checkout"] | None = None


class MassQuoteBody(_QuoteCommon):
    """``POST /quotes``."""

    amount_kg: PositiveNumber


class DistanceQuoteBody(_QuoteCommon):
    """``/quotes/flight``, ``/quotes/train``, ``/quotes/ride``."""

    distance_km: PositiveNumber


class FreightQuoteBody(_QuoteCommon):
    """``/quotes/air-freight``, ``/quotes/ground-freight``."""

    freight_mass_kg: PositiveNumber
    distance_km: PositiveNumber


class GroundTransportQuoteBody(_QuoteCommon):
    """``/quotes/ground-transport``."""

    distance_km: PositiveNumber
    vehicle_type: VehicleType


class OfficeSpaceQuoteBody(_QuoteCommon):
    """``/quotes/office-space``."""

    square_footage: PositiveNumber


class SubaccountBody(_Body):
    """``PUT /subaccounts/{id}``: a full replacement (omitted optional fields are cleared)."""

    name: Name
    email: Annotated[str, StringConstraints(max_length=512, pattern=r"^[^@\s]+@[^@\s]+$")] | None = None
    default_portfolio_id: str | None = None


class CreateSubaccountBody(SubaccountBody):
    """``POST /subaccounts``."""

    logo_url: str | None = None


class LogoUrlBody(_Body):
    """``POST /subaccounts/{id}/logo``."""

    logo_url: Annotated[str, StringConstraints(min_length=1)]


class CheckoutSessionBody(_Body):
    """``POST /checkout/sessions``."""

    amount_kg: PositiveNumber
    success_url: str
    cancel_url: str
    portfolio_id: str | None = None
    description: Text512 | None = None
    notification_config: NotificationConfig | None = None


class LegacyCheckoutSessionBody(CheckoutSessionBody):
    """``POST /orders/checkout-session`` (before 2024-05): the same fields plus a required ``email``."""

    email: Annotated[str, StringConstraints(min_length=1, max_length=512, strip_whitespace=True)]


def errors_map(error: ValidationError) -> dict[str, list[str]]:
    """Pydantic's errors keyed by dotted field path (``body`` for the body as a whole)."""
    errors: dict[str, list[str]] = {}
    for item in error.errors(include_url=False):
        field = ".".join(str(part) for part in item["loc"]) or "body"
        errors.setdefault(field, []).append(item["msg"])
    return errors


def parse(model: type[ModelT], raw: bytes) -> ModelT:
    """Validate a raw JSON body, or raise 400 ``invalid-parameters``."""
    if not raw.strip():
        raise invalid_parameters({"body": ["A non-empty request body is required."]})
    try:
        return model.model_validate_json(raw)
    except ValidationError as error:
        raise invalid_parameters(errors_map(error)) from None


async def parse_body(request: Request, model: type[ModelT]) -> ModelT:
    """Read and validate the request's JSON body."""
    return parse(model, await request.body())
