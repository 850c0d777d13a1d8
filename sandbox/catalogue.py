"""Read-only catalogue: portfolios, project categories and projects, in their JSON shapes (section 3).

The views are rendered once, when the catalogue is built, because they never change.
"""

from __future__ import annotations

from typing import Any

from sandbox import seed
from sandbox.problems import not_found

_PROJECT_ONLY_FIELDS = ("credit_issuances",)
_PORTFOLIO_LIST_FIELDS = ("id", "name", "summary", "description", "primary_image_url")


class Catalogue:
    """Lookups over the seeded catalogue."""

    def __init__(self) -> None:
        self.projects = {pid: _project_view(p) for pid, p in seed.PROJECTS.items()}
        self.project_details = {pid: dict(p) for pid, p in seed.PROJECTS.items()}
        self.categories = {cid: self._category_view(c) for cid, c in seed.CATEGORIES.items()}
        self.portfolio_details = {pid: self._portfolio_view(p) for pid, p in seed.PORTFOLIOS.items()}
        self.portfolio_list = [{k: p[k] for k in _PORTFOLIO_LIST_FIELDS} for p in seed.PORTFOLIOS.values()]
        self.category_of_project = {
            pid: cid for cid, c in seed.CATEGORIES.items() for pid in c["project_ids"]
        }

    def _category_view(self, category: dict[str, Any]) -> dict[str, Any]:
        view = {k: v for k, v in category.items() if k != "project_ids"}
        view["projects"] = [self.projects[pid] for pid in category["project_ids"]]
        return view

    def _portfolio_view(self, portfolio: dict[str, Any]) -> dict[str, Any]:
        view = {k: v for k, v in portfolio.items() if k != "allocations"}
        view["category_allocations"] = [
            {"allocated_fraction": fraction, "category": self.categories[cid]}
            for cid, fraction in portfolio["allocations"].items()
        ]
        return view

    def has_portfolio(self, portfolio_id: str) -> bool:
        """Whether `portfolio_id` names a portfolio."""
        return portfolio_id in self.portfolio_details

    def portfolio(self, portfolio_id: str) -> dict[str, Any]:
        """PortfolioWithCategoryAllocations, or 404."""
        try:
            return self.portfolio_details[portfolio_id]
        except KeyError:
            raise not_found("portfolio") from None

    def project(self, project_id: str) -> dict[str, Any]:
        """ProjectWithCreditIssuances, or 404."""
        try:
            return self.project_details[project_id]
        except KeyError:
            raise not_found("project") from None

    def category(self, category_id: str) -> dict[str, Any]:
        """ProjectCategoryWithProjects, or 404."""
        try:
            return self.categories[category_id]
        except KeyError:
            raise not_found("project category") from None

    def price_per_kg(self, portfolio_id: str, source: str) -> float:
        """The portfolio's price per kg for ``source`` ``"api"`` or ``"checkout"``."""
        field = "checkout_price_per_kg_usd_cents" if source == "checkout" else "api_price_per_kg_usd_cents"
        price: float = self.portfolio_details[portfolio_id][field]
        return price

    def allocations(self, portfolio_id: str) -> list[tuple[str, float]]:
        """``(category id, fraction)`` pairs of a portfolio, in catalogue order."""
        return list(seed.PORTFOLIOS[portfolio_id]["allocations"].items())


def _project_view(project: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in project.items() if k not in _PROJECT_ONLY_FIELDS}
