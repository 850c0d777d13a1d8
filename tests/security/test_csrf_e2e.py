"""CSRF prevention and CORS over real HTTP: real clients' requests pass, forged browser requests do not.

A request passes when it carries something a browser sends cross-site only after a CORS preflight (a
non-simple Content-Type, a preflight header, a Bearer token); a request that passes the CSRF check but has
no credential gets 401, which shows the check let it through to authentication.
"""

from __future__ import annotations

import httpx
import pytest

from tests.security.conftest import Gateway, SecureSetup

QUERY = {"query": "{ portfolios { id } }"}
BODY = b'{"query": "{ portfolios { id } }"}'
MULTIPART = {"operations": '{"query": "{ portfolios { id } }"}', "map": "{}"}


def codes(response: httpx.Response) -> list[str]:
    return [(e.get("extensions") or {}).get("code") for e in response.json().get("errors") or ()]


def get(gateway: Gateway, headers: dict[str, str]) -> httpx.Response:
    return gateway.http.get("/graphql", params=QUERY, headers=headers)


def post(gateway: Gateway, content_type: str | None, headers: dict[str, str] | None = None) -> httpx.Response:
    all_headers = {**({"content-type": content_type} if content_type is not None else {}), **(headers or {})}
    return gateway.http.post("/graphql", content=BODY, headers=all_headers)


def multipart(gateway: Gateway, headers: dict[str, str]) -> httpx.Response:
    files = {"0": ("x.png", b"x", "image/png")}
    return gateway.http.post("/graphql", data=MULTIPART, files=files, headers=headers)


@pytest.mark.parametrize(
    "send",
    [
        pytest.param(lambda g: get(g, {}), id="plain GET"),
        pytest.param(lambda g: get(g, {"content-type": "text/plain"}), id="GET text/plain"),
        pytest.param(lambda g: get(g, {"content-type": ""}), id="GET empty content-type"),
        pytest.param(lambda g: get(g, {"authorization": "Basic dXNlcjpwdw=="}), id="GET cached Basic auth"),
        pytest.param(lambda g: post(g, "text/plain"), id="POST text/plain"),
        pytest.param(lambda g: post(g, "application/x-www-form-urlencoded"), id="POST form"),
        pytest.param(lambda g: post(g, "text/plain; charset=utf-8"), id="POST text/plain;charset"),
        pytest.param(lambda g: post(g, None), id="POST without content-type"),
        pytest.param(lambda g: multipart(g, {}), id="multipart without preflight header"),
    ],
)
def test_forged_browser_requests_are_refused_before_anything_runs(
    gateway: Gateway, secure: SecureSetup, send: object
) -> None:
    secure.request_log.clear()
    response = send(gateway)  # type: ignore[operator]
    assert response.status_code == 400, response.text
    assert codes(response) == ["CSRF_PREVENTED"]
    assert "application/json" in response.json()["errors"][0]["message"]
    assert secure.request_log.entries == []


@pytest.mark.parametrize(
    "send",
    [
        pytest.param(lambda g: get(g, {"content-type": "application/json"}), id="GET application/json"),
        pytest.param(
            lambda g: get(g, {"apollo-require-preflight": "true"}), id="GET apollo-require-preflight"
        ),
        pytest.param(lambda g: get(g, {"x-apollo-operation-name": "Q"}), id="GET x-apollo-operation-name"),
        pytest.param(lambda g: get(g, {"graphql-preflight": "1"}), id="GET graphql-preflight"),
        pytest.param(lambda g: post(g, "application/json"), id="POST application/json"),
        pytest.param(
            lambda g: post(g, "text/plain", {"apollo-require-preflight": "true"}), id="POST text+header"
        ),
        pytest.param(lambda g: multipart(g, {"apollo-require-preflight": "true"}), id="multipart + header"),
    ],
)
def test_preflighted_requests_reach_authentication(gateway: Gateway, send: object) -> None:
    response = send(gateway)  # type: ignore[operator]
    assert response.status_code == 401, response.text
    assert codes(response) == ["UNAUTHENTICATED"]


def test_real_clients_with_a_bearer_token_get_their_data(gateway: Gateway, secure: SecureSetup) -> None:
    auth = {"authorization": f"Bearer {secure.token('admin')}"}
    # Apollo Client's useGETForQueries / APQ over GET (they send application/json), urql's default GET.
    for headers in (auth, {**auth, "content-type": "application/json"}):
        response = get(gateway, headers)
        assert response.status_code == 200, response.text
        assert response.json()["data"]["portfolios"]
    # A multipart upload with only a bearer token: no browser attaches one cross-site on its own.
    assert codes(multipart(gateway, auth)) != ["CSRF_PREVENTED"]


def test_cors_allows_apollo_headers_and_exposes_the_request_id(secure: SecureSetup) -> None:
    gateway = secure.start(cors_origins=["https://shop.example"])
    asked = (
        "authorization,content-type,apollographql-client-name,apollographql-client-version,graphql-preflight"
    )
    preflight = gateway.http.options(
        "/graphql",
        headers={
            "origin": "https://shop.example",
            "access-control-request-method": "GET",
            "access-control-request-headers": asked + ",apollo-require-preflight,x-apollo-operation-name",
        },
    )
    assert preflight.status_code == 200, preflight.text
    allowed = {h.strip().lower() for h in preflight.headers["access-control-allow-headers"].split(",")}
    assert set(asked.split(",")) | {"apollo-require-preflight", "x-apollo-operation-name"} <= allowed
    actual = gateway.http.post("/graphql", json=QUERY, headers={"origin": "https://shop.example"})
    exposed = {h.strip().lower() for h in actual.headers["access-control-expose-headers"].split(",")}
    assert {"x-request-id", "retry-after"} <= exposed
    assert actual.headers["x-request-id"]
