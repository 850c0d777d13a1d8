"""Fuzz over real HTTP: schema-generated operations and malformed requests never get a 5xx or a traceback.

One gateway started by its own CLI (embedded sandbox, its log captured); every request goes over a socket.
Operations come from `hypothesis-graphql` (valid and invalid ones generated from the committed schema);
the malformed side is multipart bodies (boundaries, part names, `operations`/`map` shapes), raw bodies
(JSON of every type, invalid UTF-8, other charsets), odd headers and methods, GET query strings.

Budget: `FUZZ_EXAMPLES` examples per strategy (default 100; 60% of that for the schema-driven one, whose
operations may each make many upstream calls), a few seconds each in the suite; for a long run, e.g.
``FUZZ_EXAMPLES=20000 python -m pytest tests/security/test_fuzz_http.py``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import graphql
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, from_schema

from tests.processes import GatewayProcess

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "100"))
SCHEMA = (Path(__file__).parents[2] / "schema.graphql").read_text()
PREFLIGHT = {"apollo-require-preflight": "true"}
LOG_MARKERS = ("Traceback", "Logging error", "unhandled error", "Exception in ASGI application")

fuzz = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    log = tmp_path_factory.mktemp("fuzz") / "gateway.log"
    env = {"GATEWAY_SANDBOX_FULFILMENT_DELAY": "0", "GATEWAY_RATE_LIMIT_COST": "0"}
    process = GatewayProcess(env, log).wait_healthy()
    try:
        yield process
    finally:
        process.stop()
    text = process.log()
    for marker in LOG_MARKERS:
        assert marker not in text, text


@pytest.fixture(scope="module")
def http(server: GatewayProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


def _check(response: httpx.Response) -> None:
    assert response.status_code < 500, (response.status_code, response.text)
    assert "Traceback" not in response.text


# --- schema-driven operations -------------------------------------------------------------------------------


def _scalar_strategies() -> dict[str, st.SearchStrategy[graphql.ValueNode]]:
    """A strategy for every custom scalar of the schema (hypothesis-graphql knows only the built-in ones)."""
    anything = st.one_of(
        st.text(max_size=12).map(lambda text: graphql.StringValueNode(value=text)),
        st.integers(-(10**12), 10**12).map(lambda number: graphql.IntValueNode(value=str(number))),
        st.floats(allow_nan=False, allow_infinity=False).map(lambda x: graphql.FloatValueNode(value=repr(x))),
    )
    known: dict[str, st.SearchStrategy[graphql.ValueNode]] = {
        "DateTime": st.datetimes().map(lambda value: graphql.StringValueNode(value=value.isoformat())),
        "Upload": st.just(graphql.NullValueNode()),
        # Money amounts: plain decimals of any size and precision, text that only looks like one, and
        # JSON numbers (an exponent among them was a logged 500 before masking let validation errors be).
        "Decimal": st.one_of(
            st.one_of(
                st.decimals(allow_nan=False, allow_infinity=False).map(lambda value: format(value, "f")),
                st.text(alphabet="0123456789.-+eE", max_size=40),
            ).map(lambda text: graphql.StringValueNode(value=text)),
            anything,
        ),
    }
    schema = graphql.build_schema(SCHEMA)
    scalars = [t.name for t in schema.type_map.values() if isinstance(t, graphql.GraphQLScalarType)]
    builtin = {"String", "Int", "Float", "Boolean", "ID"}
    return {name: known.get(name, anything) for name in scalars if name not in builtin}


def test_generated_operations(http: httpx.Client) -> None:
    scalars = _scalar_strategies()
    operations = from_schema(SCHEMA, custom_scalars=scalars) | from_schema(
        SCHEMA, custom_scalars=scalars, mode=Mode.NEGATIVE
    )

    @settings(fuzz, max_examples=max(1, EXAMPLES * 3 // 5))  # each may make many upstream calls
    @given(operations)
    def check(document: Any) -> None:
        _check(http.post("/graphql", json={"query": str(document)}))

    check()


# --- multipart ---------------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
field_values = st.one_of(
    json_values.map(json.dumps),
    st.sampled_from(
        [
            '{"query": "{ __typename }"}',
            '{"query": "mutation($f: Upload!) { setSubaccountLogo(id: \\"x\\", file: $f) { __typename } }",'
            ' "variables": {"f": null}}',
            '[{"query": "{ __typename }"}]',
            '{"0": ["variables.f"]}',
            '{"0": "variables.f"}',
            '{"0": ["variables.a.b.c"]}',
            '{"0": ["0.variables.f"]}',
            "not json",
            "",
        ]
    ),
    st.binary(max_size=20).map(lambda raw: raw.decode("latin-1")),
)


@st.composite
def parts(draw: st.DrawFn) -> bytes:
    name = draw(st.sampled_from(["operations", "map", "0", "1", "", None, "é", 'a"b']))
    disposition = "form-data" if name is None else f'form-data; name="{name}"'
    if draw(st.booleans()):
        disposition += f'; filename="{draw(st.sampled_from(["a.png", "", "x;y"]))}"'
    headers = f"Content-Disposition: {disposition}\r\n"
    if draw(st.booleans()):
        headers += f"Content-Type: {draw(st.sampled_from(['image/png', 'text/plain; charset=x', '']))}\r\n"
    content = draw(field_values).encode("utf-8", "surrogatepass")
    return headers.encode("latin-1", "replace") + b"\r\n" + content


@st.composite
def multipart_requests(draw: st.DrawFn) -> tuple[dict[str, str], bytes]:
    boundary = draw(st.sampled_from(["b0undary", "", "x" * 71, "a b", "--"]))
    param = draw(
        st.sampled_from([f"; boundary={boundary}", f'; boundary="{boundary}"', "", "; charset=utf-16"])
    )
    body = b"".join(
        b"--" + boundary.encode() + b"\r\n" + part + b"\r\n" for part in draw(st.lists(parts(), max_size=4))
    )
    body += draw(st.sampled_from([b"--" + boundary.encode() + b"--\r\n", b"", b"--", b"[1, 2]"]))
    if draw(st.booleans()):
        body = draw(st.sampled_from([b"[1, 2]", b'{"query": "{ __typename }"}', b"\xff\xfe", b""]))
    headers = {"content-type": "multipart/form-data" + param, **PREFLIGHT}
    return headers, body


def test_multipart(http: httpx.Client) -> None:
    @fuzz
    @given(multipart_requests())
    def check(request: tuple[dict[str, str], bytes]) -> None:
        headers, body = request
        _check(http.post("/graphql", content=body, headers=headers))

    check()


# --- bodies, headers, methods, query strings -------------------------------------------------------------

content_types = st.sampled_from(
    [
        "application/json",
        "application/json; charset=utf-8",
        "application/json; charset=utf-16",
        "application/json; charset=latin-1",
        "application/json; charset=nope",
        "application/json;;;=",
        "application/graphql-response+json",
        "application/x-www-form-urlencoded",
        "text/plain",
        "multipart/mixed; boundary=b",
        "*/*",
        "",
    ]
)
bodies = st.one_of(
    json_values.map(lambda value: json.dumps(value).encode()),
    st.builds(lambda q: json.dumps({"query": q}).encode(), st.text(max_size=30)),
    st.binary(max_size=64),
    st.sampled_from(
        [
            b'{"query": "{ __typename }"}',
            '{"query": "{ __typename }"}'.encode("utf-16"),
            b'\xef\xbb\xbf{"query": "{ __typename }"}',
            b'{"query": "\xff"}',
            b'{"query": "\\ud800"}',
            b'[{"query": "{ __typename }"}, 1]',
            b"[" * 2000,
            b'{"query": "{ __typename }", "variables": [], "extensions": 1, "operationName": {}}',
        ]
    ),
)
header_text = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=300
)


@st.composite
def raw_requests(draw: st.DrawFn) -> tuple[str, str, dict[str, bytes], bytes]:
    method = draw(st.sampled_from(["POST", "POST", "GET", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]))
    path = draw(st.sampled_from(["/graphql", "/graphql/", "/graphql?query=%ff", "/graphql?extensions=%7B"]))
    headers: dict[str, bytes] = {"content-type": draw(content_types).encode()}
    for name in draw(
        st.lists(st.sampled_from(["accept", "x-request-id", "authorization", "x-odd", "origin"]), max_size=3)
    ):
        headers[name] = draw(header_text).strip().encode("latin-1")
    if draw(st.booleans()):
        headers.update({k: v.encode() for k, v in PREFLIGHT.items()})
    if draw(st.booleans()):
        headers["x-long"] = b"a" * draw(st.integers(1, 8000))
    return method, path, headers, draw(bodies)


def test_bodies_headers_methods(http: httpx.Client) -> None:
    @fuzz
    @given(raw_requests())
    def check(request: tuple[str, str, dict[str, bytes], bytes]) -> None:
        method, path, headers, body = request
        content = None if method in ("GET", "HEAD") else body
        _check(http.request(method, path, content=content, headers=headers))

    check()


query_values = st.one_of(st.text(max_size=40), st.binary(max_size=20).map(lambda b: b.decode("latin-1")))


def test_get_query_strings(http: httpx.Client) -> None:
    @fuzz
    @given(
        st.dictionaries(
            st.sampled_from(["query", "variables", "extensions", "operationName", "x"]), query_values
        )
    )
    def check(params: dict[str, str]) -> None:
        _check(http.get("/graphql", params=params, headers=PREFLIGHT))

    check()


def test_a_literal_its_scalar_refuses_is_a_validation_error(http: httpx.Client) -> None:
    # Found by the generated operations: a Decimal literal with an exponent was a logged 500.
    query = "mutation { placeOrder(input: {totalPrice: {amount: 1e20, currencyCode: USD}}) { order { id } } }"
    response = http.post("/graphql", json={"query": query})
    assert response.status_code == 200
    assert response.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
