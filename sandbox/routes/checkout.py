"""``POST /v1/checkout/sessions`` and ``GET /v1/checkout/sessions/{id}``.

Create honours ``X-Subaccount-Id`` and takes no idempotency key; get takes no ``X-Subaccount-Id``.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.bodies import CheckoutSessionBody, parse_body
from sandbox.checkout import CheckoutSessions
from sandbox.responses import json_response
from sandbox.services import services


async def create_session(request: Request) -> Response:
    """``POST /checkout/sessions``: 201 with the open session."""
    svc = services(request)
    caller = svc.accounts.caller(request)
    body = await parse_body(request, CheckoutSessionBody)
    doc = CheckoutSessions(svc.store, svc.catalogue).create(caller, body)
    return json_response(doc["session"], status_code=201)


async def get_session(request: Request) -> Response:
    """``GET /checkout/sessions/{id}``."""
    svc = services(request)
    account = svc.accounts.authenticate(request)
    doc = CheckoutSessions(svc.store, svc.catalogue).find(account["id"], request.path_params["id"])
    return json_response(doc["session"])


ROUTES = [
    Route("/v1/checkout/sessions", create_session, methods=["POST"]),
    Route("/v1/checkout/sessions/{id}", get_session, methods=["GET"]),
]
