"""Persisted operations over real HTTP: Apollo's APQ round trip (memory and Redis) and trusted documents."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.security.conftest import Gateway, SecureSetup

QUERY = "query Portfolios { portfolios { id name } }"
PREFLIGHT = {"apollo-require-preflight": "true"}


def sha(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()


class ApolloLikeClient:
    """What Apollo Client's persisted-queries link does: hash first, the full query only on a miss.

    Queries go by GET (CDN-cacheable) when `use_get`, mutations always by POST.
    """

    def __init__(self, http: httpx.Client, token: str, *, use_get: bool = True) -> None:
        self.http, self.use_get = http, use_get
        self.headers = {"authorization": f"Bearer {token}", **PREFLIGHT}
        self.sent: list[tuple[str, bool]] = []  # (method, carried the full query)

    def execute(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        extensions = {"persistedQuery": {"version": 1, "sha256Hash": sha(query)}}
        result = self._send(None, variables, extensions)
        codes = [(e.get("extensions") or {}).get("code") for e in result.get("errors") or ()]
        if "PERSISTED_QUERY_NOT_FOUND" in codes:
            result = self._send(query, variables, extensions, force_post=True)
        return result

    def _send(
        self, query: str | None, variables: Any, extensions: Any, force_post: bool = False
    ) -> dict[str, Any]:
        if self.use_get and not force_post:
            params = {"extensions": json.dumps(extensions)}
            if variables:
                params["variables"] = json.dumps(variables)
            self.sent.append(("GET", False))
            response = self.http.get("/graphql", params=params, headers=self.headers)
        else:
            body = {"extensions": extensions, **({"query": query} if query else {}), "variables": variables}
            self.sent.append(("POST", query is not None))
            response = self.http.post("/graphql", json=body, headers=self.headers)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result


def test_apq_round_trip(gateway: Gateway, secure: SecureSetup) -> None:
    client = ApolloLikeClient(gateway.http, secure.token("reader"))
    first = client.execute(QUERY)
    assert first["data"]["portfolios"]
    assert client.sent == [("GET", False), ("POST", True)]  # miss, then registered with the full query
    client.sent.clear()
    again = client.execute(QUERY)
    assert again["data"] == first["data"]
    assert client.sent == [("GET", False)]  # hash only, by GET


def test_apq_miss_is_persisted_query_not_found(gateway: Gateway, secure: SecureSetup) -> None:
    headers = {"authorization": f"Bearer {secure.token('reader')}"}
    body = {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha("{ nothing }")}}}
    response = gateway.http.post("/graphql", json=body, headers=headers)
    error = response.json()["errors"][0]
    assert error["message"] == "PersistedQueryNotFound"
    assert error["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


def test_apq_refuses_a_hash_that_does_not_match(gateway: Gateway, secure: SecureSetup) -> None:
    headers = {"authorization": f"Bearer {secure.token('reader')}"}
    planted = {
        "query": "{ portfolios { id } }",
        "extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha(QUERY)}},
    }
    response = gateway.http.post("/graphql", json=planted, headers=headers)
    assert response.status_code == 400 and "does not match" in response.text


def test_apq_store_in_redis_is_shared_by_replicas(secure: SecureSetup, redis_url: str) -> None:
    one, two = secure.start(redis_url=redis_url), secure.start(redis_url=redis_url)
    ApolloLikeClient(one.http, secure.token("reader")).execute(QUERY)  # registers on replica one
    client = ApolloLikeClient(two.http, secure.token("reader"))
    assert client.execute(QUERY)["data"]["portfolios"]
    assert client.sent == [("GET", False)]  # replica two knew the hash


@pytest.fixture(scope="module")
def trusted(secure: SecureSetup, tmp_path_factory: pytest.TempPathFactory) -> Gateway:
    manifest = {
        "format": "apollo-persisted-query-manifest",
        "version": 1,
        "operations": [{"id": sha(QUERY), "name": "Portfolios", "type": "query", "body": QUERY}],
    }
    path: Path = tmp_path_factory.mktemp("trusted") / "manifest.json"
    path.write_text(json.dumps(manifest))
    return secure.start(trusted_documents_file=path)


def test_trusted_documents_run_by_hash_or_by_exact_text(trusted: Gateway, secure: SecureSetup) -> None:
    client = ApolloLikeClient(trusted.http, secure.token("reader"))
    assert client.execute(QUERY)["data"]["portfolios"]
    assert client.sent == [("GET", False)]  # known from the manifest: never a miss
    assert trusted.post(QUERY, token=secure.token("reader")).json()["data"]["portfolios"]


def test_trusted_documents_reject_everything_else(trusted: Gateway, secure: SecureSetup) -> None:
    secure.request_log.clear()
    token = secure.token("admin")
    for response in (
        trusted.post("{ portfolios { id } }", token=token),
        trusted.post("mutation { placeOrder(input: {amountKg: 1}) { __typename } }", token=token),
        trusted.http.post(
            "/graphql",
            json={"extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha("{ x }")}}},
            headers={"authorization": f"Bearer {token}"},
        ),
    ):
        assert response.status_code == 400
        assert response.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_IN_LIST"
    assert len(secure.request_log.entries) == 0
