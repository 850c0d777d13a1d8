"""``POST /v1/checkout/sessions`` and ``GET /v1/checkout/sessions/{id}``, and their deprecated aliases.

Create honours ``X-Subaccount-Id`` and takes no idempotency key; get takes no ``X-Subaccount-Id``.

Deprecated aliases, the paths before 2024-05 that CNaught's Node SDK 2.8.0 (the newest on npm) still calls:
``POST /v1/orders/checkout-session`` (the same body plus a required ``email``, which the sandbox checks but
has no payment page to use) and ``GET /v1/orders/checkout-session/{id}``. They act on the same sessions and
answer in that era's shape (``status`` instead of ``state``), with ``Deprecation`` (RFC 9745, since
2024-05-01) and a ``Link`` to the successor path.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.bodies import CheckoutSessionBody, LegacyCheckoutSessionBody, parse_body
from sandbox.checkout import CheckoutSessions, legacy_view
from sandbox.responses import json_response
from sandbox.services import services
from sandbox.store import Document


async def _create(request: Request, body_model: type[CheckoutSessionBody]) -> Document:
    svc = services(request)
    caller = svc.accounts.caller(request)
    body = await parse_body(request, body_model)
    doc: Document = CheckoutSessions(svc.store, svc.catalogue).create(caller, body)["session"]
    return doc


async def _find(request: Request) -> Document:
    svc = services(request)
    account = svc.accounts.authenticate(request)
    doc = CheckoutSessions(svc.store, svc.catalogue).find(account["id"], request.path_params["id"])
    session: Document = doc["session"]
    return session


async def create_session(request: Request) -> Response:
    """``POST /checkout/sessions``: 201 with the open session."""
    return json_response(await _create(request, CheckoutSessionBody), status_code=201)


async def get_session(request: Request) -> Response:
    """``GET /checkout/sessions/{id}``."""
    return json_response(await _find(request))


#: RFC 9745 `Deprecation` (2024-05-01T00:00:00Z) and the successor of the legacy paths.
LEGACY_HEADERS = {"Deprecation": "@1714521600", "Link": '</v1/checkout/sessions>; rel="successor-version"'}


async def create_legacy_session(request: Request) -> Response:
    """``POST /orders/checkout-session`` (deprecated): 201 with the open session, in the old shape."""
    session = await _create(request, LegacyCheckoutSessionBody)
    return json_response(legacy_view(session), status_code=201, headers=LEGACY_HEADERS)


async def get_legacy_session(request: Request) -> Response:
    """``GET /orders/checkout-session/{id}`` (deprecated), in the old shape."""
    return json_response(legacy_view(await _find(request)), headers=LEGACY_HEADERS)


ROUTES = [
    Route("/v1/checkout/sessions", create_session, methods=["POST"]),
    Route("/v1/checkout/sessions/{id}", get_session, methods=["GET"]),
    Route("/v1/orders/checkout-session", create_legacy_session, methods=["POST"]),
    Route("/v1/orders/checkout-session/{id}", get_legacy_session, methods=["GET"]),
]
