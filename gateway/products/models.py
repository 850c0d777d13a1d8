"""Pydantic models of the product platform's batch and project records (seed 000), and money helpers.

Field names are snake_case in Python and the platform's exact camelCase on the wire (`offsetProviderOrderID`,
`projectURL`, ...); `to_wire()` renders the documented JSON (nulls left out, date-times as ISO 8601 UTC).
Money is carried as integer minor units plus an ISO 4217 code everywhere in the gateway and only turned into
the platform's decimal `offsetPrice` at the wire, so no float rounding creeps into sums.
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "BatchRecord",
    "Money",
    "ProjectRecord",
    "Visibility",
    "currency_digits",
]

# ISO 4217 minor-unit exponents that differ from the usual 2.
_MINOR_DIGITS = {"JPY": 0, "KRW": 0, "ISK": 0, "CLP": 0, "VND": 0, "BHD": 3, "KWD": 3, "OMR": 3, "JOD": 3}


def currency_digits(currency: str) -> int:
    """How many decimal places one major unit of `currency` has (ISO 4217 exponent, 2 unless known)."""
    return _MINOR_DIGITS.get(currency.upper(), 2)


class Visibility(enum.StrEnum):
    """Whether the platform shows the offset's owner / reason publicly."""

    PUBLIC = "public"
    PRIVATE = "private"


class Money(BaseModel):
    """An amount in integer minor units (cents) of an ISO 4217 currency."""

    model_config = ConfigDict(frozen=True)

    amount_minor: int
    currency: str

    def to_major(self) -> float:
        """The decimal amount in major units, as the platform's `<currency>` field takes it."""
        return float(Decimal(self.amount_minor).scaleb(-currency_digits(self.currency)))

    @classmethod
    def from_major(cls, amount: float, currency: str) -> Money:
        """Money from a platform amount in major units (rounded to the currency's minor unit)."""
        minor = Decimal(repr(amount)).scaleb(currency_digits(currency)).to_integral_value()
        return cls(amount_minor=int(minor), currency=currency)


class _Record(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True)

    def to_wire(self) -> dict[str, Any]:
        """The platform's JSON for this record: camelCase names, no nulls, ISO date-times."""
        wire: dict[str, Any] = self.model_dump(mode="json", by_alias=True, exclude_none=True)
        return wire


class ProjectRecord(_Record):
    """One project's retirement evidence inside a batch (`offsetProjects[]`)."""

    offset_type: str | None = Field(None, alias="offsetType")
    offset_provider: str = Field(alias="offsetProvider")
    offset_provider_project_id: str | None = Field(None, alias="offsetProviderProjectID")
    offset_provider_finalization_date: datetime | None = Field(None, alias="offsetProviderFinalizationDate")
    offset_quantity: float = Field(alias="offsetQuantity")
    offset_quantity_unit: str = Field(alias="offsetQuantityUnit")
    project_id: str | None = Field(None, alias="projectID")
    project_name: str | None = Field(None, alias="projectName")
    project_location: str | None = Field(None, alias="projectLocation")
    project_type: str | None = Field(None, alias="projectType")
    project_url: str | None = Field(None, alias="projectURL")
    product_type: str | None = Field(None, alias="productType")
    offset_retirement_date: datetime | None = Field(None, alias="offsetRetirementDate")
    offset_vintage_start: datetime | None = Field(None, alias="offsetVintageStart")
    offset_vintage_end: datetime | None = Field(None, alias="offsetVintageEnd")
    offset_serial_number: str | None = Field(None, alias="offsetSerialNumber")
    offset_owner: str | None = Field(None, alias="offsetOwner")
    offset_reason: str | None = Field(None, alias="offsetReason")
    offset_provider_finalization_id: str | None = Field(None, alias="offsetProviderFinalizationID")
    offset_retirement_url: str | None = Field(None, alias="offsetRetirementURL")


class BatchRecord(_Record):
    """One production batch's offset record: the item of `POST /products/{productId}/offsetting`'s array."""

    batch_number: str = Field(alias="batchNumber")
    task_id: str | None = Field(None, alias="taskId")
    offset_total: float = Field(alias="offsetTotal")
    offset_unit: str = Field(alias="offsetUnit")
    offset_portfolio_id: str | None = Field(None, alias="offsetPortfolioId")
    offset_price: float | None = Field(None, alias="offsetPrice")
    offset_price_unit: str | None = Field(None, alias="offsetPriceUnit")
    offset_owner_visibility: Visibility | None = Field(None, alias="offsetOwnerVisibility")
    offset_reason_visibility: Visibility | None = Field(None, alias="offsetReasonVisibility")
    offset_provider_order_id: str | None = Field(None, alias="offsetProviderOrderID")
    certificate_link: str | None = Field(None, alias="certificateLink")
    offset_projects: tuple[ProjectRecord, ...] = Field((), alias="offsetProjects")
    offset_owner: str | None = Field(None, alias="offsetOwner")
    offset_reason: str | None = Field(None, alias="offsetReason")
    comment: str | None = Field(None, alias="comment")

    @property
    def price(self) -> Money | None:
        """`offsetPrice` + `offsetPriceUnit` as minor units, when both are present."""
        if self.offset_price is None or self.offset_price_unit is None:
            return None
        return Money.from_major(self.offset_price, self.offset_price_unit)
