"""Settings of the gateway, read once by `create_app` from the environment (prefix ``GATEWAY_``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from gateway.security.settings import SecuritySettings

LogLevel = Literal["critical", "error", "warning", "info", "debug"]
LogFormat = Literal["text", "json"]

#: The key the gateway presents to its embedded sandbox; the sandbox gives any key its own account.
EMBEDDED_SANDBOX_KEY = "sk_sandbox_embedded"


class OtelSettings(BaseSettings):
    """The standard ``OTEL_*`` variables deciding whether traces are exported (`gateway.telemetry.tracing`).

    The OpenTelemetry SDK reads the others itself (service name, resource attributes, sampler, exporter
    headers and timeout, batch processor).
    """

    model_config = SettingsConfigDict(env_prefix="OTEL_", extra="ignore")

    exporter_otlp_endpoint: str | None = None
    exporter_otlp_traces_endpoint: str | None = None
    sdk_disabled: bool = False
    traces_exporter: str = "otlp"

    @property
    def traces_endpoint(self) -> str | None:
        """Where OTLP/HTTP spans go; None when tracing is off (no endpoint, SDK disabled, exporter none)."""
        if self.sdk_disabled or self.traces_exporter.strip().lower() == "none":
            return None
        if self.exporter_otlp_traces_endpoint:
            return self.exporter_otlp_traces_endpoint
        if self.exporter_otlp_endpoint:
            return self.exporter_otlp_endpoint.rstrip("/") + "/v1/traces"
        return None


def environment() -> dict[str, str]:
    """A copy of the process environment, for `gateway.preflight`'s check of the variable names."""
    return dict(os.environ)


