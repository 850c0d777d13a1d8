"""Climate impact: the account's or a subaccount's offset totals, equivalents and hosted impact page."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import datetime

import strawberry

from gateway.backend import models
from gateway.context import GatewayInfo
from gateway.schema.arguments import From, SubaccountIdArg, To
from gateway.schema.catalogue import Project
from gateway.schema.node import optional_upstream_id
from gateway.schema.scalars import DateTime


@strawberry.type(description="Everyday equivalents of the offset total.")
class ImpactEquivalents:
    cars_off_the_road: float = strawberry.field(
        description="Passenger cars driven for one year whose emissions equal the total (count)."
    )
    trees_planted: float = strawberry.field(
        description="Tree seedlings grown for ten years that store as much carbon as the total (count)."
    )
    homes_annual_energy_usage: float = strawberry.field(
        description="Homes' energy use for one year whose emissions equal the total (count of homes)."
    )
    flights_lax_to_nyc: float = strawberry.field(
        description="One-way passenger flights LAX-NYC whose emissions equal the total (count)."
    )


@strawberry.type(description="A category of an impact breakdown (it has no id upstream).")
class ImpactCategoryInfo:
    name: str = strawberry.field(description="The category's name.")
    description: str | None = strawberry.field(description="What the category covers.")


@strawberry.type(description="What one project contributed to the impact.")
class ImpactProject:
    project: Project = strawberry.field(description="The project.")
    offset_kg: float = strawberry.field(description="Credits from this project, in kg CO2e.")
    vintages: str | None = strawberry.field(
        description="The vintages of those credits, e.g. `2012` or `2019-2021`."
    )


@strawberry.type(description="What one category contributed to the impact.")
class ImpactCategory:
    category: ImpactCategoryInfo = strawberry.field(description="The category.")
    offset_kg: float = strawberry.field(description="Credits from this category, in kg CO2e.")
    projects: list[ImpactProject] = strawberry.field(
        description="The projects of this category that contributed."
    )


@strawberry.type(description="Climate impact of the orders of the account or of one subaccount.")
class ImpactData:
    name: str | None = strawberry.field(
        description="Name shown on the impact page (the subaccount's, else the account's)."
    )
    logo_url: str | None = strawberry.field(description="Logo shown on the impact page.")
    total_offset_kg: float = strawberry.field(description="Credits retired in the period, in kg CO2e.")
    equivalents: ImpactEquivalents = strawberry.field(description="Everyday equivalents of `totalOffsetKg`.")
    since_date: DateTime = strawberry.field(
        description="The requested `from`, else when the account started."
    )
    to_date: DateTime | None = strawberry.field(description="The requested `to`, else null.")
    categories: list[ImpactCategory] = strawberry.field(description="The total split by project category.")

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


@strawberry.enum(description="An everyday equivalent the hosted impact page can show.")
class ImpactEquivalent(enum.Enum):
    CARS = strawberry.enum_value("cars", description="Cars off the road (`carsOffTheRoad`).")
    HOMES = strawberry.enum_value("homes", description="Homes' annual energy use (`homesAnnualEnergyUsage`).")
    FLIGHTS = strawberry.enum_value("flights", description="Flights LAX-NYC (`flightsLaxToNyc`).")
    TREES = strawberry.enum_value("trees", description="Trees planted (`treesPlanted`).")


def _equivalents(values: Sequence[str]) -> list[ImpactEquivalent]:
    # The upstream documents these four; a value added later is left out rather than failing the field.
    known = {member.name.lower(): member for member in ImpactEquivalent}
    return [known[value] for value in values if value in known]


@strawberry.type(description="The hosted, shareable impact page.")
class HostedImpactPage:
    enabled: bool = strawberry.field(description="Whether the page is published.")
    url: str = strawberry.field(description="The page's public address.")
    enabled_equivalents: list[ImpactEquivalent] = strawberry.field(
        description="The equivalents the page shows."
    )

    @classmethod
    def from_backend(cls, config: models.HostedPageConfig) -> HostedImpactPage:
        return cls(
            enabled=config.enabled,
            url=config.url,
            enabled_equivalents=_equivalents(config.enabled_equivalents),
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
        subaccount_id: SubaccountIdArg = None,
        from_: From = None,
        to: To = None,
    ) -> ImpactData | None:
        return await fetch_impact(info, optional_upstream_id(subaccount_id, "Subaccount"), from_, to)

    @strawberry.field(description="The hosted impact page of the account, or of one subaccount.")
    async def hosted_impact_page(
        self, info: GatewayInfo, subaccount_id: SubaccountIdArg = None
    ) -> HostedImpactPage | None:
        return await fetch_hosted_page(info, optional_upstream_id(subaccount_id, "Subaccount"))
