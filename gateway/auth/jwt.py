"""Signed JWT credentials (PyJWT): an HS256 shared secret or keys from a JWKS URL.

Accepted claims: ``exp`` (required), ``aud``/``iss`` when configured, ``sub`` (the caller's name), the
scopes as ``scope`` (a space-separated string, as OAuth 2 servers issue them) or ``scopes`` (a list), and the
binding to one subaccount in the claim named by ``GATEWAY_JWT_SUBACCOUNT_CLAIM`` (default ``subaccount_id``).

The binding fails closed: a binding claim that is present must be a subaccount's upstream id (``null``, an
empty string or a non-string refuses the token, never leaves it unbound); a token without it but with a
look-alike claim (``subaccountId``, ``SubAccount-ID``, or ``subaccount_id`` when another claim is configured)
is refused as a likely misnamed binding; and with
``GATEWAY_JWT_REQUIRE_SUBACCOUNT=true`` (frontend-only audiences) a token without a binding is refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import jwt

from gateway.auth.errors import AuthenticationError
from gateway.auth.principal import ALL_SCOPES, Principal
from gateway.ids import UPSTREAM_ID_HELP, is_upstream_id

DEFAULT_SUBACCOUNT_CLAIM = "subaccount_id"
ASYMMETRIC_ALGORITHMS = ("RS256", "RS384", "RS512", "ES256", "ES384", "PS256", "EdDSA")


def looks_like_jwt(token: str) -> bool:
    """A cheap shape test (three base64url parts, JSON header), to tell JWTs from opaque tokens."""
    return token.startswith("eyJ") and token.count(".") == 2


class JwtVerifier:
    """Verifies bearer JWTs and turns their claims into a Principal.

    secret: the HS256 shared secret; jwks_url: where to fetch public keys (one of the two is required).
    audience/issuer: checked when given. leeway: seconds of clock skew tolerated on exp/nbf/iat.
    subaccount_claim: the claim binding a token to a subaccount; require_subaccount: refuse unbound tokens.
    """

    def __init__(
        self,
        *,
        secret: str | None = None,
        jwks_url: str | None = None,
        audience: str | None = None,
        issuer: str | None = None,
        leeway: float = 0.0,
        subaccount_claim: str = DEFAULT_SUBACCOUNT_CLAIM,
        require_subaccount: bool = False,
    ) -> None:
        if (secret is None) == (jwks_url is None):
            raise ValueError("give exactly one of secret or jwks_url")
        self._secret = secret
        self._jwks = jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=300, timeout=5) if jwks_url else None
        self._audience = audience
        self._issuer = issuer
        self._leeway = leeway
        self._binding = BindingRule(subaccount_claim, require_subaccount)

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
        return _principal_from_claims(claims, self._binding)

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


@dataclass(frozen=True)
class BindingRule:
    """Where a token carries its subaccount binding, and whether every token must carry one."""

    claim: str = DEFAULT_SUBACCOUNT_CLAIM
    required: bool = False

    def subaccount(self, claims: dict[str, Any]) -> str | None:
        """The bound subaccount; None for an unbound token; AuthenticationError for a doubtful binding."""
        if self.claim not in claims:
            folded = {_folded(self.claim), _folded(DEFAULT_SUBACCOUNT_CLAIM)}
            lookalike = next((k for k in claims if _folded(k) in folded), None)
            if lookalike is not None:
                raise AuthenticationError(
                    f"invalid token: the subaccount binding claim is {self.claim!r}, not {lookalike!r}"
                )
            if self.required:
                raise AuthenticationError(
                    f"invalid token: missing the subaccount binding claim {self.claim!r}"
                )
            return None
        value = claims[self.claim]
        if not isinstance(value, str) or not is_upstream_id(value):
            raise AuthenticationError(
                f"invalid token: claim {self.claim!r} must be a subaccount id ({UPSTREAM_ID_HELP})"
            )
        return value


def _folded(claim: str) -> str:
    return "".join(ch for ch in claim.lower() if ch.isalnum())


def _principal_from_claims(claims: dict[str, Any], binding: BindingRule) -> Principal:
    scopes = _scopes(claims)
    subaccount = binding.subaccount(claims)
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
