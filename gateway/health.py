"""Liveness (``/healthz``) and readiness (``/readyz``) endpoints for orchestrators and load balancers.

With Redis configured, ``/readyz`` also reports it as ``"redis": "up"`` or ``"down"``. Redis down keeps the
answer ``200`` (``"status": "degraded"``): the gateway serves without it (per-process rate limits, APQ
documents resent), and taking every replica out of the load balancer when the shared Redis fails would
turn a degraded service into an outage. Each ``/readyz`` also probes a Redis that is down (at most once
per probe interval), so recovery is noticed even without traffic.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gateway.redis_breaker import RedisUnavailableError

logger = logging.getLogger(__name__)


async def healthz(request: Request) -> JSONResponse:
    """The process serves HTTP. Never touches the upstream, so a slow upstream cannot get us restarted."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    """The upstream answers; ``503`` otherwise, so traffic goes to instances that can serve it."""
    redis = await _redis_state(request)
    try:
        await request.state.client.ping()
    except Exception as exc:
        # Only the error's class goes out: its message could name the upstream host.
        logger.warning("readiness check failed: %s", type(exc).__name__)
        body = {"status": "unavailable", "reason": type(exc).__name__, **redis}
        return JSONResponse(body, status_code=503)
    return JSONResponse({"status": "degraded" if redis.get("redis") == "down" else "ready", **redis})


async def _redis_state(request: Request) -> dict[str, str]:
    """``{"redis": "up" | "down"}`` when the gateway uses Redis, else ``{}``."""
    security = getattr(request.app.state, "security", None)
    breaker, client = getattr(security, "redis_breaker", None), getattr(security, "redis", None)
    if breaker is None or client is None:
        return {}
    try:
        await breaker.call(client.ping)
    except RedisUnavailableError:
        return {"redis": "down"}
    return {"redis": "up"}


def health_routes() -> list[Route]:
    """The two probe routes."""
    return [
        Route("/healthz", healthz, methods=["GET", "HEAD"]),
        Route("/readyz", readyz, methods=["GET", "HEAD"]),
    ]
