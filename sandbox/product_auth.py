"""OAuth2 client-credentials auth for the sandbox's product platform (RFC 6749 section 4.4).

`POST /product-api/oauth/token` takes `grant_type=client_credentials` with the client authenticated
either by HTTP Basic (preferred by the RFC) or by `client_id`/`client_secret` in the body (form-encoded
per the RFC, JSON too, as Auth0-style platforms accept it). An optional `audience` is kept in the
token's record. Tokens are opaque random strings with a configurable (possibly very short) lifetime,
so tests can force a refresh.
OAuth errors use the RFC's JSON shape `{"error": ..., "error_description": ...}`, never problem+json.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import unquote_plus

from starlette.requests import Request
from starlette.responses import JSONResponse

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


@dataclass(frozen=True)
class ClientCredentials:
    """The one client the platform knows; None on both = any non-empty pair is accepted (sandbox default)."""

    client_id: str | None = None
    client_secret: str | None = None

    def accepts(self, client_id: str, client_secret: str) -> bool:
        """Whether this id/secret pair authenticates (constant-time compare of the secret)."""
        if not client_id or not client_secret:
            return False
        if self.client_id is None or self.client_secret is None:
            return True
        same_id = hmac.compare_digest(client_id.encode(), self.client_id.encode())
        return same_id and hmac.compare_digest(client_secret.encode(), self.client_secret.encode())


@dataclass
class IssuedToken:
    """What the platform remembers about one access token."""

    client_id: str
    audience: str | None
    expires_at: float


@dataclass
class TokenIssuer:
    """Issues and checks opaque bearer tokens; `clock` is injectable so expiry is testable."""

    credentials: ClientCredentials
    lifetime: float
    clock: Callable[[], float] = time.monotonic
    tokens: dict[str, IssuedToken] = field(default_factory=dict)
    issued_count: int = 0

    def issue(self, client_id: str, audience: str | None) -> str:
        """A fresh token for `client_id`, valid for `lifetime` seconds."""
        token = secrets.token_urlsafe(32)
        self.tokens[token] = IssuedToken(client_id, audience, self.clock() + self.lifetime)
        self.issued_count += 1
        return token

    def revoke_all(self) -> None:
        """Forget every token (sandbox tests use it to make the next call answer 401)."""
        self.tokens.clear()

    def check(self, token: str) -> IssuedToken | None:
        """The token's record when it is known and unexpired, else None (expired ones are forgotten)."""
        issued = self.tokens.get(token)
        if issued is None:
            return None
        if issued.expires_at <= self.clock():
            del self.tokens[token]
            return None
        return issued


def oauth_error(error: str, description: str, status: int = 400) -> JSONResponse:
    """An RFC 6749 section 5.2 error response."""
    headers = dict(_NO_STORE)
    if error == "invalid_client":
        headers["WWW-Authenticate"] = 'Basic realm="product-api"'
    return JSONResponse({"error": error, "error_description": description}, status, headers=headers)


async def _form_or_json(request: Request) -> dict[str, str]:
    """The token request's parameters; form-encoded per the RFC, JSON accepted too."""
    raw = await request.body()
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        try:
            data = json.loads(raw or b"{}")
        except (ValueError, RecursionError):  # RecursionError: nesting deeper than the parser's stack
            return {}
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
    pairs = (part.split("=", 1) for part in raw.decode("latin-1").split("&") if "=" in part)
    return {unquote_plus(k): unquote_plus(v) for k, v in pairs}


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    """Client id and secret from `Authorization: Basic` (each part form-urlencoded, RFC 6749 2.3.1)."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    return (unquote_plus(client_id), unquote_plus(secret)) if sep else None


async def token_endpoint(issuer: TokenIssuer, request: Request) -> JSONResponse:
    """`POST /oauth/token`: exchange client credentials for a bearer token."""
    params = await _form_or_json(request)
    if params.get("grant_type") != "client_credentials":
        if "grant_type" not in params:
            return oauth_error("invalid_request", "grant_type is required")
        return oauth_error("unsupported_grant_type", "only client_credentials is supported")
    creds = _basic_credentials(request) or (params.get("client_id", ""), params.get("client_secret", ""))
    if not issuer.credentials.accepts(*creds):
        return oauth_error("invalid_client", "client authentication failed", 401)
    token = issuer.issue(creds[0], params.get("audience") or None)
    body = {"access_token": token, "token_type": "Bearer", "expires_in": int(issuer.lifetime)}
    return JSONResponse(body, headers=_NO_STORE)


def bearer_token(issuer: TokenIssuer, request: Request) -> IssuedToken | None:
    """The caller's valid token record, or None when the bearer token is missing, unknown or expired."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return issuer.check(token.strip())
