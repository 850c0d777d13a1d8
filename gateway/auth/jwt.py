"""Signed JWT credentials (PyJWT): an HS256 shared secret or keys from a JWKS URL.

Accepted claims: ``exp`` (required), ``aud``/``iss`` when configured, ``sub`` (the caller's name), the
scopes as ``scope`` (a space-separated string, as OAuth 2 servers issue them) or ``scopes`` (a list), and an
optional ``subaccount_id`` binding the token to one subaccount.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jwt

from gateway.auth.errors import AuthenticationError
from gateway.auth.principal import ALL_SCOPES, Principal

ASYMMETRIC_ALGORITHMS = ("RS256", "RS384", "RS512", "ES256", "ES384", "PS256", "EdDSA")


def looks_like_jwt(token: str) -> bool:
    """A cheap shape test (three base64url parts, JSON header), to tell JWTs from opaque tokens."""
    return token.startswith("eyJ") and token.count(".") == 2


class JwtVerifier:
    """Verifies bearer JWTs and turns their claims into a Principal.

    secret: the HS256 shared secret; jwks_url: where to fetch public keys (one of the two is required).
    audience/issuer: checked when given. leeway: seconds of clock skew tolerated on exp/nbf/iat.
    """

    def __init__(
        self,
        *,
        secret: str | None = None,
        jwks_url: str | None = None,
        audience: str | None = None,
        issuer: str | None = None,
        leeway: float = 0.0,
    ) -> None:
        if (secret is None) == (jwks_url is None):
            raise ValueError("give exactly one of secret or jwks_url")
        self._secret = secret
        self._jwks = jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=300, timeout=5) if jwks_url else None
        self._audience = audience
        self._issuer = issuer
        self._leeway = leeway

    @property
    def needs_network(self) -> bool:
        """True when verification may fetch keys (so callers should run it off the event loop)."""
        return self._jwks is not None

    def verify(self, token: str) -> Principal:
        """The principal of a valid token; AuthenticationError for anything else."""
        try:
            claims = self._decode(token)
        except (jwt.PyJWTError, ValueError) as exc:
            # The reason (expired, bad audience, bad signature) helps the caller; the token is never echoed.
            raise AuthenticationError(f"invalid token: {_reason(exc)}") from None
        return _principal_from_claims(claims)

    def _decode(self, token: str) -> dict[str, Any]:
        key: Any
        algorithms: Sequence[str]
        if self._jwks is not None:
            key, algorithms = self._jwks.get_signing_key_from_jwt(token).key, ASYMMETRIC_ALGORITHMS
        else:
            key, algorithms = self._secret, ("HS256",)
        required = ["exp"] + (["aud"] if self._audience else []) + (["iss"] if self._issuer else [])
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=list(algorithms),
            audience=self._audience,
            issuer=self._issuer,
            leeway=self._leeway,
            options={"require": required, "verify_aud": self._audience is not None},
        )
        return claims


def _reason(exc: Exception) -> str:
    if isinstance(exc, jwt.ExpiredSignatureError):
        return "expired"
    if isinstance(exc, jwt.InvalidAudienceError):
        return "wrong audience"
    if isinstance(exc, jwt.InvalidIssuerError):
        return "wrong issuer"
    if isinstance(exc, jwt.InvalidSignatureError):
        return "bad signature"
    if isinstance(exc, jwt.MissingRequiredClaimError):
        return f"missing claim {exc.claim!r}"
    return "malformed or unverifiable"


def _principal_from_claims(claims: dict[str, Any]) -> Principal:
    scopes = _scopes(claims)
    subaccount = claims.get("subaccount_id")
    if subaccount is not None and not isinstance(subaccount, str):
        raise AuthenticationError("invalid token: subaccount_id must be a string")
    name = claims.get("sub")
    return Principal(
        name=f"jwt:{name if isinstance(name, str) else 'anonymous'}", scopes=scopes, subaccount_id=subaccount
    )


def _scopes(claims: dict[str, Any]) -> frozenset[str]:
    raw = claims.get("scope", claims.get("scopes", ()))
    items = raw.split() if isinstance(raw, str) else raw
    if not isinstance(items, list | tuple) or not all(isinstance(s, str) for s in items):
        raise AuthenticationError("invalid token: scopes must be a string or a list of strings")
    # Unknown scopes are dropped, not rejected: an identity provider may issue scopes for other services.
    return frozenset(items) & ALL_SCOPES
