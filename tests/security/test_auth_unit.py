"""Client tokens, JWT verification (HS256 and a JWKS served over real HTTP) and mode selection."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from gateway.auth.authenticate import Authenticator, AuthMode, choose_mode
from gateway.auth.clients import ClientRegistry, hash_token
from gateway.auth.errors import AuthenticationError, ClientsFileError
from gateway.auth.jwt import JwtVerifier
from gateway.auth.principal import ADMIN, ORDERS_WRITE, READ
from gateway.security.settings import SecuritySettings
from tests.servers import serve

SECRET = "test-jwt-secret-0123456789abcdef0123456789"


def make_jwt(claims: dict[str, Any], key: Any = SECRET, alg: str = "HS256", **headers: Any) -> str:
    base = {"exp": int(time.time()) + 300, "aud": "offsets-gateway", "iss": "https://idp.test"}
    return jwt.encode({**base, **claims}, key, algorithm=alg, headers=headers or None)


def test_clients_file_json_and_toml(tmp_path: Path) -> None:
    entry = {
        "name": "shop",
        "token_sha256": hash_token("tok-1"),
        "scopes": ["read"],
        "subaccount_id": "sub_1",
    }
    (tmp_path / "c.json").write_text(json.dumps({"clients": [entry]}))
    toml = f'[[clients]]\nname = "job"\ntoken_sha256 = "{hash_token("tok-2")}"\nscopes = ["orders:write"]\n'
    (tmp_path / "c.toml").write_text(toml)
    shop = ClientRegistry.load(tmp_path / "c.json").authenticate("tok-1")
    job = ClientRegistry.load(tmp_path / "c.toml").authenticate("tok-2")
    assert shop is not None and shop.scopes == {READ} and shop.subaccount_id == "sub_1"
    assert job is not None and job.scopes == {ORDERS_WRITE} and job.subaccount_id is None
    assert ClientRegistry.load(tmp_path / "c.json").authenticate("tok-2") is None


def test_clients_file_rejects_unknown_scope_and_plain_tokens(tmp_path: Path) -> None:
    bad_scope = {"name": "x", "token_sha256": hash_token("t"), "scopes": ["root"]}
    plain = {"name": "x", "token_sha256": "not-a-hash", "scopes": ["read"]}
    for number, entry in enumerate((bad_scope, plain)):
        path = tmp_path / f"{number}.json"
        path.write_text(json.dumps({"clients": [entry]}))
        with pytest.raises(ClientsFileError):
            ClientRegistry.load(path)


def test_jwt_hs256_claims_become_principal() -> None:
    verifier = JwtVerifier(secret=SECRET, audience="offsets-gateway", issuer="https://idp.test")
    principal = verifier.verify(
        make_jwt({"sub": "web", "scope": "read admin other", "subaccount_id": "sub_9"})
    )
    assert principal.name == "jwt:web"
    assert principal.scopes == {READ, ADMIN}
    assert principal.subaccount_id == "sub_9"


@pytest.mark.parametrize(
    ("claims", "key", "reason"),
    [
        ({"exp": int(time.time()) - 60}, SECRET, "expired"),
        ({"aud": "someone-else"}, SECRET, "wrong audience"),
        ({"iss": "https://evil.test"}, SECRET, "wrong issuer"),
        ({}, "another-secret-0123456789abcdef0123456789", "bad signature"),
    ],
)
def test_jwt_rejections(claims: dict[str, Any], key: str, reason: str) -> None:
    verifier = JwtVerifier(secret=SECRET, audience="offsets-gateway", issuer="https://idp.test")
    token = make_jwt(claims, key)
    with pytest.raises(AuthenticationError, match=reason) as info:
        verifier.verify(token)
    assert token not in str(info.value)


def test_jwt_without_exp_is_rejected() -> None:
    verifier = JwtVerifier(secret=SECRET)
    token = jwt.encode({"sub": "x", "scope": "read"}, SECRET, algorithm="HS256")
    with pytest.raises(AuthenticationError, match="missing claim 'exp'"):
        verifier.verify(token)


def test_jwt_alg_none_is_rejected() -> None:
    token = jwt.encode({"exp": int(time.time()) + 60, "scope": "admin"}, None, algorithm="none")
    with pytest.raises(AuthenticationError):
        JwtVerifier(secret=SECRET).verify(token)


def test_jwks_url_served_over_http() -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
    jwks = {"keys": [{**public_jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]}
    app = Starlette(routes=[Route("/jwks.json", lambda request: JSONResponse(jwks))])
    with serve(app) as base:
        verifier = JwtVerifier(jwks_url=f"{base}/jwks.json", audience="offsets-gateway")
        good = make_jwt({"sub": "svc", "scopes": ["orders:write"]}, private, "RS256", kid="k1")
        assert verifier.verify(good).scopes == {ORDERS_WRITE}
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        with pytest.raises(AuthenticationError, match="bad signature"):
            verifier.verify(make_jwt({"sub": "svc"}, other, "RS256", kid="k1"))
        hs = make_jwt({"sub": "svc"}, SECRET, "HS256", kid="k1")  # algorithm confusion attempt
        with pytest.raises(AuthenticationError):
            verifier.verify(hs)


def test_choose_mode() -> None:
    open_ = SecuritySettings(allow_unauthenticated=True)
    creds = SecuritySettings(jwt_secret=SECRET)
    none = SecuritySettings()
    assert choose_mode(none, embedded_sandbox=True, upstream_key_held=True) is AuthMode.SANDBOX
    assert choose_mode(creds, embedded_sandbox=True, upstream_key_held=True) is AuthMode.GATEWAY
    assert choose_mode(none, embedded_sandbox=False, upstream_key_held=False) is AuthMode.PASS_THROUGH
    assert choose_mode(open_, embedded_sandbox=False, upstream_key_held=True) is AuthMode.OPEN
    with pytest.raises(ValueError, match="no caller credentials"):
        choose_mode(none, embedded_sandbox=False, upstream_key_held=True)


async def test_authenticator_modes(tmp_path: Path) -> None:
    entry = {"name": "job", "token_sha256": hash_token("tok"), "scopes": ["admin"]}
    (tmp_path / "c.json").write_text(json.dumps({"clients": [entry]}))
    security = SecuritySettings(
        clients_file=tmp_path / "c.json", jwt_secret=SECRET, jwt_audience="offsets-gateway"
    )
    auth = Authenticator.from_settings(security, embedded_sandbox=False, upstream_key_held=True)
    assert (await auth.authenticate("Bearer tok")).name == "client:job"
    assert (await auth.authenticate(f"Bearer {make_jwt({'sub': 'w', 'scope': 'read'})}")).scopes == {READ}
    for header in (None, "", "Bearer", "Basic tok", "Bearer nope", "Bearer eyJ.x.y"):
        with pytest.raises(AuthenticationError):
            await auth.authenticate(header)
    assert auth.anonymous().scopes == frozenset()  # what a page load gets: nothing
    assert Authenticator(AuthMode.SANDBOX).anonymous().has_scope("orders:write")
    passing = Authenticator(AuthMode.PASS_THROUGH)
    assert (await passing.authenticate("Bearer sk_live_1")).api_key == "sk_live_1"
    with pytest.raises(AuthenticationError):
        await passing.authenticate(None)
