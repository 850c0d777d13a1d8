"""Climate impact: the account's or a subaccount's offset totals, equivalents and hosted impact page."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from gateway.backend import models
from gateway.context import GatewayInfo
from gateway.schema.catalogue import Project
from gateway.schema.node import optional_upstream_id
from gateway.schema.scalars import DateTime


@strawberry.type(description="Everyday equivalents of the offset total.")
class ImpactEquivalents:
    cars_off_the_road: float
    trees_planted: float
    homes_annual_energy_usage: float
    flights_lax_to_nyc: float


@strawberry.type(description="A category of an impact breakdown (it has no id upstream).")
class ImpactCategoryInfo:
    name: str
    description: str | None


@strawberry.type(description="What one project contributed to the impact.")
class ImpactProject:
    project: Project
    offset_kg: float
    vintages: str | None


@strawberry.type(description="What one category contributed to the impact.")
class ImpactCategory:
    category: ImpactCategoryInfo
    offset_kg: float
    projects: list[ImpactProject]


@strawberry.type(description="Climate impact of the orders of the account or of one subaccount.")
class ImpactData:
    name: str | None
    logo_url: str | None
    total_offset_kg: float
    equivalents: ImpactEquivalents
    since_date: DateTime = strawberry.field(
        description="The requested `from`, else when the account started."
    )
    to_date: DateTime | None = strawberry.field(description="The requested `to`, else null.")
    categories: list[ImpactCategory]

    @classmethod
    def from_backend(cls, impact: models.ImpactData) -> ImpactData:
        return cls(
            name=impact.name,
            logo_url=impact.logo_url,
            total_offset_kg=impact.total_offset_kgs,
            equivalents=ImpactEquivalents(**impact.equivalents.model_dump()),
            since_date=impact.since_date,
            to_date=impact.to_date,
            categories=[_category(category) for category in impact.categories],
        )


def _category(category: models.ImpactCategory) -> ImpactCategory:
    return ImpactCategory(
        category=ImpactCategoryInfo(name=category.category.name, description=category.category.description),
        offset_kg=category.offset_kgs,
        projects=[
            ImpactProject(
                project=Project.from_backend(p.project), offset_kg=p.offset_kgs, vintages=p.vintages
            )
            for p in category.projects
        ],
    )


@strawberry.type(description="The hosted, shareable impact page.")
class HostedImpactPage:
    enabled: bool
    url: str
    enabled_equivalents: list[str] = strawberry.field(description='e.g. "cars", "homes", "flights", "trees".')

    @classmethod
    def from_backend(cls, config: models.HostedPageConfig) -> HostedImpactPage:
        return cls(
            enabled=config.enabled, url=config.url, enabled_equivalents=list(config.enabled_equivalents)
        )


async def fetch_impact(
    info: GatewayInfo, subaccount_id: str | None, from_: datetime | None, to: datetime | None
) -> ImpactData:
    context = info.context
    opts = context.call_options(subaccount_id=subaccount_id)
    return ImpactData.from_backend(await context.client.get_impact_data(from_=from_, to=to, opts=opts))


async def fetch_hosted_page(info: GatewayInfo, subaccount_id: str | None) -> HostedImpactPage:
    context = info.context
    opts = context.call_options(subaccount_id=subaccount_id)
    return HostedImpactPage.from_backend(await context.client.get_hosted_page_config(opts=opts))


@strawberry.type
class ImpactQueries:
    @strawberry.field(
        description="Climate impact of the account, or of one subaccount, optionally in [from, to]."
    )
    async def impact(
        self,
        info: GatewayInfo,
        subaccount_id: strawberry.ID | None = None,
        from_: Annotated[DateTime | None, strawberry.argument(name="from")] = None,
        to: DateTime | None = None,
    ) -> ImpactData | None:
        return await fetch_impact(info, optional_upstream_id(subaccount_id, "Subaccount"), from_, to)

    @strawberry.field(description="The hosted impact page of the account, or of one subaccount.")
    async def hosted_impact_page(
        self, info: GatewayInfo, subaccount_id: strawberry.ID | None = None
    ) -> HostedImpactPage | None:
        return await fetch_hosted_page(info, optional_upstream_id(subaccount_id, "Subaccount"))
