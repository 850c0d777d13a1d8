"""One access line per HTTP request (logger ``gateway.access``), with the request id and the duration.

Replaces uvicorn's access log (silenced by `gateway.telemetry.logs`), which knows neither. Only the
gateway's own paths are logged (``/graphql``, ``/healthz``, ``/readyz``, ``/metrics``), without the query
string (a ``GET /graphql?query=...`` carries variables there); any other path is logged as ``(other)``,
since a path is caller-chosen text that may hold a credential (a webhook token, a key pasted into a URL).
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.metrics import KNOWN_PATHS

logger = logging.getLogger("gateway.access")


class AccessLogMiddleware:
    """Logs ``<client> "<method> <path>" <status> <ms>`` once each HTTP response is complete."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not logger.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]  # what the server answers when the app fails before starting a response

        async def send_noting_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            _log(scope, status[0], time.perf_counter() - started)


def _log(scope: Scope, status: int, seconds: float) -> None:
    client = scope.get("client")
    address = f"{client[0]}:{client[1]}" if client else "-"
    method, path = scope["method"], scope["path"] if scope["path"] in KNOWN_PATHS else "(other)"
    fields = {
        "client_addr": address,
        "method": method,
        "path": path,
        "status": status,
        "duration_ms": round(seconds * 1000, 2),
    }
    logger.info(
        '%s "%s %s" %d %.1fms', address, method, path, status, seconds * 1000, extra={"fields": fields}
    )
