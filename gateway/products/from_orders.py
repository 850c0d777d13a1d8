"""Build a product batch record from the gateway's own fulfilled orders (`offsetProductBatch`).

Mapping (CNaught order JSON -> platform record; orders taken in id order):

batch level
    offsetTotal / offsetUnit        sum of the orders' `amount_kg` / "kg"
    offsetPrice / offsetPriceUnit   sum of `price_usd_cents`, sent in dollars / "USD"
    offsetProviderOrderID           the order ids, sorted, joined by ", " (also the batch's dedup key)
    certificateLink                 each order's `certificate_public_url`, space-separated
    offsetPortfolioId               the caller's `portfolioId` (orders do not say which portfolio they used)
    batchNumber, taskId, owner, reason, visibilities, comment: from the caller
project level (one entry per project allocation of every order)
    offsetProvider                  "CNaught"
    offsetProviderProjectID         `project.id`
    offsetType                      `project.impact_type` (e.g. "Removal", "Avoided Emissions")
    productType                     "carbon credit"
    offsetQuantity / ...Unit        allocation `amount_kg` / "kg"
    projectID / projectURL          `project.registry_id` / `project.registry_url` (the registry's project)
    projectName / projectLocation / projectType   `name` / `location_name` / `type`
    offsetSerialNumber              the allocation's retirements' `serial_number_range`s, joined by "; "
    offsetRetirementURL             the retirements' registry `url`s, space-separated
    offsetVintageStart / End        1 January of the earliest / 31 December of the latest vintage year
                                    the retirements' serial ranges name (a dash-separated 4-digit year
                                    token, as in the sandbox's `SBX-<project>-<vintage>-<first>-<last>`);
                                    when no serial names one, the span of the project's credit issuances
                                    (`GET /projects/{id}`), since the order JSON has no vintage field
    offsetRetirementDate            the order's `created_on`: the order JSON carries no fulfilment or
    offsetProviderFinalizationDate  retirement timestamp, and retirement happens at or after placement
    offsetProviderFinalizationID    the order's `order_number` (printed on its certificate)
    offsetOwner / offsetReason      the caller's owner / reason, as at batch level
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from gateway.backend.models import CreditIssuance, Order, ProjectAllocation
from gateway.products.models import BatchRecord, Money, ProjectRecord, Visibility

__all__ = ["PROVIDER", "BatchSpec", "batch_from_orders", "projects_needing_issuances", "provider_order_id"]

PROVIDER = "CNaught"
PRODUCT_TYPE = "carbon credit"
UNIT = "kg"


@dataclass(frozen=True)
class BatchSpec:
    """What the caller says about a batch; everything else comes from the orders."""

    batch_number: str
    task_id: str | None = None
    owner: str | None = None
    reason: str | None = None
    owner_visibility: Visibility | None = None
    reason_visibility: Visibility | None = None
    comment: str | None = None
    portfolio_id: str | None = None


def provider_order_id(order_ids: Sequence[str]) -> str:
    """The batch's `offsetProviderOrderID`: sorted order ids, so any order of the input gives the same."""
    return ", ".join(sorted(order_ids))


def batch_from_orders(
    spec: BatchSpec, orders: Sequence[Order], issuances: Mapping[str, Sequence[CreditIssuance]]
) -> BatchRecord:
    """The batch record for fulfilled `orders`; `issuances` maps project ids to their credit issuances."""
    ordered = sorted(orders, key=lambda order: order.id)
    links = [order.certificate_public_url for order in ordered if order.certificate_public_url]
    return BatchRecord(
        batch_number=spec.batch_number,
        task_id=spec.task_id,
        offset_total=math.fsum(order.amount_kg for order in ordered),
        offset_unit=UNIT,
        offset_portfolio_id=spec.portfolio_id,
        offset_price=Money(amount_minor=sum(o.price_usd_cents for o in ordered), currency="USD").to_major(),
        offset_price_unit="USD",
        offset_owner_visibility=spec.owner_visibility,
        offset_reason_visibility=spec.reason_visibility,
        offset_provider_order_id=provider_order_id([order.id for order in ordered]),
        certificate_link=" ".join(links) or None,
        offset_projects=tuple(_projects(spec, ordered, issuances)),
        offset_owner=spec.owner,
        offset_reason=spec.reason,
        comment=spec.comment,
    )


def _projects(
    spec: BatchSpec, orders: Sequence[Order], issuances: Mapping[str, Sequence[CreditIssuance]]
) -> list[ProjectRecord]:
    return [
        _project(spec, order, allocation, issuances.get(allocation.project.id, ()))
        for order in orders
        for allocation in order.project_allocations
    ]


def _project(
    spec: BatchSpec, order: Order, allocation: ProjectAllocation, issuances: Sequence[CreditIssuance]
) -> ProjectRecord:
    project = allocation.project
    serials = [r.serial_number_range for r in allocation.retirements if r.serial_number_range]
    urls = [r.url for r in allocation.retirements if r.url]
    start, end = vintage_range(serial_vintages(serials) or [i.vintage_year for i in issuances])
    return ProjectRecord(
        offset_type=project.impact_type,
        offset_provider=PROVIDER,
        offset_provider_project_id=project.id,
        offset_provider_finalization_date=order.created_on,
        offset_quantity=allocation.amount_kg,
        offset_quantity_unit=UNIT,
        project_id=project.registry_id,
        project_name=project.name,
        project_location=project.location_name,
        project_type=project.type,
        project_url=project.registry_url,
        product_type=PRODUCT_TYPE,
        offset_retirement_date=order.created_on,
        offset_vintage_start=start,
        offset_vintage_end=end,
        offset_serial_number="; ".join(serials) or None,
        offset_owner=spec.owner,
        offset_reason=spec.reason,
        offset_provider_finalization_id=order.order_number,
        offset_retirement_url=" ".join(urls) or None,
    )


def projects_needing_issuances(orders: Sequence[Order]) -> list[str]:
    """Ids of the allocated projects whose vintages the serial ranges do not name (sorted, unique)."""
    return sorted(
        {
            allocation.project.id
            for order in orders
            for allocation in order.project_allocations
            if not serial_vintages([r.serial_number_range or "" for r in allocation.retirements])
        }
    )


def serial_vintages(serials: Sequence[str]) -> list[int]:
    """Vintage years named in serial ranges: dash-separated 4-digit tokens from 1900 to 2100."""
    return [int(token) for serial in serials for token in serial.split("-") if _is_year(token)]


def _is_year(token: str) -> bool:
    return len(token) == 4 and token.isdigit() and 1900 <= int(token) <= 2100


def vintage_range(years: Sequence[int]) -> tuple[datetime | None, datetime | None]:
    """First instant of the earliest and last second of the latest vintage year; (None, None) if unknown."""
    if not years:
        return None, None
    return datetime(min(years), 1, 1, tzinfo=UTC), datetime(max(years), 12, 31, 23, 59, 59, tzinfo=UTC)
