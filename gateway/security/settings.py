"""Security settings (env prefix ``GATEWAY_``), nested in `gateway.config.Settings` as `security`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

#: RFC 7518 section 3.2: an HS256 key of at least the hash's size.
MIN_HS256_SECRET_BYTES = 32


class SecuritySettings(BaseSettings):
    """Authentication, operation limits, rate limits, persisted queries and HTTP hardening.

    Each field is the env variable ``GATEWAY_<FIELD>`` (e.g. ``GATEWAY_CLIENTS_FILE``).
    """

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")

    # Authentication
    clients_file: Path | None = Field(
        default=None, description="JSON or TOML file of client tokens (stored as SHA-256 hashes) and scopes."
    )
    jwt_secret: SecretStr | None = Field(default=None, description="HS256 secret that signs caller JWTs.")
    jwt_jwks_url: str | None = Field(default=None, description="JWKS URL of the identity provider's keys.")
    jwt_audience: str | None = Field(default=None, description="Required `aud` claim of caller JWTs.")
    jwt_issuer: str | None = Field(default=None, description="Required `iss` claim of caller JWTs.")
    jwt_leeway: float = Field(default=10.0, ge=0, description="Seconds of clock skew allowed on JWT times.")
    jwt_subaccount_claim: str = Field(
        default="subaccount_id",
        min_length=1,
        description="JWT claim binding a token to one subaccount (present: must be a subaccount id).",
    )
    jwt_require_subaccount: bool = Field(
        default=False, description="Refuse JWTs without a subaccount binding (frontend-only audiences)."
    )
    allow_unauthenticated: bool = Field(
        default=False,
        description="Let anyone use the gateway's own upstream key with no credential (never in production).",
    )
    # Operation limits
    max_depth: int = Field(default=12, ge=1, description="Deepest selection nesting an operation may have.")
    max_aliases: int = Field(default=30, ge=0, description="Aliased fields an operation may have.")
    max_tokens: int = Field(default=2000, ge=1, description="Lexical tokens a document may have.")
    max_root_fields: int = Field(default=10, ge=1, description="Root fields one operation may select.")
    max_page_size: int = Field(
        default=100, ge=1, le=100, description="Cap on `first`/`last` of connections (the upstream's cap)."
    )
    default_list_size: int = Field(
        default=10, ge=1, description="Assumed length of unpaginated lists when estimating cost."
    )
    max_cost: int = Field(default=2000, ge=1, description="Largest static cost one operation may request.")
    # Rate limiting
    rate_limit_cost: int = Field(
        default=20000, ge=0, description="Cost points one credential may spend per window (0 disables)."
    )
    rate_limit_window: int = Field(default=60, ge=1, description="Rate-limit window in seconds.")
    redis_url: SecretStr | None = Field(
        default=None, description="Redis URL shared by replicas for rate limits and persisted queries."
    )
    # Persisted operations
    apq: bool = Field(default=True, description="Accept Apollo automatic persisted queries.")
    apq_ttl: int = Field(default=86400, ge=1, description="Seconds a persisted query is kept in Redis.")
    trusted_documents_file: Path | None = Field(
        default=None, description="JSON manifest of allowed operations (hash -> document); all else refused."
    )
    # HTTP hardening
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Browser origins allowed by CORS (comma-separated)."
    )
    csrf_protection: bool = Field(
        default=True,
        description="Refuse simple cross-site requests (GET, form/text POST) without preflight proof (CSRF).",
    )
    request_timeout: float = Field(default=30.0, gt=0, description="Seconds one HTTP request may take.")
    max_body_bytes: int = Field(
        default=1_048_576, ge=1, description="Largest JSON/GET request body in bytes."
    )
    max_upload_bytes: int = Field(default=5_242_880, ge=1, description="Largest multipart (upload) body.")

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    # The validators below say what is wrong without repeating the value: it may hold a password.

    @field_validator("cors_origins")
    @classmethod
    def _check_origins(cls, origins: list[str]) -> list[str]:
        # A browser's Origin header is scheme://host[:port]; anything else can never match it.
        for origin in origins:
            if origin != "*" and not _is_origin(origin):
                raise ValueError("each origin must be scheme://host[:port] (e.g. https://shop.example) or *")
        return origins

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        parts = urlsplit(value.get_secret_value().strip())
        if parts.scheme in ("redis", "rediss") and _has_host(value.get_secret_value()):
            return value
        if parts.scheme == "unix" and parts.path:
            return value
        raise ValueError("must be a redis://, rediss:// or unix:// URL")

    @field_validator("jwt_jwks_url")
    @classmethod
    def _check_jwks_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if urlsplit(value.strip()).scheme not in ("http", "https") or not _has_host(value.strip()):
            raise ValueError("must be an absolute http(s) URL")
        return value.strip()

    @field_validator("jwt_secret")
    @classmethod
    def _check_jwt_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().encode()) < MIN_HS256_SECRET_BYTES:
            raise ValueError(f"an HS256 secret must be at least {MIN_HS256_SECRET_BYTES} bytes")
        return value

    @field_validator("jwt_subaccount_claim")
    @classmethod
    def _check_subaccount_claim(cls, value: str) -> str:
        if value in _RESERVED_JWT_CLAIMS:
            raise ValueError(
                f"must not be a registered or scope claim ({', '.join(sorted(_RESERVED_JWT_CLAIMS))})"
            )
        return value

    @property
    def credentials_configured(self) -> bool:
        """True when callers must present a client token or a JWT."""
        return self.clients_file is not None or self.jwt_secret is not None or self.jwt_jwks_url is not None


#: Claims with another meaning: binding a tenant by `sub`, `aud`, ... would bind it to something else.
_RESERVED_JWT_CLAIMS = frozenset({"exp", "nbf", "iat", "iss", "aud", "sub", "jti", "scope", "scopes"})


def _has_host(url: str) -> bool:
    try:
        parts = urlsplit(url)
        _ = parts.port  # ValueError when the port is not a number in 0-65535
    except ValueError:
        return False
    return bool(parts.hostname)


def _is_origin(origin: str) -> bool:
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and _has_host(origin) and parts.path == "" and not parts.query
