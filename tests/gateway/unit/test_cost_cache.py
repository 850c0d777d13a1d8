"""The requested cost is kept per parsed operation only when no argument feeds it."""

from __future__ import annotations

from graphql import OperationDefinitionNode, get_variable_values, parse

from gateway.operation_limits.cost import CostModel, requested_cost
from gateway.schema import build_schema

SCHEMA = build_schema()._schema


def cost(document: str, raw: dict[str, object]) -> int:
    operation = parse(document).definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    return cost_of(operation, raw)


def cost_of(operation: OperationDefinitionNode, raw: dict[str, object]) -> int:
    variables = get_variable_values(SCHEMA, operation.variable_definitions or (), raw)
    assert not isinstance(variables, list)
    return requested_cost(SCHEMA, operation, {}, variables, CostModel())


def test_a_page_size_from_variables_is_read_on_every_request() -> None:
    operation = parse("query($n: Int!) { orders(first: $n) { edges { node { subaccount { name } } } } }")
    node = operation.definitions[0]
    assert isinstance(node, OperationDefinitionNode)
    small, large, small_again = cost_of(node, {"n": 2}), cost_of(node, {"n": 50}), cost_of(node, {"n": 2})
    assert small < large
    assert small == small_again


def test_an_operation_reading_no_argument_costs_the_same_for_any_variables() -> None:
    operation = parse("query($id: ID!) { order(id: $id) { subaccount { name } } }")
    node = operation.definitions[0]
    assert isinstance(node, OperationDefinitionNode)
    assert (
        cost_of(node, {"id": "a"})
        == cost_of(node, {"id": "b"})
        == cost('{ order(id: "c") { subaccount { name } } }', {})
    )
