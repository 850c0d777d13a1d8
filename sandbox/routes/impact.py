"""``GET /v1/impact/data`` and ``GET /v1/impact/hosted-page-config``."""

from __future__ import annotations

from datetime import datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox import clock
from sandbox.impact import hosted_page_config, impact_data
from sandbox.problems import invalid_field
from sandbox.responses import json_response
from sandbox.services import services


def _moment(request: Request, name: str) -> datetime | None:
    raw = request.query_params.get(name)
    if not raw:
        return None
    try:
        return clock.parse_ts(raw)
    except ValueError:
        raise invalid_field(name, f"The value {raw!r} is not a valid ISO-8601 date-time.") from None


async def get_impact_data(request: Request) -> Response:
    """``GET /impact/data?from=&to=``."""
    svc = services(request)
    caller = svc.accounts.caller(request)
    since, until = _moment(request, "from"), _moment(request, "to")
    if since and until and since > until:
        raise invalid_field("from", "from must not be later than to.")
    orders = svc.orders.newest_first(caller)
    return json_response(impact_data(caller, orders, svc.catalogue, since, until))


async def get_hosted_page_config(request: Request) -> Response:
    """``GET /impact/hosted-page-config``."""
    svc = services(request)
    return json_response(hosted_page_config(svc.accounts.caller(request)))


ROUTES = [
    Route("/v1/impact/data", get_impact_data, methods=["GET"]),
    Route("/v1/impact/hosted-page-config", get_hosted_page_config, methods=["GET"]),
]
