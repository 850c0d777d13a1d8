"""Assembling the security layer from settings: middleware, schema extensions and its lifespan.

`create_app` calls `build_security(...)` once, hands `security.middleware()` to Starlette and
`security.schema_extensions()` to the schema, and runs `security.running()` in its lifespan. Middleware
order, outermost first: CORS (so even error answers carry CORS headers and preflights never reach the
rest), timeout, body size, CSRF, authentication, persisted queries (which need the body, hence inside the
size limit).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from redis.asyncio import Redis
from starlette.middleware import Middleware
from strawberry.extensions import AddValidationRules, SchemaExtension

from gateway.auth.authenticate import Authenticator, AuthMode
from gateway.auth.middleware import AuthenticationMiddleware
from gateway.operation_limits.cost import CostModel
from gateway.operation_limits.rules import limit_rules
from gateway.persisted import (
    MemoryQueryStore,
    PersistedQueries,
    PersistedQueryMiddleware,
    QueryStore,
    RedisQueryStore,
    TrustedDocuments,
)
from gateway.ratelimit import CostRateLimiter
from gateway.redis_breaker import RedisBreaker, connect
from gateway.security.cors import GatewayCORSMiddleware
from gateway.security.guard import GuardConfig, OperationGuard
from gateway.security.middleware import (
    PREFLIGHT_HEADERS,
    BodySizeLimitMiddleware,
    CSRFMiddleware,
    RequestTimeoutMiddleware,
)
from gateway.security.redaction import RedactingFilter, install_redaction, remove_redaction
from gateway.security.settings import SecuritySettings

logger = logging.getLogger(__name__)

GRAPHQL_PATHS = frozenset({"/graphql", "/graphql/"})
#: Headers browsers may send cross-origin to /graphql once the origin is allowed: credentials, the CSRF
#: preflight headers, Apollo's client awareness headers and the caller's own request id.
CORS_HEADERS = [
    "authorization",
    "content-type",
    *PREFLIGHT_HEADERS,
    "apollographql-client-name",
    "apollographql-client-version",
    "x-request-id",
]
#: Response headers browser code may read: when to retry, and the id to quote to support.
CORS_EXPOSED_HEADERS = ["retry-after", "x-request-id"]


@dataclass
class Security:
    """The security layer of one gateway app."""

    settings: SecuritySettings
    authenticator: Authenticator
    limiter: CostRateLimiter | None
    queries: PersistedQueries
    redactor: RedactingFilter
    redis: Redis | None = None
    #: Whether Redis answers (None without Redis): shared by the limiter, the APQ store and `/readyz`.
    redis_breaker: RedisBreaker | None = None

    @property
    def mode(self) -> AuthMode:
        """The authentication mode in force."""
        return self.authenticator.mode

    def middleware(self) -> list[Middleware]:
        """Starlette middleware, outermost first."""
        s = self.settings
        stack = [
            Middleware(
                GatewayCORSMiddleware,
                allow_origins=s.cors_origins,
                allow_methods=["GET", "POST"],
                allow_headers=CORS_HEADERS,
                expose_headers=CORS_EXPOSED_HEADERS,
                max_age=600,
            ),
            Middleware(RequestTimeoutMiddleware, seconds=s.request_timeout, paths=GRAPHQL_PATHS),
            Middleware(
                BodySizeLimitMiddleware, max_bytes=s.max_body_bytes, max_upload_bytes=s.max_upload_bytes
            ),
        ]
        if s.csrf_protection:
            stack.append(Middleware(CSRFMiddleware, paths=GRAPHQL_PATHS))
        stack.append(
            Middleware(AuthenticationMiddleware, authenticator=self.authenticator, paths=GRAPHQL_PATHS)
        )
        stack.append(Middleware(PersistedQueryMiddleware, queries=self.queries, paths=GRAPHQL_PATHS))
        return stack

    def schema_extensions(self) -> list[Callable[[], SchemaExtension]]:
        """Factories of the per-request schema extensions (limit rules, then the operation guard)."""
        s = self.settings
        rules = limit_rules(
            max_depth=s.max_depth, max_aliases=s.max_aliases, max_root_fields=s.max_root_fields
        )
        config = GuardConfig(
            max_tokens=s.max_tokens,
            max_cost=s.max_cost,
            cost_model=CostModel(max_page_size=s.max_page_size, default_list_size=s.default_list_size),
        )
        limiter = self.limiter
        return [lambda: AddValidationRules(rules), lambda: OperationGuard(config=config, limiter=limiter)]

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """For the app's lifespan: log redaction on while serving; connections released at shutdown."""
        install_redaction(self.redactor)
        try:
            yield
        finally:
            remove_redaction(self.redactor)
            await self.aclose()

    async def aclose(self) -> None:
        """Release connections (the APQ store, the Redis pool)."""
        if self.queries.store is not None:
            await self.queries.store.close()
        if self.redis is not None:
            await self.redis.aclose()


def build_security(
    security: SecuritySettings, *, embedded_sandbox: bool, upstream_key: str | None
) -> Security:
    """Build the security layer; raises ValueError on an unsafe or impossible configuration."""
    authenticator = Authenticator.from_settings(
        security, embedded_sandbox=embedded_sandbox, upstream_key_held=upstream_key is not None
    )
    redis_url = security.redis_url.get_secret_value() if security.redis_url else None
    # One lazily connecting client (a pool) and one breaker, shared by the rate limiter and the APQ store.
    client = connect(redis_url) if redis_url else None
    breaker = RedisBreaker() if client else None
    limiter = (
        CostRateLimiter(
            security.rate_limit_cost, security.rate_limit_window, redis_client=client, breaker=breaker
        )
        if security.rate_limit_cost > 0
        else None
    )
    trusted = (
        TrustedDocuments.load(security.trusted_documents_file) if security.trusted_documents_file else None
    )
    store: QueryStore | None = None
    if security.apq and trusted is None:
        store = RedisQueryStore(client, security.apq_ttl, breaker=breaker) if client else MemoryQueryStore()
    secrets = [s for s in (upstream_key, redis_url, _jwt_secret(security)) if s]
    _log_limits(security, trusted)
    queries = PersistedQueries(store=store, trusted=trusted)
    return Security(security, authenticator, limiter, queries, RedactingFilter(secrets), client, breaker)


def _jwt_secret(security: SecuritySettings) -> str | None:
    return security.jwt_secret.get_secret_value() if security.jwt_secret else None


def _log_limits(security: SecuritySettings, trusted: TrustedDocuments | None) -> None:
    logger.info(
        "limits: depth %d, aliases %d, tokens %d, root fields %d, page size %d, cost %d; rate %s; %s",
        security.max_depth,
        security.max_aliases,
        security.max_tokens,
        security.max_root_fields,
        security.max_page_size,
        security.max_cost,
        f"{security.rate_limit_cost}/{security.rate_limit_window}s"
        + (" (redis)" if security.redis_url else " (memory)")
        if security.rate_limit_cost
        else "off",
        f"trusted documents only ({len(trusted)})" if trusted else ("APQ on" if security.apq else "APQ off"),
    )
