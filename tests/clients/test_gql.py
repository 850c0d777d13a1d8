"""Python's ``gql`` client (httpx transport) against a real gateway.

Schema from introspection with client-side validation, operation selection in a multi-operation document,
``execute_batch`` (one HTTP request), coded errors, and a multipart upload (``FileVar``).
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from gql import Client, FileVar, GraphQLRequest, gql
from gql.client import SyncClientSession
from gql.transport.exceptions import TransportQueryError
from gql.transport.httpx import HTTPXTransport
from graphql import GraphQLError

from tests.clients.conftest import ClientGateway

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
TWO_OPERATIONS = """
mutation Buy { placeOrder(input: { amountKg: 25 }) { order { id } userErrors { code } } }
query Orders { orders(first: 100) { edges { node { id } } } }
"""


@pytest.fixture
def sent() -> list[httpx.Request]:
    return []


@pytest.fixture
def session(client_gateway: ClientGateway, sent: list[httpx.Request]) -> Iterator[SyncClientSession]:
    # The preflight header: of what gql sends, only a multipart upload is a request a browser could forge.
    transport = HTTPXTransport(
        url=client_gateway.graphql_url,
        headers={"Apollo-Require-Preflight": "true"},
        timeout=30,
        event_hooks={"request": [sent.append]},
    )
    with Client(transport=transport, fetch_schema_from_transport=True) as session:
        yield session


def order_count(gateway: ClientGateway) -> int:
    return len(gateway.gql("{ orders(first: 100) { edges { node { id } } } }")["data"]["orders"]["edges"])


def test_schema_from_introspection_validates_documents_locally(
    session: SyncClientSession, sent: list[httpx.Request]
) -> None:
    assert session.client.schema is not None and session.client.schema.get_type("Order") is not None
    before = len(sent)
    with pytest.raises(GraphQLError, match="nope"):
        session.execute(gql("{ orders(first: 1) { nope } }"))
    assert len(sent) == before  # refused by the client, against the schema the gateway described


def test_operation_name_selects_one_operation(
    session: SyncClientSession, client_gateway: ClientGateway
) -> None:
    before = order_count(client_gateway)
    result = session.execute(GraphQLRequest(TWO_OPERATIONS, operation_name="Orders"))
    assert len(result["orders"]["edges"]) == before == order_count(client_gateway)


def test_execute_batch_is_one_http_request(session: SyncClientSession, sent: list[httpx.Request]) -> None:
    before = len(sent)
    requests = [
        GraphQLRequest(
            "query A($n: Int!) { orders(first: $n) { edges { node { id } } } }", variable_values={"n": 1}
        ),
        GraphQLRequest("query B { portfolios { name } }"),
    ]
    first, second = session.execute_batch(requests)
    assert isinstance(first["orders"]["edges"], list) and second["portfolios"]
    assert len(sent) - before == 1


def test_errors_carry_their_code(session: SyncClientSession) -> None:
    with pytest.raises(TransportQueryError) as raised:
        session.execute(gql('{ order(id: "ord_missing") { id } }'))
    assert raised.value.errors is not None
    assert [error["extensions"]["code"] for error in raised.value.errors] == ["NOT_FOUND"]
    assert raised.value.data == {"order": None}


def test_upload_with_file_var(session: SyncClientSession) -> None:
    created: dict[str, Any] = session.execute(
        gql('mutation { createSubaccount(input: {name: "gql"}) { subaccount { id } } }')
    )
    subaccount_id = created["createSubaccount"]["subaccount"]["id"]
    logo = FileVar(io.BytesIO(PNG), filename="logo.png", content_type="image/png")
    mutation = gql(
        "mutation ($input: SetSubaccountLogoInput!) {"
        " setSubaccountLogo(input: $input) { subaccount { logoUrl } userErrors { code } } }"
    )
    mutation.variable_values = {"input": {"id": subaccount_id, "file": logo}}
    result = session.execute(mutation, upload_files=True)
    assert result["setSubaccountLogo"]["userErrors"] == []
    assert result["setSubaccountLogo"]["subaccount"]["logoUrl"].endswith(".png")
