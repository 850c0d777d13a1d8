"""Pydantic models of the offsets REST API's JSON payloads (responses) and request bodies (params).

Response models mirror the upstream JSON exactly: snake_case field names, unknown fields ignored (the upstream
adds fields over time), optional fields defaulting to None, timestamps parsed to `datetime`.

Params models are what the client's callers build; `to_body()` renders the exact documented request body.
"""

from __future__ import annotations

import enum
from collections import OrderedDict
from datetime import datetime
from typing import Any, Generic, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

__all__ = [
    "AirFreightQuoteParams",
    "CategoryAllocation",
    "CheckoutSession",
    "CheckoutSessionState",
    "CreateCheckoutSessionParams",
    "CreateOrderParams",
    "CreateRideOrderParams",
    "CreateSubaccountParams",
    "CreditIssuance",
    "DueDiligenceFigure",
    "FlightQuoteParams",
    "GroundFreightQuoteParams",
    "GroundTransportQuoteParams",
    "HostedPageConfig",
    "ImpactCategory",
    "ImpactCategoryInfo",
    "ImpactData",
    "ImpactEquivalents",
    "ImpactProject",
    "ListEnvelope",
    "MassQuoteParams",
    "NewsArticle",
    "NotableBuyer",
    "OfficeSpaceQuoteParams",
    "Order",
    "OrderState",
    "Portfolio",
    "PortfolioDetails",
    "Project",
    "ProjectAllocation",
    "ProjectCategory",
    "ProjectCategoryDetails",
    "ProjectDetails",
    "ProjectLifetime",
    "Quote",
    "QuoteParams",
    "QuoteSource",
    "Retirement",
    "RideQuoteParams",
    "Subaccount",
    "TrainQuoteParams",
    "UpdateSubaccountParams",
    "VehicleType",
]


class OrderState(enum.StrEnum):
    """Lifecycle of an order; upstream spells the last one `cancelled`."""

    PLACED = "placed"
    FULFILLED = "fulfilled"
    CANCELLED = "cancelled"


class CheckoutSessionState(enum.StrEnum):
    OPEN = "open"
    COMPLETE = "complete"
    EXPIRED = "expired"


class VehicleType(enum.StrEnum):
    PASSENGER_CAR_VAN_OR_SUV = "passenger_car_van_or_suv"
    SMALL_BUS = "small_bus"
    SCHOOL_BUS = "school_bus"
    COACH_BUS = "coach_bus"


class QuoteSource(enum.StrEnum):
    """Which price list a quote uses: the API price or the checkout-session price."""

    API = "api"
    CHECKOUT = "checkout"


class _Payload(BaseModel):
    """Base of response models: the upstream may add fields, which must not break the gateway."""

    model_config = ConfigDict(extra="ignore")


T = TypeVar("T")


class ListEnvelope(_Payload, Generic[T]):
    """`{"data": [...]}`, the only list envelope the upstream uses (no cursors, no has_more)."""

    data: list[T]


# --- catalogue -------------------------------------------------------------------------------------------


class ProjectLifetime(_Payload):
    start_year: int | None = None
    end_year: int | None = None


class NotableBuyer(_Payload):
    name: str
    logo_url: str | None = None
    logo_alt_text: str | None = None


class DueDiligenceFigure(_Payload):
    description: str | None = None
    image_url: str | None = None
    image_alt_text: str | None = None


class NewsArticle(_Payload):
    title: str
    url: str
    author: str | None = None
    published_on: datetime | None = None
    cnaught_take: str | None = None


class Project(_Payload):
    # Frozen: one validated project may serve several responses (`ValidatedProjects`).
    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str
    name: str
    type: str | None = None
    activity_types: list[str] | None = None
    developer: str | None = None
    registry_name: str | None = None
    registry_id: str | None = None
    registry_url: str | None = None
    summary: str | None = None
    description: str | None = None
    location_name: str | None = None
    location_latitude: float | None = None
    location_longitude: float | None = None
    primary_image_url: str | None = None
    un_sdg_goals: list[int] = Field(default_factory=list)
    methodology: str | None = None
    verifier: str | None = None
    permanence: str | None = None
    lifetime: ProjectLifetime | None = None
    impact_type: str | None = None
    due_diligence: str | None = None
    beyond_carbon: str | None = None
    risk_of_reversal: str | None = None
    third_party_labels: list[str] | None = None
    notable_buyers: list[NotableBuyer] | None = None
    due_diligence_figure: DueDiligenceFigure | None = None
    news_articles: list[NewsArticle] | None = None


class CreditIssuance(_Payload):
    vintage_year: int
    total_amount: float


class ProjectDetails(Project):
    """`GET /projects/{id}`: a project with its credit issuances."""

    credit_issuances: list[CreditIssuance] = Field(default_factory=list)


class ProjectCategory(_Payload):
    id: str
    name: str
    description: str | None = None
    primary_image_url: str | None = None


