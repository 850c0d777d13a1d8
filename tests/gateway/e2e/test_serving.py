"""Serving over real HTTP: GraphQL-over-HTTP semantics, error masking, uploads, GraphiQL, health probes.

The protocol tests run the gateway's view (`GatewayGraphQL`, with the gateway's schema extensions) over a
tiny schema whose resolvers can fail on purpose; the rest run the full gateway over the sandbox.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import strawberry
from graphql import GraphQLError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from strawberry.file_uploads import Upload

from gateway.app import create_app, schema_extensions
from gateway.config import EMBEDDED_SANDBOX_KEY, Settings
from gateway.graphiql import assets_vendored, render_page, static_mount
from gateway.view import GRAPHQL_RESPONSE_JSON, JSON, GatewayGraphQL, accepted_media_type
from tests.gateway.e2e.conftest import GatewayServer, SandboxServer, StartGateway, StartSandbox
from tests.servers import free_port, serve

pytestmark = pytest.mark.e2e

SECRET = "sk_live_must_not_leak"
GR_JSON = {"Accept": GRAPHQL_RESPONSE_JSON}


@strawberry.type
class Query:
    @strawberry.field
    def hello(self, name: str) -> str:
        return f"hello {name}"

    @strawberry.field
    def refused(self) -> str | None:
        raise GraphQLError("not allowed here", extensions={"code": "FORBIDDEN"})

    @strawberry.field
    def broken(self) -> str | None:
        raise RuntimeError(f"upstream https://user:{SECRET}@api.example/v1 exploded")


@strawberry.type
class Mutation:
    @strawberry.mutation
    def touch(self) -> bool:
        return True

    @strawberry.mutation
    async def upload(self, file: Upload) -> str:
        content: bytes = await file.read()  # type: ignore[attr-defined]
        return f"{file.filename}:{len(content)}:{content[:5].decode()}"  # type: ignore[attr-defined]


async def _context(request: Request, response: Response) -> dict[str, Any]:
    if request.headers.get("x-break-context"):
        raise RuntimeError(f"context failed with {SECRET}")
    return {"request": request, "response": response}


def _tiny_app(*, graphiql: bool) -> Starlette:
    schema = strawberry.Schema(Query, Mutation, extensions=schema_extensions(Settings()))
    html = render_page(local=True) if graphiql else None
    view = GatewayGraphQL(schema, context_getter=_context, graphiql_html=html)
    return Starlette(routes=[Route("/graphql", view), static_mount()])


@pytest.fixture(scope="module")
def tiny() -> Iterator[httpx.Client]:
    with serve(_tiny_app(graphiql=True)) as url, httpx.Client(base_url=url) as client:
        yield client


def _post(client: httpx.Client, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    return client.post("/graphql", json=body, headers=headers)


def _media_type(response: httpx.Response) -> str:
    return response.headers["content-type"].split(";")[0]


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, JSON),
        ("*/*", JSON),
        ("application/json", JSON),
        (GRAPHQL_RESPONSE_JSON, GRAPHQL_RESPONSE_JSON),
        (f"{GRAPHQL_RESPONSE_JSON}, application/json;q=0.9", GRAPHQL_RESPONSE_JSON),
        (f"application/json, {GRAPHQL_RESPONSE_JSON};q=0.5", JSON),
        (f"{GRAPHQL_RESPONSE_JSON};q=0", JSON),
    ],
)
def test_negotiates_the_response_media_type(tiny: httpx.Client, accept: str | None, expected: str) -> None:
    headers = {"Accept": accept} if accept else {}
    response = _post(tiny, {"query": '{ hello(name: "a") }'}, headers)
    assert response.status_code == 200
    assert _media_type(response) == expected
    assert response.json() == {"data": {"hello": "hello a"}}


def test_accepted_media_type_without_header_is_json() -> None:
    assert accepted_media_type(None) == JSON
    assert accepted_media_type("text/html") == JSON


@pytest.mark.parametrize(
    ("body", "message", "code"),
    [
        ({"query": "{ hello(name: "}, "Syntax Error", "GRAPHQL_PARSE_FAILED"),
        ({"query": "{ nope }"}, "Cannot query field 'nope'", "GRAPHQL_VALIDATION_FAILED"),
        (
            {"query": "query ($n: String!) { hello(name: $n) }", "variables": {}},
            "to be provided",
            "BAD_USER_INPUT",
        ),
        (
            {"query": "query ($n: String!) { hello(name: $n) }", "variables": {"n": 3}},
            "cannot represent",
            "BAD_USER_INPUT",
        ),
    ],
    ids=["parse", "validation", "missing-variable", "variable-coercion"],
)
def test_request_errors_are_400_without_data(
    tiny: httpx.Client, body: dict[str, Any], message: str, code: str
) -> None:
    response = _post(tiny, body, GR_JSON)
    assert response.status_code == 400
    assert _media_type(response) == GRAPHQL_RESPONSE_JSON
    payload = response.json()
    assert "data" not in payload
    assert message.lower() in payload["errors"][0]["message"].lower()
    assert payload["errors"][0]["extensions"]["code"] == code


def test_request_errors_under_application_json_stay_200_without_data(tiny: httpx.Client) -> None:
    response = _post(tiny, {"query": "{ nope }"}, {"Accept": "application/json"})
    assert response.status_code == 200
    assert "data" not in response.json()
    assert response.json()["errors"]


def test_execution_errors_are_200_with_partial_data(tiny: httpx.Client) -> None:
    response = _post(tiny, {"query": '{ hello(name: "b") refused }'}, GR_JSON)
    assert response.status_code == 200
    payload = response.json()
    assert payload["data"] == {"hello": "hello b", "refused": None}
    assert payload["errors"][0]["extensions"] == {"code": "FORBIDDEN"}
    assert payload["errors"][0]["path"] == ["refused"]


def test_unexpected_exceptions_are_masked(tiny: httpx.Client, caplog: pytest.LogCaptureFixture) -> None:
    response = _post(tiny, {"query": "{ broken }"})
    assert response.status_code == 200
    payload = response.json()
    assert payload["data"] == {"broken": None}
    assert payload["errors"] == [
        {
            "message": "Internal server error",
            "locations": [{"line": 1, "column": 3}],
            "path": ["broken"],
            "extensions": {"code": "INTERNAL_SERVER_ERROR"},
        }
    ]
    assert SECRET not in response.text
    assert "Traceback" not in response.text


def test_failure_outside_execution_is_a_generic_500(tiny: httpx.Client) -> None:
    with _quiet("gateway.view"):
        response = _post(tiny, {"query": '{ hello(name: "c") }'}, {"x-break-context": "1", **GR_JSON})
    assert response.status_code == 500
    assert response.json() == {
        "errors": [{"message": "Internal server error", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}]
    }
    assert SECRET not in response.text


def test_get_runs_queries(tiny: httpx.Client) -> None:
    variables = json.dumps({"n": "get"})
    response = tiny.get(
        "/graphql",
        params={"query": "query ($n: String!) { hello(name: $n) }", "variables": variables},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 200
    assert response.json() == {"data": {"hello": "hello get"}}


def test_mutations_over_get_are_refused_with_405(tiny: httpx.Client) -> None:
    response = tiny.get("/graphql", params={"query": "mutation { touch }"}, headers=GR_JSON)
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert "data" not in response.json()
    assert response.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"
    assert _post(tiny, {"query": "mutation { touch }"}).json() == {"data": {"touch": True}}


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"{not json", "application/json"),
        (b'{"query": 7}', "application/json"),
        (b"{}", "text/plain"),
        (
            b'{"query": "{ __typename }", "variables": {"a": ' + b"[" * 5000 + b"]" * 5000 + b"}}",
            "application/json",
        ),
    ],
    ids=["bad-json", "query-not-string", "unsupported-content-type", "json-nested-too-deep"],
)
def test_malformed_requests_are_400_with_a_json_error(
    tiny: httpx.Client, content: bytes, content_type: str
) -> None:
    response = tiny.post("/graphql", content=content, headers={"Content-Type": content_type, **GR_JSON})
    assert response.status_code == 400
    assert _media_type(response) == GRAPHQL_RESPONSE_JSON
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


def test_other_methods_are_405(tiny: httpx.Client) -> None:
    response = tiny.put("/graphql", json={"query": '{ hello(name: "x") }'})
    assert response.status_code == 405
    assert "POST" in response.headers["allow"]


def test_multipart_upload_reaches_the_resolver(tiny: httpx.Client) -> None:
    operations = {"query": "mutation ($f: Upload!) { upload(file: $f) }", "variables": {"f": None}}
    response = tiny.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.f"]})},
        files={"0": ("logo.png", b"PNG-data-bytes", "image/png")},
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"data": {"upload": "logo.png:14:PNG-d"}}


def test_graphiql_page_uses_local_assets(tiny: httpx.Client) -> None:
    page = tiny.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "/graphiql/static/graphiql.min.js" in page.text
    assert "unpkg.com" not in page.text
    asset = tiny.get("/graphiql/static/graphiql.min.js")
    assert asset.status_code == 200
    assert "javascript" in asset.headers["content-type"]


def test_graphiql_page_falls_back_to_pinned_cdn_copies() -> None:
    page = render_page(local=False)
    assert 'src="https://unpkg.com/graphiql@3.8.3/graphiql.min.js" integrity="sha384-' in page
    assert "/graphiql/static" not in page


def test_assets_are_vendored_for_the_offline_browser_test() -> None:
    assert assets_vendored(), "run scripts/vendor-graphiql"


def test_graphiql_off_means_no_page() -> None:
    with serve(_tiny_app(graphiql=False)) as url:
        response = httpx.get(f"{url}/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert "<html" not in response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"


class _quiet:
    """Silence an expected error log of `logger` for the block (keeps test output readable)."""

    def __init__(self, logger: str) -> None:
        self._logger = logging.getLogger(logger)

    def __enter__(self) -> None:
        self._level = self._logger.level
        self._logger.setLevel(logging.CRITICAL)

    def __exit__(self, *exc: object) -> None:
        self._logger.setLevel(self._level)


# The full gateway over the sandbox ---------------------------------------------------------------------


def test_healthz_answers_without_the_upstream(start_gateway: StartGateway, sandbox: SandboxServer) -> None:
    gateway = start_gateway(upstream_url=f"http://127.0.0.1:{free_port()}/v1")
    response = gateway.http.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_readyz_is_200_when_the_upstream_answers(gateway: GatewayServer, sandbox: SandboxServer) -> None:
    response = gateway.http.get("/readyz")
    assert (response.status_code, response.json()) == (200, {"status": "ready"})
    assert sandbox.request_log.count(method="GET", path_prefix="/v1/portfolios") == 1


def test_readyz_is_503_when_the_upstream_is_down(start_gateway: StartGateway) -> None:
    gateway = start_gateway(upstream_url=f"http://user:{SECRET}@127.0.0.1:{free_port()}/v1")
    with _quiet("gateway.health"):
        response = gateway.http.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert SECRET not in response.text and "127.0.0.1" not in response.text


def test_graphql_runs_against_the_sandbox(gateway: GatewayServer, sandbox: SandboxServer) -> None:
    result = gateway.gql("{ portfolios { id name } }", headers=GR_JSON)
    assert result.status == 200 and result.media_type == GRAPHQL_RESPONSE_JSON
    assert "Sandbox" in [p["name"] for p in result.data["portfolios"]]
    assert sandbox.request_log.count(method="GET", path_prefix="/v1/portfolios") >= 1


def test_pass_through_forwards_the_callers_bearer_key(
    start_sandbox: StartSandbox, start_gateway: StartGateway
) -> None:
    locked = start_sandbox(api_keys=["sk_caller"])
    gateway = start_gateway(sandbox=locked, upstream_api_key=None)
    assert gateway.settings.pass_through_auth
    ok = gateway.gql("{ portfolios { name } }", headers={"Authorization": "Bearer sk_caller"})
    assert ok.errors == [] and ok.data["portfolios"]
    refused = gateway.gql("{ portfolios { name } }", headers={"Authorization": "Bearer sk_other"})
    assert refused.codes == ["UNAUTHENTICATED"]
    assert "sk_other" not in json.dumps(refused.body)


def test_embedded_sandbox_mode(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="gateway.app")
    app = create_app(Settings(sandbox_fulfilment_delay=0))
    place = "mutation { placeOrder(input: {amountKg: 5}) { order { upstreamId } userErrors { code } } }"
    with serve(app) as url, httpx.Client(base_url=url) as client:
        result = client.post("/graphql", json={"query": "{ portfolios { name } }"}).json()
        placed = client.post("/graphql", json={"query": place}).json()["data"]["placeOrder"]
        own = client.get("/sandbox/v1/orders", headers={"Authorization": f"Bearer {EMBEDDED_SANDBOX_KEY}"})
        other = client.get("/sandbox/v1/orders", headers={"Authorization": "Bearer someone-else"})
        page = client.get("/graphql", headers={"Accept": "text/html"})
        ready = client.get("/readyz")
    assert "Sandbox" in [p["name"] for p in result["data"]["portfolios"]]
    assert app.state.sandbox_app.state.request_log.count(path_prefix="/v1/portfolios") >= 1
    # The REST mount shows the gateway's own sandbox account to curl users holding its key.
    assert placed["userErrors"] == []
    assert [order["id"] for order in own.json()["data"]] == [placed["order"]["upstreamId"]]
    assert other.status_code == 200 and other.json()["data"] == []
    assert page.status_code == 200 and "graphiql" in page.text.lower()
    assert ready.status_code == 200
    assert any("No real carbon credits are bought" in r.getMessage() for r in caplog.records)


def test_gql_library_client_speaks_to_the_gateway(gql_client: Any) -> None:
    from gql import gql as parse

    request = parse("query ($first: Int) { orders(first: $first) { edges { cursor } } }")
    request.variable_values = {"first": 1}
    assert gql_client.execute(request) == {"orders": {"edges": []}}


def test_introspection_can_be_switched_off(start_gateway: StartGateway) -> None:
    closed = start_gateway(introspection=False).gql("{ __schema { queryType { name } } }", headers=GR_JSON)
    assert closed.status == 400 and "introspection" in closed.errors[0]["message"].lower()
    assert "data" not in closed.body


def test_graphiql_switched_on_brings_the_introspection_it_needs(start_gateway: StartGateway) -> None:
    gateway = start_gateway(graphiql=True)  # outside the sandbox, GATEWAY_INTROSPECTION unset
    result = gateway.gql("{ __schema { queryType { name } } }", headers=GR_JSON)
    assert result.status == 200 and result.data == {"__schema": {"queryType": {"name": "Query"}}}


def test_sandbox_fixture_client_sees_what_the_gateway_did(
    gateway: GatewayServer, sandbox: SandboxServer
) -> None:
    placed = gateway.gql("mutation { placeOrder(input: {amountKg: 2}) { order { upstreamId } } }")
    order_id = placed.data["placeOrder"]["order"]["upstreamId"]
    assert [order["id"] for order in sandbox.http.get("/v1/orders").json()["data"]] == [order_id]
