"""Every GraphQL document in README.md is valid against the schema, and the example flows run as written.

The documents are every ```graphql block and every `curl -d` payload of the README. Each must validate
(so no block holds two anonymous operations), select `id` on every `Node` it reads (so client caches can
normalise it), and never use one idempotency key for two different inputs. The getting-started and schema
flows then run against a real gateway over a real sandbox, operation by operation, as a reader would.
(The product-records flow runs in tests/products/test_readme_flow.py; Relay's fragment in tests/clients.)
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLSchema,
    ObjectValueNode,
    StringValueNode,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    get_named_type,
    is_abstract_type,
    is_object_type,
    parse,
    print_ast,
    validate,
    visit,
)

from gateway.schema import build_schema
from tests.gateway.e2e.conftest import GatewayServer, SandboxServer
from tests.gateway.e2e.schema_helpers import ok

README = Path(__file__).resolve().parents[3] / "README.md"
TEXT = README.read_text()
SCHEMA: GraphQLSchema = build_schema()._schema


def graphql_blocks() -> list[str]:
    return re.findall(r"```graphql\n(.*?)```", TEXT, re.DOTALL)


def curl_payloads() -> list[dict[str, Any]]:
    return [json.loads(body) for body in re.findall(r"-d '(\{.*?\})'", TEXT)]


def documents() -> list[tuple[str, str]]:
    blocks = [(f"graphql block {n + 1}", block) for n, block in enumerate(graphql_blocks())]
    curls = [(f"curl payload {n + 1}", payload["query"]) for n, payload in enumerate(curl_payloads())]
    return blocks + curls


def operation(name: str) -> str:
    """The README block holding operation `name` (the whole block, as a reader pastes it)."""
    (found,) = [
        text for text in graphql_blocks() if re.search(rf"\b(query|mutation|subscription) {name}\b", text)
    ]
    return found


def test_the_readme_has_the_documents_this_test_reads() -> None:
    assert len(graphql_blocks()) >= 4 and len(curl_payloads()) >= 1


@pytest.mark.parametrize(("where", "text"), documents(), ids=[where for where, _ in documents()])
def test_every_document_is_valid_against_the_schema(where: str, text: str) -> None:
    errors = validate(SCHEMA, parse(text))
    assert errors == [], f"{where}: {[e.message for e in errors]}"


@pytest.mark.parametrize(("where", "text"), documents(), ids=[where for where, _ in documents()])
def test_every_node_read_selects_its_id(where: str, text: str) -> None:
    missing = list(_nodes_without_id(parse(text)))
    assert missing == [], f"{where}: select `id` on {missing} so client caches can normalise them"


def test_no_idempotency_key_is_shared_by_different_inputs() -> None:
    inputs: dict[str, set[str]] = defaultdict(set)
    for _, text in documents():
        for key, value in _keyed_inputs(parse(text)):
            inputs[key].add(value)
    assert inputs, "the README's purchases should show idempotency keys"
    assert {key: values for key, values in inputs.items() if len(values) > 1} == {}


def _nodes_without_id(document: DocumentNode) -> Iterator[str]:
    type_info = TypeInfo(SCHEMA)
    node_interface = SCHEMA.get_type("Node")
    found: list[str] = []

    class NodeFields(Visitor):
        def enter_field(self, node: FieldNode, *_: Any) -> None:
            named = get_named_type(type_info.get_type())
            if named is None or node.selection_set is None or node_interface is None:
                return
            is_node = (is_object_type(named) and node_interface in named.interfaces) or (  # type: ignore[union-attr]
                is_abstract_type(named) and named.name == "Node"
            )
            selected = {s.name.value for s in node.selection_set.selections if isinstance(s, FieldNode)}
            if is_node and "id" not in selected:
                found.append(f"{named.name} at `{node.name.value}`")

    visit(document, TypeInfoVisitor(type_info, NodeFields()))
    yield from found


def _keyed_inputs(document: DocumentNode) -> Iterator[tuple[str, str]]:
    """(idempotency key, the input it goes with) for every `input` literal that names a key."""
    found: list[tuple[str, str]] = []

    class Inputs(Visitor):
        def enter_object_value(self, node: ObjectValueNode, *_: Any) -> None:
            for field in node.fields:
                if field.name.value == "idempotencyKey" and isinstance(field.value, StringValueNode):
                    found.append((field.value.value, print_ast(node)))

    visit(document, Inputs())
    yield from found


# --- the flows, run as written ---------------------------------------------------------------------------


def run(gateway: GatewayServer, name: str, variables: dict[str, Any] | None = None) -> Any:
    """Run operation `name` out of its README document, as a client sending `operationName` does."""
    return ok(gateway.gql(operation(name), variables, operation_name=name))


def test_getting_started_runs_as_written(gateway: GatewayServer, sandbox: SandboxServer) -> None:
    bought = run(gateway, "Buy")["placeOrder"]
    assert bought["userErrors"] == [] and bought["replayed"] is False
    order = bought["order"]
    assert (order["state"], order["amountKg"], order["price"]) == (
        "PLACED",
        25,
        {"amount": "0.50", "currencyCode": "USD"},
    )
    listed = run(gateway, "Orders")
    assert [edge["node"]["id"] for edge in listed["orders"]["edges"]] == [order["id"]]
    assert listed["quote"]["price"]["currencyCode"] == "USD"
    # "Run the mutation twice (or once in GraphiQL and once with curl)": the same order, replayed.
    assert run(gateway, "Buy")["placeOrder"]["order"]["id"] == order["id"]
    (payload,) = curl_payloads()
    response = gateway.http.post("/graphql", json=payload).json()
    assert response["data"]["placeOrder"]["replayed"] is True
    assert response["data"]["placeOrder"]["order"]["id"] == order["id"]
    assert sandbox.request_log.count(route="POST /v1/orders") == 3  # all three with one key: one order
    assert len(sandbox.http.get("/v1/orders").json()["data"]) == 1


def test_the_schema_section_runs_as_written(gateway: GatewayServer) -> None:
    recent = run(gateway, "RecentOrders")
    assert recent["orders"]["edges"] == [] and recent["quote"]["price"]["currencyCode"] == "USD"
    bought = run(gateway, "BuyForTrain")["placeOrder"]
    assert bought["userErrors"] == [] and bought["idempotencyKey"] == "booking-12"
    order_id = bought["order"]["id"]
    assert run(gateway, "RecentOrders")["orders"]["edges"][0]["node"]["id"] == order_id
    first = run(gateway, "Cancel", {"id": order_id})["cancelOrder"]
    assert first["userErrors"] == [] and first["order"] == {"id": order_id, "state": "CANCELLED"}
    again = run(gateway, "Cancel", {"id": order_id})["cancelOrder"]
    documented = re.search(r"Cancelling it again .*?code\s+`([A-Z_]+)`", TEXT, re.DOTALL)
    assert documented is not None, "the README says what cancelling twice answers"
    assert [error["code"] for error in again["userErrors"]] == [documented.group(1)]
    assert again["order"] is None
