"""Liveness (``/healthz``) and readiness (``/readyz``) endpoints for orchestrators and load balancers."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

logger = logging.getLogger(__name__)


async def healthz(request: Request) -> JSONResponse:
    """The process serves HTTP. Never touches the upstream, so a slow upstream cannot get us restarted."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    """The upstream answers; ``503`` otherwise, so traffic goes to instances that can serve it."""
    try:
        await request.state.client.ping()
    except Exception as exc:
        # Only the error's class goes out: its message could name the upstream host.
        logger.warning("readiness check failed: %s", type(exc).__name__)
        return JSONResponse({"status": "unavailable", "reason": type(exc).__name__}, status_code=503)
    return JSONResponse({"status": "ready"})


def health_routes() -> list[Route]:
    """The two probe routes."""
    return [
        Route("/healthz", healthz, methods=["GET", "HEAD"]),
        Route("/readyz", readyz, methods=["GET", "HEAD"]),
    ]
