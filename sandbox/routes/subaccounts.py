"""``/v1/subaccounts``: list, create, get, replace, delete, and the three logo endpoints.

These endpoints take no ``X-Subaccount-Id`` (it is ignored).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.bodies import CreateSubaccountBody, LogoUrlBody, SubaccountBody, parse, parse_body
from sandbox.pagination import paginate, parse_page
from sandbox.responses import json_response
from sandbox.services import services
from sandbox.subaccounts import Subaccounts, logo_from_upload, logo_from_url


def _subaccounts(request: Request) -> Subaccounts:
    svc = services(request)
    account = svc.accounts.authenticate(request)
    svc.accounts.require_subaccounts()
    return Subaccounts(svc.store, svc.catalogue, account["id"])


async def list_subaccounts(request: Request) -> Response:
    """``GET /subaccounts``: newest first, paginated."""
    subaccounts = _subaccounts(request)
    page = parse_page(request.query_params)
    return json_response({"data": paginate(subaccounts.newest_first(), page, lambda s: str(s["id"]))})


async def create_subaccount(request: Request) -> Response:
    """``POST /subaccounts`` (accepts ``Idempotency-Key``)."""
    svc = services(request)
    subaccounts = _subaccounts(request)

    async def create(raw: bytes) -> Response:
        doc = subaccounts.create(parse(CreateSubaccountBody, raw))
        return json_response(doc["subaccount"], status_code=201)

    return await svc.idempotency.run(request, svc.accounts.authenticate(request)["id"], create)


async def get_subaccount(request: Request) -> Response:
    """``GET /subaccounts/{id}``."""
    return json_response(_subaccounts(request).find(request.path_params["id"])["subaccount"])


async def update_subaccount(request: Request) -> Response:
    """``PUT /subaccounts/{id}``: full replacement; omitted ``email``/``default_portfolio_id`` are cleared."""
    subaccounts = _subaccounts(request)
    doc = subaccounts.find(request.path_params["id"])
    return json_response(subaccounts.replace(doc, await parse_body(request, SubaccountBody))["subaccount"])


async def delete_subaccount(request: Request) -> Response:
    """``DELETE /subaccounts/{id}``: 204, refused while it has orders."""
    subaccounts = _subaccounts(request)
    subaccounts.delete(subaccounts.find(request.path_params["id"]))
    return Response(status_code=204)


async def set_logo_from_url(request: Request) -> Response:
    """``POST /subaccounts/{id}/logo`` with ``{"logo_url": ...}``."""
    subaccounts = _subaccounts(request)
    doc = subaccounts.find(request.path_params["id"])
    body = await parse_body(request, LogoUrlBody)
    return json_response(
        subaccounts.set_logo(doc, logo_from_url(doc["subaccount"]["id"], body.logo_url))["subaccount"]
    )


async def upload_logo(request: Request) -> Response:
    """``PUT /subaccounts/{id}/logo`` with raw image bytes."""
    subaccounts = _subaccounts(request)
    doc = subaccounts.find(request.path_params["id"])
    url = logo_from_upload(
        doc["subaccount"]["id"], await request.body(), request.headers.get("content-type", "")
    )
    return json_response(subaccounts.set_logo(doc, url)["subaccount"])


async def remove_logo(request: Request) -> Response:
    """``DELETE /subaccounts/{id}/logo``."""
    subaccounts = _subaccounts(request)
    return json_response(
        subaccounts.set_logo(subaccounts.find(request.path_params["id"]), None)["subaccount"]
    )


ROUTES = [
    Route("/v1/subaccounts", list_subaccounts, methods=["GET"]),
    Route("/v1/subaccounts", create_subaccount, methods=["POST"]),
    Route("/v1/subaccounts/{id}", get_subaccount, methods=["GET"]),
    Route("/v1/subaccounts/{id}", update_subaccount, methods=["PUT"]),
    Route("/v1/subaccounts/{id}", delete_subaccount, methods=["DELETE"]),
    Route("/v1/subaccounts/{id}/logo", set_logo_from_url, methods=["POST"]),
    Route("/v1/subaccounts/{id}/logo", upload_logo, methods=["PUT"]),
    Route("/v1/subaccounts/{id}/logo", remove_logo, methods=["DELETE"]),
]
