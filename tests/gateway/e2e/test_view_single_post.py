"""The view's short path for one JSON-POSTed operation answers exactly as strawberry's generic `run`.

Each request goes to a real gateway twice: once as served (a single JSON object POST takes
`GatewayGraphQL._run_single_json_post`), once with the short path switched off, so strawberry's `run`
answers it. Status, media type and body must be the same, errors included.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from gateway import view as view_module
from tests.gateway.e2e.conftest import GatewayServer

pytestmark = pytest.mark.e2e

GRAPHQL_RESPONSE = "application/graphql-response+json"
ORDERS = "query Orders($first: Int!) { orders(first: $first) { edges { node { id state } } } }"

CASES: list[tuple[str, bytes, dict[str, str]]] = [
    ("query", orjson.dumps({"query": ORDERS, "variables": {"first": 2}}), {}),
    (
        "query, graphql-response+json",
        orjson.dumps({"query": "{ portfolios { id } }"}),
        {"accept": GRAPHQL_RESPONSE},
    ),
    (
        "charset and spaces",
        b'  {"query": "{ __typename }"}',
        {"content-type": "application/json; charset=utf-8"},
    ),
    (
        "operationName picks one",
        orjson.dumps({"query": "query A { __typename } query B { portfolios { id } }", "operationName": "B"}),
        {},
    ),
    ("unknown operationName", orjson.dumps({"query": "query A { __typename }", "operationName": "Z"}), {}),
    (
        "several operations, no name",
        orjson.dumps({"query": "query A { __typename } query B { __typename }"}),
        {},
    ),
    ("syntax error", orjson.dumps({"query": "{ orders("}), {"accept": GRAPHQL_RESPONSE}),
    ("validation error", orjson.dumps({"query": "{ nope }"}), {"accept": GRAPHQL_RESPONSE}),
    (
        "bad variable",
        orjson.dumps({"query": ORDERS, "variables": {"first": "x"}}),
        {"accept": GRAPHQL_RESPONSE},
    ),
    ("missing variable", orjson.dumps({"query": ORDERS}), {}),
    ("not found", orjson.dumps({"query": '{ order(id: "no-such-order") { id } }'}), {}),
    (
        "mutation with bad input",
        orjson.dumps({"query": 'mutation { cancelOrder(input: {id: ""}) { userErrors { code } } }'}),
        {},
    ),
    (
        "subscription without a stream",
        orjson.dumps({"query": 'subscription { orderStatus(ids: ["a"]) { id } }'}),
        {},
    ),
    ("no query", b"{}", {}),
    ("null query", b'{"query": null}', {"accept": GRAPHQL_RESPONSE}),
    ("query not a string", b'{"query": 1}', {}),
    ("variables not an object", b'{"query": "{ __typename }", "variables": [1]}', {}),
    ("extensions not an object", b'{"query": "{ __typename }", "extensions": "x"}', {}),
    ("operationName not a string", b'{"query": "{ __typename }", "operationName": 5}', {}),
    ("broken JSON", b'{"query": ', {}),
    ("too deep", b"{" + b'"a":{' * 1100 + b"}" * 1101, {}),
]


def _post(gateway_server: GatewayServer, body: bytes, headers: dict[str, str]) -> tuple[int, str, Any]:
    response = gateway_server.http.post(
        "/graphql", content=body, headers={"content-type": "application/json", **headers}
    )
    return response.status_code, response.headers.get("content-type", ""), response.json()


@pytest.mark.parametrize(("name", "body", "headers"), CASES, ids=[case[0] for case in CASES])
def test_answers_as_strawberrys_run(
    gateway: GatewayServer, monkeypatch: pytest.MonkeyPatch, name: str, body: bytes, headers: dict[str, str]
) -> None:
    taken: list[bool] = []
    decide = view_module._is_single_json_post

    async def recording(request: Any) -> bool:
        taken.append(await decide(request))
        return taken[-1]

    monkeypatch.setattr(view_module, "_is_single_json_post", recording)
    short = _post(gateway, body, headers)
    assert taken == [True], "the request did not take the short path"

    async def never(request: Any) -> bool:
        return False

    monkeypatch.setattr(view_module, "_is_single_json_post", never)
    assert short == _post(gateway, body, headers)


def test_batches_and_other_bodies_keep_strawberrys_path(gateway: GatewayServer) -> None:
    batch = gateway.http.post("/graphql", json=[{"query": "{ __typename }"}, {"query": "{ __typename }"}])
    assert batch.status_code == 200
    assert [entry["data"] for entry in batch.json()] == [{"__typename": "Query"}] * 2
    scalar = gateway.http.post("/graphql", content=b"5", headers={"content-type": "application/json"})
    assert scalar.status_code == 400
