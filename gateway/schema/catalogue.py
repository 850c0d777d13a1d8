"""The read-only catalogue: portfolios, their category allocations, project categories and projects.

Objects keep the backend model they came from. A list item or a nested project lacks fields only the
details endpoint returns (a portfolio's prices and allocations, a project's credit issuances, a
category's projects); those fields load the details through the request's loaders, once per object.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import strawberry

from gateway.backend import models
from gateway.context import GatewayInfo
from gateway.schema.money import Money
from gateway.schema.node import Node, upstream_id_of
from gateway.schema.scalars import DateTime

if TYPE_CHECKING:
    from gateway.loaders import Loaders


@strawberry.type(description="Credits issued for a project in one vintage year.")
class CreditIssuance:
    vintage_year: int
    total_amount: float

    @classmethod
    def from_backend(cls, issuance: models.CreditIssuance) -> CreditIssuance:
        return cls(vintage_year=issuance.vintage_year, total_amount=issuance.total_amount)


@strawberry.type
class ProjectLifetime:
    start_year: int | None
    end_year: int | None


@strawberry.type
class NotableBuyer:
    name: str
    logo_url: str | None
    logo_alt_text: str | None


@strawberry.type
class DueDiligenceFigure:
    description: str | None
    image_url: str | None
    image_alt_text: str | None


@strawberry.type
class NewsArticle:
    title: str
    url: str
    author: str | None
    published_on: DateTime | None
    cnaught_take: str | None


@strawberry.type(description="A carbon project credits come from.")
class Project(Node):
    name: str
    type: str | None
    activity_types: list[str]
    developer: str | None
    registry_name: str | None
    registry_id: str | None
    registry_url: str | None
    summary: str | None
    description: str | None
    location_name: str | None
    location_latitude: float | None
    location_longitude: float | None
    primary_image_url: str | None
    un_sdg_goals: list[int] = strawberry.field(description="UN Sustainable Development Goals (1-17).")
    methodology: str | None
    verifier: str | None
    permanence: str | None
    lifetime: ProjectLifetime | None
    impact_type: str | None
    due_diligence: str | None
    beyond_carbon: str | None
    risk_of_reversal: str | None
    third_party_labels: list[str]
    notable_buyers: list[NotableBuyer]
    due_diligence_figure: DueDiligenceFigure | None
    news_articles: list[NewsArticle]
    _details: strawberry.Private[models.ProjectDetails | None]

    @strawberry.field(description="Credit issuances by vintage (one upstream call per distinct project).")
    async def credit_issuances(self, info: GatewayInfo) -> list[CreditIssuance]:
        details = self._details or await info.context.loaders.projects.load(self.upstream_id)
        return [CreditIssuance.from_backend(issuance) for issuance in details.credit_issuances]

    @classmethod
    def from_backend(cls, project: models.Project) -> Project:
        """Convert a project; a `ProjectDetails` also answers `creditIssuances` without a fetch."""
        details = project if isinstance(project, models.ProjectDetails) else None
        return cls(
            upstream_id=project.id,
            **_plain_project_fields(project),
            lifetime=_lifetime(project.lifetime),
            notable_buyers=[NotableBuyer(**b.model_dump()) for b in project.notable_buyers or ()],
            due_diligence_figure=_figure(project.due_diligence_figure),
            news_articles=[NewsArticle(**a.model_dump()) for a in project.news_articles or ()],
            _details=details,
        )


_PLAIN_PROJECT_FIELDS = (
    "name",
    "type",
    "developer",
    "registry_name",
    "registry_id",
    "registry_url",
    "summary",
    "description",
    "location_name",
    "location_latitude",
    "location_longitude",
    "primary_image_url",
    "methodology",
    "verifier",
    "permanence",
    "impact_type",
    "due_diligence",
    "beyond_carbon",
    "risk_of_reversal",
)


def _plain_project_fields(project: models.Project) -> dict[str, Any]:
    fields: dict[str, Any] = {name: getattr(project, name) for name in _PLAIN_PROJECT_FIELDS}
    fields["activity_types"] = list(project.activity_types or ())
    fields["un_sdg_goals"] = list(project.un_sdg_goals)
    fields["third_party_labels"] = list(project.third_party_labels or ())
    return fields


def _lifetime(lifetime: models.ProjectLifetime | None) -> ProjectLifetime | None:
    return None if lifetime is None else ProjectLifetime(**lifetime.model_dump())


def _figure(figure: models.DueDiligenceFigure | None) -> DueDiligenceFigure | None:
    return None if figure is None else DueDiligenceFigure(**figure.model_dump())


@strawberry.type(description="A category of projects (e.g. reforestation) that portfolios allocate to.")
class ProjectCategory(Node):
    name: str
    description: str | None
    primary_image_url: str | None
    _projects: strawberry.Private[list[models.Project] | None]

    @strawberry.field(description="The category's projects.")
    async def projects(self, info: GatewayInfo) -> list[Project]:
        projects = self._projects
        if projects is None:
            projects = (await info.context.loaders.project_categories.load(self.upstream_id)).projects
        return [Project.from_backend(project) for project in projects]

    @classmethod
    def from_backend(cls, category: models.ProjectCategory) -> ProjectCategory:
        projects = category.projects if isinstance(category, models.ProjectCategoryDetails) else None
        return cls(
            upstream_id=category.id,
            name=category.name,
            description=category.description,
            primary_image_url=category.primary_image_url,
            _projects=projects,
        )


@strawberry.type(description="The share of a portfolio that goes to one project category.")
class CategoryAllocation:
    allocated_fraction: float = strawberry.field(description="Share of the portfolio, 0..1.")
    category: ProjectCategory


@strawberry.type(description="A portfolio of projects that orders are fulfilled from.")
class Portfolio(Node):
    name: str
    summary: str | None
    description: str | None
    primary_image_url: str | None
    _details: strawberry.Private[models.PortfolioDetails | None]

    async def _load_details(self, info: GatewayInfo) -> models.PortfolioDetails:
        return self._details or await info.context.loaders.portfolios.load(self.upstream_id)

    @strawberry.field(
        description="Price of 1 kg CO2e for API orders (US dollars, exact: may be a fraction of a cent)."
    )
    async def api_price_per_kg(self, info: GatewayInfo) -> Money | None:
        cents = (await self._load_details(info)).api_price_per_kg_usd_cents
        return None if cents is None else Money.from_usd_cents(cents)

    @strawberry.field(
        description="Price of 1 kg CO2e in checkout sessions (US dollars, exact; totals round up to cents)."
    )
    async def checkout_price_per_kg(self, info: GatewayInfo) -> Money | None:
        cents = (await self._load_details(info)).checkout_price_per_kg_usd_cents
        return None if cents is None else Money.from_usd_cents(cents)

    @strawberry.field(description="How the portfolio splits across project categories.")
    async def category_allocations(self, info: GatewayInfo) -> list[CategoryAllocation]:
        details = await self._load_details(info)
        return [
            CategoryAllocation(
                allocated_fraction=allocation.allocated_fraction,
                category=ProjectCategory.from_backend(allocation.category),
            )
            for allocation in details.category_allocations
        ]

    @classmethod
    def from_backend(cls, portfolio: models.Portfolio) -> Portfolio:
        details = portfolio if isinstance(portfolio, models.PortfolioDetails) else None
        return cls(
            upstream_id=portfolio.id,
            name=portfolio.name,
            summary=portfolio.summary,
            description=portfolio.description,
            primary_image_url=portfolio.primary_image_url,
            _details=details,
        )


async def load_portfolio(loaders: Loaders, portfolio_id: str) -> Portfolio:
    """A portfolio by upstream id (its loader primes the nested categories)."""
    return Portfolio.from_backend(await loaders.portfolios.load(portfolio_id))


async def fetch_portfolio_node(info: GatewayInfo, upstream_id: str) -> Portfolio:
    return await load_portfolio(info.context.loaders, upstream_id)


async def fetch_project_node(info: GatewayInfo, upstream_id: str) -> Project:
    return Project.from_backend(await info.context.loaders.projects.load(upstream_id))


async def fetch_project_category_node(info: GatewayInfo, upstream_id: str) -> ProjectCategory:
    return ProjectCategory.from_backend(await info.context.loaders.project_categories.load(upstream_id))


@strawberry.type
class CatalogueQueries:
    @strawberry.field(description="The portfolios this account may order from.")
    async def portfolios(self, info: GatewayInfo) -> list[Portfolio] | None:
        return [Portfolio.from_backend(p) for p in await info.context.loaders.portfolio_list.get()]

    @strawberry.field(description="A portfolio with prices and category allocations.")
    async def portfolio(self, info: GatewayInfo, id: strawberry.ID) -> Portfolio | None:
        return await load_portfolio(info.context.loaders, upstream_id_of(id, "Portfolio"))

    @strawberry.field(description="A project with its credit issuances.")
    async def project(self, info: GatewayInfo, id: strawberry.ID) -> Project | None:
        return await fetch_project_node(info, upstream_id_of(id, "Project"))

    @strawberry.field(description="A project category with its projects.")
    async def project_category(self, info: GatewayInfo, id: strawberry.ID) -> ProjectCategory | None:
        return await fetch_project_category_node(info, upstream_id_of(id, "ProjectCategory"))