class ProjectCategoryDetails(ProjectCategory):
    """`GET /project-categories/{id}` (and portfolio allocations): a category with its projects."""

    projects: list[Project] = Field(default_factory=list)


class Portfolio(_Payload):
    id: str
    name: str
    summary: str | None = None
    description: str | None = None
    primary_image_url: str | None = None


class CategoryAllocation(_Payload):
    allocated_fraction: float
    category: ProjectCategoryDetails


class PortfolioDetails(Portfolio):
    """`GET /portfolios/{id}`: prices (may be fractional cents) and category allocations."""

    api_price_per_kg_usd_cents: float | None = None
    checkout_price_per_kg_usd_cents: float | None = None
    category_allocations: list[CategoryAllocation] = Field(default_factory=list)


# --- orders ----------------------------------------------------------------------------------------------


class Retirement(_Payload):
    serial_number_range: str | None = None
    url: str | None = None


class ProjectAllocation(_Payload):
    project: Project
    amount_kg: float
    retirements: list[Retirement] = Field(default_factory=list)


def share_projects(payload: Any) -> Any:
    """Validate each distinct project of an order payload (one order, or a `{"data": [...]}` page) once.

    A page of orders repeats a few projects in full in its allocations (50 orders: ~200 copies of ~4
    projects, most of the page's bytes), and every order repeats the same few projects request after
    request. An allocation whose project equals (`==`) one validated before - in this payload or, through
    `VALIDATED_PROJECTS`, in an earlier one - gets that `Project` instead of its copy, and pydantic takes
    a model instance of the field's type as it is. A project that does not validate is left in place, for
    the payload's own validation to report with its location. The payload is the caller's freshly decoded
    one, changed in place; anything else passes through untouched.
    """
    items = payload.get("data") if isinstance(payload, dict) and "data" in payload else (payload,)
    if not isinstance(items, list | tuple):
        return payload
    seen: dict[str, tuple[dict[str, Any], Project]] = {}
    for item in items:
        allocations = item.get("project_allocations") if isinstance(item, dict) else None
        if not isinstance(allocations, list):
            continue
        for allocation in allocations:
            project = allocation.get("project") if isinstance(allocation, dict) else None
            key = project.get("id") if isinstance(project, dict) else None
            if not isinstance(project, dict) or not isinstance(key, str):
                continue  # not a project with an id: the payload's own validation says what is wrong
            known = seen.get(key)
            if known is None or known[0] != project:
                known = VALIDATED_PROJECTS.validate(key, project)
                if known is None:
                    continue
                seen[key] = known
            allocation["project"] = known[1]
    return payload


class ValidatedProjects:
    """The last `size` nested projects validated, by upstream id, each with the JSON it came from.

    A project is given again only for JSON equal to what it was validated from, so what a caller gets is
    exactly what its own upstream response said (projects are catalogue data, and this cache is keyed by
    their content, not by who asked). `Project` models are frozen: a shared one cannot be changed.
    """

    def __init__(self, size: int = 256) -> None:
        self._size = size
        self._entries: OrderedDict[str, tuple[dict[str, Any], Project]] = OrderedDict()

    def validate(self, key: str, project: dict[str, Any]) -> tuple[dict[str, Any], Project] | None:
        """The validated `project` (with its JSON), or None when it does not validate."""
        entry = self._entries.get(key)
        if entry is not None and entry[0] == project:
            self._entries.move_to_end(key)
            return entry
        try:
            entry = (project, Project.model_validate(project))
        except ValidationError:
            return None
        self._entries[key] = entry
        self._entries.move_to_end(key)
        if len(self._entries) > self._size:
            self._entries.popitem(last=False)
        return entry


VALIDATED_PROJECTS = ValidatedProjects()


