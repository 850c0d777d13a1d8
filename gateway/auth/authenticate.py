"""Choosing the authentication mode from the settings and turning a request's credential into a Principal.

Modes:
* ``sandbox``: the embedded sandbox with no credentials configured; open to anyone (said at start-up).
* ``pass-through``: an upstream URL but no upstream key; the caller's bearer key is forwarded upstream.
* ``gateway``: callers present a client token (clients file) or a signed JWT; the gateway's key is used.
* ``open``: the gateway holds a key and ``GATEWAY_ALLOW_UNAUTHENTICATED`` is set; loudly logged.
"""

from __future__ import annotations

import asyncio
import enum
import logging

from gateway.auth.clients import ClientRegistry
from gateway.auth.errors import AuthenticationError
from gateway.auth.jwt import JwtVerifier, looks_like_jwt
from gateway.auth.principal import ALL_SCOPES, Principal, pass_through_principal, sandbox_principal
from gateway.security.settings import SecuritySettings

logger = logging.getLogger(__name__)


class AuthMode(enum.StrEnum):
    """How callers are authenticated."""

    SANDBOX = "sandbox"
    PASS_THROUGH = "pass-through"
    GATEWAY = "gateway"
    OPEN = "open"


def choose_mode(security: SecuritySettings, *, embedded_sandbox: bool, upstream_key_held: bool) -> AuthMode:
    """The mode the settings ask for; ValueError for a combination that would be unsafe or cannot work."""
    if security.credentials_configured:
        if not (embedded_sandbox or upstream_key_held):
            raise ValueError("client credentials need GATEWAY_UPSTREAM_API_KEY: the gateway calls upstream")
        return AuthMode.GATEWAY
    if embedded_sandbox:
        return AuthMode.SANDBOX
    if not upstream_key_held:
        return AuthMode.PASS_THROUGH
    if security.allow_unauthenticated:
        return AuthMode.OPEN
    raise ValueError(
        "the gateway holds an upstream API key but no caller credentials are configured: set "
        "GATEWAY_CLIENTS_FILE or GATEWAY_JWT_SECRET / GATEWAY_JWT_JWKS_URL "
        "(or GATEWAY_ALLOW_UNAUTHENTICATED=true to knowingly run an open gateway)"
    )


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header value."""
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


class Authenticator:
    """Turns the Authorization header into a Principal according to the mode."""

    def __init__(
        self, mode: AuthMode, *, clients: ClientRegistry | None = None, jwt: JwtVerifier | None = None
    ) -> None:
        self.mode = mode
        self._clients = clients
        self._jwt = jwt

    @classmethod
    def from_settings(
        cls, security: SecuritySettings, *, embedded_sandbox: bool, upstream_key_held: bool
    ) -> Authenticator:
        """Build from settings, reading the clients file; logs the mode (never a secret)."""
        mode = choose_mode(security, embedded_sandbox=embedded_sandbox, upstream_key_held=upstream_key_held)
        clients = ClientRegistry.load(security.clients_file) if security.clients_file else None
        verifier = _jwt_verifier(security)
        _log_mode(mode, clients, verifier)
        return cls(mode, clients=clients, jwt=verifier)

    def is_client_token(self, value: str) -> bool:
        """Whether `value` is one of the configured client tokens (compared by hash, as to authenticate)."""
        return self._clients is not None and self._clients.authenticate(value) is not None

    def use_clients(self, clients: ClientRegistry) -> None:
        """Authenticate client tokens against `clients` from now on (a reload of the clients file)."""
        self._clients = clients

    def anonymous(self) -> Principal:
        """The principal of a request that presented nothing and needs nothing (a GraphiQL page load).

        Outside sandbox/open mode it holds no scope, so if such a request ever reached an operation the
        scope check would refuse it, instead of falling back to the gateway's own key.
        """
        if self.mode is AuthMode.SANDBOX:
            return sandbox_principal()
        if self.mode is AuthMode.OPEN:
            return Principal(name="open", scopes=ALL_SCOPES)
        return Principal(name="anonymous", scopes=frozenset())

    async def authenticate(self, authorization: str | None) -> Principal:
        """The caller's principal; AuthenticationError when the mode needs a credential it lacks."""
        if self.mode in (AuthMode.SANDBOX, AuthMode.OPEN):
            return self.anonymous()
        token = bearer_token(authorization)
        if token is None:
            raise AuthenticationError("missing credentials: send Authorization: Bearer <token>")
        if self.mode is AuthMode.PASS_THROUGH:
            return pass_through_principal(token)
        return await self._gateway_credential(token)

    async def _gateway_credential(self, token: str) -> Principal:
        principal = self._clients.authenticate(token) if self._clients else None
        if principal is not None:
            return principal
        if self._jwt is not None and looks_like_jwt(token):
            if self._jwt.needs_network:  # PyJWKClient fetches keys with blocking urllib
                return await asyncio.to_thread(self._jwt.verify, token)
            return self._jwt.verify(token)
        raise AuthenticationError("invalid credentials")


def _jwt_verifier(security: SecuritySettings) -> JwtVerifier | None:
    if security.jwt_secret is None and security.jwt_jwks_url is None:
        return None
    return JwtVerifier(
        secret=security.jwt_secret.get_secret_value() if security.jwt_secret else None,
        jwks_url=security.jwt_jwks_url,
        audience=security.jwt_audience,
        issuer=security.jwt_issuer,
        leeway=security.jwt_leeway,
        subaccount_claim=security.jwt_subaccount_claim,
        require_subaccount=security.jwt_require_subaccount,
    )


def _log_mode(mode: AuthMode, clients: ClientRegistry | None, verifier: JwtVerifier | None) -> None:
    if mode is AuthMode.SANDBOX:
        pass  # said once, with the rest of sandbox mode, when the embedded sandbox starts (gateway.app)
    elif mode is AuthMode.OPEN:
        logger.warning("auth: OPEN mode - anyone may spend the gateway's upstream key")
    elif mode is AuthMode.PASS_THROUGH:
        logger.info("auth: pass-through mode - each caller's bearer key is forwarded upstream")
    else:
        logger.info(
            "auth: gateway credentials - %d client token(s), JWT %s",
            len(clients or ()),
            "on" if verifier else "off",
        )
