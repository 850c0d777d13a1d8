"""The read-only catalogue: portfolios, their category allocations, project categories and projects.

Objects keep the backend model they came from. A list item or a nested project lacks fields only the
details endpoint returns (a portfolio's prices and allocations, a project's credit issuances, a
category's projects); those fields load the details through the request's loaders, once per object.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from gateway.backend import models
from gateway.context import GatewayInfo
from gateway.schema.arguments import id_argument
from gateway.schema.execution import memoizable
from gateway.schema.lookahead import MaybeAwaitable
from gateway.schema.money import Money
from gateway.schema.node import Node, upstream_id_field, upstream_id_of
from gateway.schema.scalars import DateTime

if TYPE_CHECKING:
    from gateway.loaders import Loaders


@strawberry.type(description="Credits issued for a project in one vintage year.")
class CreditIssuance:
    vintage_year: int = strawberry.field(
        description="The vintage: the year the emission reductions or removals took place."
    )
    total_amount: float = strawberry.field(description="Credits issued in that vintage, in kg CO2e.")

    @classmethod
    def from_backend(cls, issuance: models.CreditIssuance) -> CreditIssuance:
        return cls(vintage_year=issuance.vintage_year, total_amount=issuance.total_amount)


@strawberry.type(description="The years a project runs.")
class ProjectLifetime:
    start_year: int | None = strawberry.field(description="First year of the project, if known.")
    end_year: int | None = strawberry.field(description="Last year of the project, if known.")


@strawberry.type(description="A well-known buyer of a project's credits.")
class NotableBuyer:
    name: str = strawberry.field(description="The buyer's name.")
    logo_url: str | None = strawberry.field(description="URL of the buyer's logo.")
    logo_alt_text: str | None = strawberry.field(description="Alternative text for the logo.")


@strawberry.type(description="A figure illustrating a project's due diligence.")
class DueDiligenceFigure:
    description: str | None = strawberry.field(description="What the figure shows.")
    image_url: str | None = strawberry.field(description="URL of the figure's image.")
    image_alt_text: str | None = strawberry.field(description="Alternative text for the image.")


@strawberry.type(description="A news article about a project.")
class NewsArticle:
    title: str = strawberry.field(description="The article's title.")
    url: str = strawberry.field(description="Where the article is published.")
    author: str | None = strawberry.field(description="Who wrote it.")
    published_on: DateTime | None = strawberry.field(description="When it was published.")
    cnaught_take: str | None = strawberry.field(description="The offsets provider's comment on the article.")


@strawberry.type(description="A carbon project credits come from.")
class Project(Node):
    upstream_id: str = upstream_id_field()
    name: str = strawberry.field(description="The project's name.")
    type: str | None = strawberry.field(description="The project's type, e.g. `Reforestation`.")
    activity_types: list[str] = strawberry.field(description="The activities the project carries out.")
    developer: str | None = strawberry.field(description="Who develops the project.")
    registry_name: str | None = strawberry.field(
        description="The registry that issues its credits (may be the text `None`)."
    )
    registry_id: str | None = strawberry.field(description="The project's id at that registry.")
    registry_url: str | None = strawberry.field(description="The project's page at that registry.")
    summary: str | None = strawberry.field(description="A one-paragraph summary.")
    description: str | None = strawberry.field(description="A longer description.")
    location_name: str | None = strawberry.field(description="Where the project is, in words.")
    location_latitude: float | None = strawberry.field(
        description="Latitude of the project, in decimal degrees."
    )
    location_longitude: float | None = strawberry.field(
        description="Longitude of the project, in decimal degrees."
    )
    primary_image_url: str | None = strawberry.field(description="URL of the project's main image.")
    un_sdg_goals: list[int] = strawberry.field(description="UN Sustainable Development Goals (1-17).")
    methodology: str | None = strawberry.field(
        description="The crediting methodology, e.g. `Verified Carbon Standard (VCS)`."
    )
    verifier: str | None = strawberry.field(description="Who verifies the project.")
    permanence: str | None = strawberry.field(
        description="How long the carbon stays stored, in words (e.g. `100+ years`)."
    )
    lifetime: ProjectLifetime | None = strawberry.field(description="The years the project runs.")
    impact_type: str | None = strawberry.field(
        description="Kind of impact, e.g. `Removal` or `Avoided Emissions`."
    )
    due_diligence: str | None = strawberry.field(description="The provider's due-diligence notes.")
    beyond_carbon: str | None = strawberry.field(description="Benefits besides carbon.")
    risk_of_reversal: str | None = strawberry.field(
        description="The risk that stored carbon is released again, in words."
    )
    third_party_labels: list[str] = strawberry.field(
        description="Labels and certifications from third parties."
    )
    notable_buyers: list[NotableBuyer] = strawberry.field(description="Well-known buyers of its credits.")
    due_diligence_figure: DueDiligenceFigure | None = strawberry.field(
        description="A figure illustrating the due diligence."
    )
    news_articles: list[NewsArticle] = strawberry.field(description="News articles about the project.")
    _details: strawberry.Private[models.ProjectDetails | None]
    # Converted once per object: a page of orders shares one `Project` per upstream id across its
    # allocations (see `orders.ProjectMemo`), so 200 allocations ask 4 objects for their issuances.
    _issuances: strawberry.Private[list[CreditIssuance] | None] = None

    @strawberry.field(
        description="Credit issuances by vintage (one upstream call per distinct project).",
        graphql_type=list[CreditIssuance],
    )
    @memoizable
    def credit_issuances(self, info: GatewayInfo) -> MaybeAwaitable[list[CreditIssuance]]:
        # Synchronous when the details are in hand (a page of orders prefetches them): no task per field.
        if self._issuances is not None:
            return self._issuances
        details = self._details or info.context.loaders.projects.peek(self.upstream_id)
        if details is not None:
            self._issuances = _issuances(details)
            return self._issuances
        return self._load_issuances(info)

    async def _load_issuances(self, info: GatewayInfo) -> list[CreditIssuance]:
        return _issuances(await info.context.loaders.projects.load(self.upstream_id))

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


def _issuances(details: models.ProjectDetails) -> list[CreditIssuance]:
    return [CreditIssuance.from_backend(issuance) for issuance in details.credit_issuances]


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
    upstream_id: str = upstream_id_field()
    name: str = strawberry.field(description="The category's name.")
    description: str | None = strawberry.field(description="What the category covers.")
    primary_image_url: str | None = strawberry.field(description="URL of the category's main image.")
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
    category: ProjectCategory = strawberry.field(description="The project category.")


@strawberry.type(description="A portfolio of projects that orders are fulfilled from.")
class Portfolio(Node):
    upstream_id: str = upstream_id_field()
    name: str = strawberry.field(description="The portfolio's name.")
    summary: str | None = strawberry.field(description="A one-paragraph summary.")
    description: str | None = strawberry.field(description="A longer description.")
    primary_image_url: str | None = strawberry.field(description="URL of the portfolio's main image.")
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
    async def portfolio(
        self, info: GatewayInfo, id: Annotated[strawberry.ID, id_argument("portfolio")]
    ) -> Portfolio | None:
        return await load_portfolio(info.context.loaders, upstream_id_of(id, "Portfolio"))

    @strawberry.field(description="A project with its credit issuances.")
    async def project(
        self, info: GatewayInfo, id: Annotated[strawberry.ID, id_argument("project")]
    ) -> Project | None:
        return await fetch_project_node(info, upstream_id_of(id, "Project"))

    @strawberry.field(description="A project category with its projects.")
    async def project_category(
        self, info: GatewayInfo, id: Annotated[strawberry.ID, id_argument("project category")]
    ) -> ProjectCategory | None:
        return await fetch_project_category_node(info, upstream_id_of(id, "ProjectCategory"))
