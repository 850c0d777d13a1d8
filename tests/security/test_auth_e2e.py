"""Caller authentication over real HTTP: JWT failures, pass-through, sandbox mode and unsafe start-up."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import jwt
import pytest
from pydantic import SecretStr

from gateway.app import create_app
from gateway.config import Settings
from gateway.security.settings import SecuritySettings
from tests.security.conftest import AUDIENCE, JWT_SECRET, Gateway, SecureSetup, make_jwt
from tests.servers import serve

PORTFOLIOS = "{ portfolios { id } }"


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        (lambda: make_jwt({"scope": "read", "exp": int(time.time()) - 120}), "expired"),
        (lambda: make_jwt({"scope": "read", "aud": "another-api"}), "wrong audience"),
        (
            lambda: make_jwt({"scope": "read"}, secret="not-the-secret-0123456789abcdef012345"),
            "bad signature",
        ),
        (lambda: make_jwt({"scope": "read"})[:-4] + "AAAA", "bad signature"),
        (lambda: "tok_unknown_0123456789", "invalid credentials"),
        (lambda: "", "missing credentials"),
    ],
)
def test_bad_credentials_get_401_unauthenticated(
    gateway: Gateway, secure: SecureSetup, token: Callable[[], str], reason: str
) -> None:
    secure.request_log.clear()
    value = token()
    response = gateway.post(PORTFOLIOS, token=value or None)
    assert response.status_code == 401
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert reason in error["message"]
    assert value == "" or value not in response.text
    assert len(secure.request_log.entries) == 0  # nothing reached the upstream


def test_valid_jwt_is_accepted(gateway: Gateway) -> None:
    response = gateway.post(PORTFOLIOS, token=make_jwt({"scope": "read"}))
    assert response.status_code == 200 and response.json()["data"]["portfolios"]


def test_pass_through_forwards_each_callers_key(secure: SecureSetup) -> None:
    settings = Settings(upstream_url=f"{secure.sandbox_url}/v1")  # no upstream key: pass-through
    place = "mutation { placeOrder(input: {amountKg: 1}) { order { upstreamId } } }"
    orders = "{ orders(first: 20) { edges { node { upstreamId } } } }"
    with serve(create_app(settings)) as url, httpx.Client(base_url=url) as http:
        assert http.post("/graphql", json={"query": orders}).status_code == 401
        key1 = {"authorization": "Bearer sk_test_passthrough_one"}
        key2 = {"authorization": "Bearer sk_test_passthrough_two"}
        placed = http.post("/graphql", json={"query": place}, headers=key1).json()
        order_id = placed["data"]["placeOrder"]["order"]["upstreamId"]
        mine = http.post("/graphql", json={"query": orders}, headers=key1).json()
        theirs = http.post("/graphql", json={"query": orders}, headers=key2).json()
    assert order_id in str(mine["data"])
    assert order_id not in str(theirs["data"])  # the sandbox gives each key its own account


def test_sandbox_mode_is_open_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("WARNING")
    with serve(create_app(Settings())) as url:
        response = httpx.post(f"{url}/graphql", json={"query": PORTFOLIOS})
    assert response.status_code == 200 and response.json()["data"]["portfolios"]
    assert caplog.text.count("open to any caller") == 1  # said once, with the rest of sandbox mode


def test_a_key_holding_gateway_without_credentials_refuses_to_start(secure: SecureSetup) -> None:
    settings = Settings(
        upstream_url=f"{secure.sandbox_url}/v1", upstream_api_key=SecretStr("sk_test_x_123456")
    )
    with pytest.raises(ValueError, match="no caller credentials"):
        create_app(settings)
    fine = Settings(
        upstream_url=f"{secure.sandbox_url}/v1",
        upstream_api_key=SecretStr("sk_test_x_123456"),
        security=SecuritySettings(jwt_secret=SecretStr(JWT_SECRET), jwt_audience=AUDIENCE),
    )
    assert create_app(fine).state.security.mode == "gateway"


def test_jwt_signed_with_none_alg_is_refused(gateway: Gateway) -> None:
    unsigned = jwt.encode(
        {"exp": int(time.time()) + 60, "aud": AUDIENCE, "scope": "admin"}, None, algorithm="none"
    )
    assert gateway.post(PORTFOLIOS, token=unsigned).status_code == 401


def test_pass_through_key_refused_upstream_is_http_401(secure: SecureSetup) -> None:
    from sandbox.app import create_app as create_sandbox_app
    from sandbox.config import SandboxConfig

    good = "sk_test_passthrough_good"
    strict = create_sandbox_app(SandboxConfig(api_keys=[good], fulfilment_delay=0))
    with serve(strict) as upstream:
        settings = Settings(upstream_url=f"{upstream}/v1")  # pass-through: the upstream judges each key
        with serve(create_app(settings)) as url, httpx.Client(base_url=url) as http:
            bad = http.post(
                "/graphql", json={"query": PORTFOLIOS}, headers={"authorization": "Bearer sk_bad"}
            )
            ok = http.post(
                "/graphql", json={"query": PORTFOLIOS}, headers={"authorization": f"Bearer {good}"}
            )
    assert bad.status_code == 401 and bad.headers["www-authenticate"].startswith("Bearer")
    assert [e["extensions"]["code"] for e in bad.json()["errors"]] == ["UNAUTHENTICATED"]
    assert "sk_bad" not in bad.text
    assert ok.status_code == 200 and ok.json()["data"]["portfolios"]