class Order(_Payload):
    id: str
    order_number: str
    created_on: datetime
    metadata: str | None = None
    description: str | None = None
    amount_kg: float
    state: OrderState
    price_usd_cents: int
    callback_url: str | None = None
    certificate_public_url: str | None = None
    certificate_download_public_url: str | None = None
    subaccount_id: str | None = None
    # Present (possibly empty) for fulfilled orders; absent or null otherwise.
    project_allocations: list[ProjectAllocation] = Field(default_factory=list)
    checkout_session_id: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _null_allocations_are_empty(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("project_allocations", ()) is None:
            return {**data, "project_allocations": []}
        return data


class Quote(_Payload):
    amount_kg: float
    price_usd_cents: int


# --- subaccounts, impact, checkout -------------------------------------------------------------------


class Subaccount(_Payload):
    id: str
    created_on: datetime
    name: str
    email: str | None = None
    default_portfolio_id: str | None = None
    logo_url: str | None = None


class ImpactEquivalents(_Payload):
    cars_off_the_road: float
    trees_planted: float
    homes_annual_energy_usage: float
    flights_lax_to_nyc: float


class ImpactCategoryInfo(_Payload):
    """The category of an impact entry; unlike `ProjectCategory` it has no id."""

    name: str
    description: str | None = None


class ImpactProject(_Payload):
    project: Project
    offset_kgs: float
    vintages: str | None = None


class ImpactCategory(_Payload):
    category: ImpactCategoryInfo
    offset_kgs: float
    projects: list[ImpactProject] = Field(default_factory=list)


class ImpactData(_Payload):
    name: str | None = None
    logo_url: str | None = None
    total_offset_kgs: float
    equivalents: ImpactEquivalents
    since_date: datetime
    to_date: datetime | None = None
    categories: list[ImpactCategory] = Field(default_factory=list)


class HostedPageConfig(_Payload):
    enabled: bool
    url: str
    enabled_equivalents: list[str] = Field(default_factory=list)


class CheckoutSession(_Payload):
    id: str
    amount_kg: float
    price_usd_cents: int
    success_url: str
    cancel_url: str
    checkout_url: str
    state: CheckoutSessionState
    created_on: datetime
    expires_on: datetime
    completed_on: datetime | None = None
    portfolio_id: str | None = None
    subaccount_id: str | None = None
    order_description: str | None = None
    order_webhook_url: str | None = None


# --- request params --------------------------------------------------------------------------------------


_EXACT_INTEGERS = 2**53  # beyond it a float is no longer one exact integer (and JSON/int64 limits follow)


def _whole_numbers(body: dict[str, Any]) -> dict[str, Any]:
    """Send 10.0 as 10: the upstream documents whole-kg amounts and may bind them to integers.

    Huge values (1e308 is a valid GraphQL Float) stay floats for the upstream to refuse; as ints they
    would not even encode.
    """
    return {k: int(v) if _is_whole(v) else v for k, v in body.items()}


def _is_whole(value: Any) -> bool:
    return isinstance(value, float) and value.is_integer() and abs(value) <= _EXACT_INTEGERS


class _Params(BaseModel):
    """Base of request params. `to_body()` drops None: for these endpoints absence and null are the same."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def to_body(self) -> dict[str, Any]:
        """The JSON request body the upstream documents."""
        return _whole_numbers(self.model_dump(mode="json", exclude_none=True))


class _NotifyingParams(_Params):
    """Params whose `notification_url` travels as `notification_config: {url}`."""

    notification_url: str | None = None

    def to_body(self) -> dict[str, Any]:
        body = _whole_numbers(self.model_dump(mode="json", exclude_none=True, exclude={"notification_url"}))
        if self.notification_url is not None:
            body["notification_config"] = {"url": self.notification_url}
        return body


class CreateOrderParams(_NotifyingParams):
    """`POST /orders`: buy by mass (`amount_kg`) or by budget (`total_price_usd_cents`), never both."""

    amount_kg: float | None = None
    total_price_usd_cents: int | None = None
    description: str | None = None
    metadata: str | None = None
    portfolio_id: str | None = None

    @model_validator(mode="after")
    def _exactly_one_amount(self) -> Self:
        if (self.amount_kg is None) == (self.total_price_usd_cents is None):
            raise ValueError("give exactly one of amount_kg and total_price_usd_cents")
        return self


class CreateRideOrderParams(_NotifyingParams):
    """`POST /orders/ride` (deprecated upstream)."""

    distance_km: float
    description: str | None = None
    metadata: str | None = None
    portfolio_id: str | None = None


class CreateSubaccountParams(_Params):
    name: str
    email: str | None = None
    default_portfolio_id: str | None = None
    logo_url: str | None = None


class UpdateSubaccountParams(_Params):
    """`PUT /subaccounts/{id}` is a full replacement: a None field is sent as null and clears the value."""

    name: str
    email: str | None = None
    default_portfolio_id: str | None = None

    def to_body(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class CreateCheckoutSessionParams(_NotifyingParams):
    amount_kg: float
    success_url: str
    cancel_url: str
    portfolio_id: str | None = None
    description: str | None = None


class QuoteParams(_Params):
    """Fields every quote endpoint accepts."""

    portfolio_id: str | None = None
    source: QuoteSource | None = None


class MassQuoteParams(QuoteParams):
    """`POST /quotes`: quote by emissions mass."""

    amount_kg: float


class FlightQuoteParams(QuoteParams):
    distance_km: float


class TrainQuoteParams(QuoteParams):
    distance_km: float


class AirFreightQuoteParams(QuoteParams):
    freight_mass_kg: float
    distance_km: float


class GroundFreightQuoteParams(QuoteParams):
    freight_mass_kg: float
    distance_km: float


class GroundTransportQuoteParams(QuoteParams):
    distance_km: float
    vehicle_type: VehicleType


class OfficeSpaceQuoteParams(QuoteParams):
    square_footage: float


class RideQuoteParams(QuoteParams):
    """`POST /quotes/ride` (deprecated upstream)."""

    distance_km: float