class Settings(BaseSettings):
    """Everything the gateway can be told; each field is the env variable ``GATEWAY_<FIELD>``.

    With no ``upstream_url`` the gateway runs on an embedded, in-process sandbox (no real credits are
    bought). With an ``upstream_url`` but no ``upstream_api_key``, each caller's own
    ``Authorization: Bearer`` key is passed through upstream.
    """

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")

    upstream_url: str | None = Field(
        default=None,
        description="Base URL of the offsets REST API, e.g. `https://api.cnaught.com/v1`. "
        "Unset: run on the embedded sandbox.",
    )
    upstream_api_key: SecretStr | None = Field(
        default=None,
        description="API key the gateway uses upstream. Unset with an upstream URL: pass through each "
        "caller's `Authorization: Bearer` key. Set without a URL: refused at start-up.",
    )
    connect_timeout: float = Field(default=5.0, gt=0, description="Seconds to open an upstream connection.")
    read_timeout: float = Field(default=30.0, gt=0, description="Seconds to wait for upstream response data.")
    write_timeout: float = Field(default=30.0, gt=0, description="Seconds to send an upstream request body.")
    pool_timeout: float = Field(
        default=5.0, gt=0, description="Seconds to wait for a free connection from the upstream pool."
    )
    max_connections: int = Field(default=100, ge=1, description="Upstream connection pool size.")
    max_keepalive_connections: int = Field(
        default=20, ge=0, description="Idle upstream connections kept open for reuse."
    )
    max_retries: int = Field(
        default=3,
        ge=0,
        description="Retries of a failed upstream call (reads, and mutations carrying an idempotency key).",
    )
    retry_base_delay: float = Field(
        default=0.25, ge=0, description="Seconds of the first retry's backoff ceiling; doubles per retry."
    )
    retry_max_delay: float = Field(
        default=4.0, ge=0, description="Cap in seconds on the jittered backoff between two retries."
    )
    retry_after_cap: float = Field(
        default=10.0, ge=0, description="Cap in seconds on how long an upstream `Retry-After` is honoured."
    )
    catalogue_cache_ttl: float = Field(
        default=60.0,
        ge=0,
        description="Seconds portfolios, projects and categories are cached across requests, per API key "
        "(0 disables).",
    )
    max_concurrent_upstream: int = Field(
        default=10, ge=1, description="Upstream calls one GraphQL request may have in flight at once."
    )
    max_batch_size: int = Field(
        default=10, ge=0, description="Operations one JSON-array batch may hold (`0` turns batching off)."
    )
    max_in_flight: int = Field(
        default=64,
        ge=0,
        description="HTTP requests one worker serves at once; more wait `queue_timeout`, then get 503 "
        "OVERLOADED (0: no limit).",
    )
    queue_timeout: float = Field(
        default=0.2, ge=0, description="Seconds a request waits for a free slot before 503 OVERLOADED."
    )
    gc_young_threshold: int = Field(
        default=5000,
        ge=0,
        description="Allocations between the garbage collector's youngest-generation passes (Python's own "
        "is 700; 0 turns automatic collection off). See bench/README.md for the measurements.",
    )
    graphiql: bool | None = Field(
        default=None,
        description="Serve GraphiQL at `GET /graphql` to browsers. Unset: on with the embedded sandbox "
        "unless trusted documents are on, off otherwise.",
    )
    introspection: bool | None = Field(
        default=None,
        description="Answer schema introspection queries (field suggestions go with it). Unset: on when "
        "GraphiQL is on (it reads the schema by introspection): with the embedded sandbox, off otherwise.",
    )
    log_level: LogLevel = Field(default="info", description="Log level of the gateway and uvicorn.")
    log_format: LogFormat = Field(
        default="text",
        description="`text` (human-readable lines) or `json` (one JSON object per line, for log shippers).",
    )
    federation: bool = Field(
        default=False,
        description="Serve an Apollo Federation v2 subgraph: `_service`, `_entities` and "
        '`@key(fields: "id")` on the node types (`gateway.federation`).',
    )
    metrics: bool = Field(
        default=True,
        description="Serve Prometheus metrics at `GET /metrics` (no ids or secrets in them; open to anyone "
        "who reaches the port unless `GATEWAY_METRICS_TOKEN` is set).",
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="Bearer token `GET /metrics` requires (Prometheus' `authorization` scrape option). "
        "Unset: no credentials needed.",
    )
    sandbox_db: Path | None = Field(
        default=None,
        description="Embedded sandbox only: SQLite file keeping its state across restarts (unset: memory).",
    )
    sandbox_fulfilment_delay: float = Field(
        default=3.0,
        ge=0,
        description="Embedded sandbox only: seconds an order stays `placed` before it is fulfilled.",
    )

    product_platform_url: str | None = Field(
        default=None,
        description="Base URL of the product platform that `recordProductOffsets`/`offsetProductBatch` "
        "write to (seed 000), e.g. `https://platform.example/product-api`. Unset: the embedded sandbox's "
        "product API in sandbox mode, else the product mutations answer PRODUCT_PLATFORM_NOT_CONFIGURED.",
    )
    product_platform_token_url: str | None = Field(
        default=None,
        description="OAuth2 token endpoint of the product platform. "
        "Unset: `<product_platform_url>/oauth/token`.",
    )
    product_platform_client_id: str | None = Field(
        default=None, description="OAuth2 client-credentials client id for the product platform."
    )
    product_platform_client_secret: SecretStr | None = Field(
        default=None, description="OAuth2 client-credentials secret for the product platform."
    )
    product_platform_audience: str | None = Field(
        default=None, description="Optional `audience` sent with product-platform token requests (Auth0)."
    )
    product_platform_timeout: float = Field(
        default=10.0, gt=0, description="Seconds to wait for the product platform (connect and read)."
    )

    @field_validator("product_platform_url", "product_platform_token_url")
    @classmethod
    def _check_product_urls(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an absolute http(s) URL")
        return value.strip().rstrip("/")

    public_url: str | None = Field(
        default=None,
        description="Where the upstream can reach this gateway, e.g. `https://gw.example.com`. Set: orders "
        "the gateway places without a `callbackUrl` carry `<public url>/webhooks/orders/<token>`, so their "
        "changes reach subscribers at once. Unset: subscribers hear of changes by polling.",
    )
    webhook_secret: SecretStr | None = Field(
        default=None,
        description="Secret signing the callback URLs' tokens. Unset: one shared through Redis when "
        "`GATEWAY_REDIS_URL` is set, else a random one per process.",
    )
    subscription_poll_interval: float = Field(
        default=10.0,
        gt=0,
        description="Seconds between two upstream reads of the orders subscribers watch (while any do).",
    )
    subscription_keepalive: float = Field(
        default=15.0, gt=0, description="Seconds between the server's pings on an idle subscription socket."
    )
    subscription_init_timeout: float = Field(
        default=10.0, gt=0, description="Seconds a WebSocket has to send an authenticated `connection_init`."
    )
    subscription_max_per_connection: int = Field(
        default=10, ge=1, description="Operations one WebSocket connection may run at once."
    )
    subscription_max_per_credential: int = Field(
        default=100, ge=1, description="Subscriptions one credential may hold open (per gateway process)."
    )
    subscription_queue_size: int = Field(
        default=100,
        ge=1,
        description="Events queued for one slow subscriber; one more ends its subscription with "
        "SUBSCRIPTION_OVERFLOW (it resubscribes and gets current states first).",
    )
    subscription_max_message_bytes: int = Field(
        default=65536,
        ge=1024,
        description="Largest WebSocket message a client may send (bigger: close 1009).",
    )

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
            raise ValueError("must be an absolute http(s) URL without query, e.g. https://gw.example.com")
        return value.strip().rstrip("/")

    security: SecuritySettings = Field(
        default_factory=SecuritySettings,
        description="Auth, limits, rate limits, persisted queries, CORS, CSRF (own `GATEWAY_*` variables).",
    )
    otel: OtelSettings = Field(
        default_factory=OtelSettings,
        description="OpenTelemetry tracing, from the standard `OTEL_*` variables (off without an endpoint).",
    )

    @field_validator("upstream_url")
    @classmethod
    def _check_upstream_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an absolute http(s) URL, e.g. https://api.cnaught.com/v1")
        return value.strip().rstrip("/")

    @field_validator("upstream_api_key")
    @classmethod
    def _check_key_has_url(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        # Without a URL the key would be ignored and the gateway would run on the sandbox, buying nothing.
        if value is None or not value.get_secret_value().strip():
            return None
        if "upstream_url" in info.data and info.data["upstream_url"] is None:
            raise ValueError("is set but GATEWAY_UPSTREAM_URL is not: set both, or neither for the sandbox")
        return value

    @property
    def embedded_sandbox(self) -> bool:
        """True when no upstream URL is set and the gateway talks to its in-process sandbox."""
        return self.upstream_url is None

    @property
    def pass_through_auth(self) -> bool:
        """True when callers' own bearer keys are forwarded upstream (URL set, no gateway key)."""
        return self.upstream_url is not None and self.upstream_api_key is None

    @property
    def introspection_enabled(self) -> bool:
        """Whether introspection is answered: the explicit setting, else whether GraphiQL is served.

        A team that switches GraphiQL on wants a working GraphiQL, which loads the schema by introspection;
        `GATEWAY_INTROSPECTION=false` still wins for those who want the page without it.
        """
        return self.graphiql_enabled if self.introspection is None else self.introspection

    @property
    def graphiql_enabled(self) -> bool:
        """Whether GraphiQL is served: the explicit setting, else on only for the embedded sandbox without
        trusted documents (which refuse GraphiQL's own queries; see `gateway.graphiql`)."""
        if self.graphiql is not None:
            return self.graphiql
        return self.embedded_sandbox and self.security.trusted_documents_file is None

    @property
    def safe_upstream_url(self) -> str:
        """The upstream URL fit for logs and messages: any user:password part is removed."""
        if self.upstream_url is None:
            return "embedded sandbox"
        parts = urlsplit(self.upstream_url)
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
