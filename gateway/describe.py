"""What a checked configuration resolves to, as lines for ``offsets-gateway check-config``.

Nothing secret is printed: the upstream URL loses any user:password part, the Redis URL is only said to
be set, keys and tokens are never shown.
"""

from __future__ import annotations

from gateway.auth.authenticate import AuthMode
from gateway.config import Settings
from gateway.preflight import Preflight


def describe(settings: Settings, checked: Preflight) -> list[str]:
    """One ``name: value`` line per aspect of the resolved configuration."""
    return [
        f"upstream: {_upstream(settings)}",
        f"auth: {_auth(settings, checked)}",
        f"redis: {_redis(settings)}",
        f"persisted queries: {_persisted(settings, checked)}",
        f"rate limit: {_rate_limit(settings)}",
        f"graphiql: {_on(settings.graphiql_enabled)}; introspection: {_on(settings.introspection_enabled)}",
        f"metrics: {_metrics(settings)}",
        f"cors origins: {', '.join(settings.security.cors_origins) or 'none'}",
    ]


def _on(value: bool) -> str:
    return "on" if value else "off"


def _redis(settings: Settings) -> str:
    return "on (shared by replicas)" if settings.security.redis_url else "off (state kept per process)"


def _upstream(settings: Settings) -> str:
    if settings.embedded_sandbox:
        return "sandbox (embedded, in-process: no real carbon credits are bought)"
    how = "pass-through of each caller's bearer key" if settings.pass_through_auth else "gateway API key"
    return f"{settings.safe_upstream_url} with {how}"


def _auth(settings: Settings, checked: Preflight) -> str:
    security = settings.security
    if checked.auth_mode is AuthMode.SANDBOX:
        return "sandbox (open to any caller)"
    if checked.auth_mode is AuthMode.OPEN:
        return "open (GATEWAY_ALLOW_UNAUTHENTICATED: anyone may spend the gateway's key)"
    if checked.auth_mode is AuthMode.PASS_THROUGH:
        return "pass-through (callers present their own upstream key)"
    jwt = "HS256 secret" if security.jwt_secret else ("JWKS" if security.jwt_jwks_url else "off")
    return f"gateway credentials: {checked.clients or 0} client token(s), JWT {jwt}"


def _persisted(settings: Settings, checked: Preflight) -> str:
    if checked.trusted_documents is not None:
        return f"trusted documents only ({checked.trusted_documents})"
    if not settings.security.apq:
        return "off"
    return "APQ in redis" if settings.security.redis_url else "APQ in memory"


def _rate_limit(settings: Settings) -> str:
    security = settings.security
    if not security.rate_limit_cost:
        return "off"
    return f"{security.rate_limit_cost} cost points per {security.rate_limit_window}s per credential"


def _metrics(settings: Settings) -> str:
    if not settings.metrics:
        return "off"
    return "on (token required)" if settings.metrics_token else "on (open)"
