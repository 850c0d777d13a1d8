"""The read-only catalogue: ``/v1/portfolios``, ``/v1/projects/{id}``, ``/v1/project-categories/{id}``.

These take no ``X-Subaccount-Id`` (it is ignored) but still require a valid API key.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.responses import json_response
from sandbox.services import services


async def list_portfolios(request: Request) -> Response:
    """``GET /portfolios``: unpaginated."""
    svc = services(request)
    svc.accounts.authenticate(request)
    return json_response({"data": svc.catalogue.portfolio_list})


async def get_portfolio(request: Request) -> Response:
    """``GET /portfolios/{id}`` with category allocations and prices."""
    svc = services(request)
    svc.accounts.authenticate(request)
    return json_response(svc.catalogue.portfolio(request.path_params["id"]))


async def get_project(request: Request) -> Response:
    """``GET /projects/{id}`` with credit issuances."""
    svc = services(request)
    svc.accounts.authenticate(request)
    return json_response(svc.catalogue.project(request.path_params["id"]))


async def get_project_category(request: Request) -> Response:
    """``GET /project-categories/{id}`` with its projects."""
    svc = services(request)
    svc.accounts.authenticate(request)
    return json_response(svc.catalogue.category(request.path_params["id"]))


ROUTES = [
    Route("/v1/portfolios", list_portfolios, methods=["GET"]),
    Route("/v1/portfolios/{id}", get_portfolio, methods=["GET"]),
    Route("/v1/projects/{id}", get_project, methods=["GET"]),
    Route("/v1/project-categories/{id}", get_project_category, methods=["GET"]),
]
