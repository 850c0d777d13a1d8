"""Sandbox-only lifecycle endpoints (always on; Bearer auth of the owning account).

- ``POST /_sandbox/orders/{id}/fulfil`` -> 200 order: fulfil a placed order now (a fulfilled one is
  returned as is; a cancelled one is 403; 409 when the inventory cannot cover it).
- ``POST /_sandbox/checkout/sessions/{id}/complete`` -> 200 session: play the buyer paying; creates the
  session's order (its id is in the ``X-Sandbox-Order-Id`` header), which is then fulfilled as usual;
  ``X-Sandbox-Success-Url`` is the ``success_url`` the buyer would be redirected to, with
  ``{CHECKOUT_SESSION_ID}`` substituted.
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.accounts import SUBACCOUNTS, Caller
from sandbox.checkout import CheckoutSessions
from sandbox.responses import json_response
from sandbox.services import services

_URL_SAFE = ":/?#[]@!$&'()*+,;=%~"


async def fulfil_order(request: Request) -> Response:
    """Fulfil an order on demand."""
    svc = services(request)
    account = svc.accounts.authenticate(request)
    doc = svc.orders.find(Caller(account, None), request.path_params["id"])
    return json_response(svc.fulfiller.fulfil(doc)["order"])


async def complete_session(request: Request) -> Response:
    """Complete a checkout session and create its order."""
    svc = services(request)
    account = svc.accounts.authenticate(request)
    sessions = CheckoutSessions(svc.store, svc.catalogue)
    doc = sessions.find(account["id"], request.path_params["id"])
    new = sessions.complete(doc)
    subaccount_id = doc["session"]["subaccount_id"]
    subaccount = svc.store.get(SUBACCOUNTS, subaccount_id) if subaccount_id else None
    order = svc.orders.create(Caller(account, subaccount), new)
    svc.fulfiller.schedule(order["order"]["id"])
    # Where CNaught's hosted page would send the buyer: the template filled in, as on a real redirect.
    redirect = doc["session"]["success_url"].replace("{CHECKOUT_SESSION_ID}", doc["session"]["id"])
    redirect = quote(redirect, safe=_URL_SAFE)  # a header is ASCII: percent-encode anything else
    headers = {"X-Sandbox-Order-Id": order["order"]["id"], "X-Sandbox-Success-Url": redirect}
    return json_response(doc["session"], headers=headers)


ROUTES = [
    Route("/_sandbox/orders/{id}/fulfil", fulfil_order, methods=["POST"]),
    Route("/_sandbox/checkout/sessions/{id}/complete", complete_session, methods=["POST"]),
]
