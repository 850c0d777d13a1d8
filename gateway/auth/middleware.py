"""ASGI middleware that authenticates every GraphQL request before the GraphQL layer sees it."""

from __future__ import annotations

import logging
from collections.abc import Collection

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.auth.authenticate import Authenticator
from gateway.auth.errors import AuthenticationError
from gateway.auth.principal import Principal
from gateway.headers import header
from gateway.security.middleware import carries_operation
from gateway.security.responses import send_error

logger = logging.getLogger(__name__)

PRINCIPAL_KEY = "principal"


class AuthenticationMiddleware:
    """Puts the caller's Principal in ``scope["state"]``; answers 401 UNAUTHENTICATED when it has none.

    A plain GET without a query (a browser opening GraphiQL) is let through unauthenticated: the page holds
    no data, and every operation it then sends is authenticated like any other.
    """

    def __init__(self, app: ASGIApp, authenticator: Authenticator, *, paths: Collection[str]) -> None:
        self.app = app
        self.authenticator = authenticator
        self.paths = frozenset(paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in self.paths:
            await self.app(scope, receive, send)
            return
        if _is_page_load(scope):
            scope.setdefault("state", {})[PRINCIPAL_KEY] = self.authenticator.anonymous()
            await self.app(scope, receive, send)
            return
        try:
            principal = await self.authenticator.authenticate(header(scope, b"authorization"))
        except AuthenticationError as exc:
            logger.info("auth: rejected a request to %s: %s", scope["path"], exc)
            headers = {"www-authenticate": 'Bearer realm="offsets-gateway"'}
            await send_error(send, 401, exc.code, str(exc), headers)
            return
        scope.setdefault("state", {})[PRINCIPAL_KEY] = principal
        await self.app(scope, receive, send)


def _is_page_load(scope: Scope) -> bool:
    # Parsed, not substring-matched: `?%71uery=...` is a query to the view, so it must be one here too.
    return scope["method"] in ("GET", "HEAD") and not carries_operation(scope)


def principal_of(connection: HTTPConnection) -> Principal | None:
    """The principal the middleware authenticated for this request, if any."""
    principal = connection.scope.get("state", {}).get(PRINCIPAL_KEY)
    return principal if isinstance(principal, Principal) else None
