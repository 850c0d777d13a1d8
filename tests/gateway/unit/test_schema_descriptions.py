"""Every type, field, argument, input field and enum value of the schema has a description.

The same rules as graphql-schema-linter's description rules (types-have-descriptions,
fields-have-descriptions, arguments-have-descriptions, input-object-values-have-descriptions,
enum-values-have-descriptions), walked over the built schema with graphql-core.
"""

from __future__ import annotations

from collections.abc import Iterator

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
)

from gateway.schema import build_schema


def undocumented(schema: GraphQLSchema) -> Iterator[str]:
    """`Type`, `Type.field`, `Type.field(arg)`, `Input.field` and `Enum.VALUE` names lacking a description."""
    for name, named in schema.type_map.items():
        if name.startswith("__") or _builtin(named):
            continue
        if not (named.description or "").strip():
            yield name
        yield from _members(named)


def _builtin(named: GraphQLNamedType) -> bool:
    return named.name in {"String", "Int", "Float", "Boolean", "ID"}


def _members(named: GraphQLNamedType) -> Iterator[str]:
    if isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
        for field_name, field in named.fields.items():
            if not (field.description or "").strip():
                yield f"{named.name}.{field_name}"
            for arg_name, arg in field.args.items():
                if not (arg.description or "").strip():
                    yield f"{named.name}.{field_name}({arg_name})"
    elif isinstance(named, GraphQLInputObjectType):
        for field_name, input_field in named.fields.items():
            if not (input_field.description or "").strip():
                yield f"{named.name}.{field_name}"
    elif isinstance(named, GraphQLEnumType):
        for value_name, value in named.values.items():
            if not (value.description or "").strip():
                yield f"{named.name}.{value_name}"
    elif isinstance(named, GraphQLUnionType):
        return


def test_everything_in_the_schema_is_described() -> None:
    missing = sorted(undocumented(build_schema()._schema))
    assert missing == [], f"{len(missing)} schema members lack a description: {missing}"


def test_the_walk_finds_a_missing_description() -> None:
    schema = build_schema()._schema
    order = schema.type_map["Order"]
    assert isinstance(order, GraphQLObjectType)
    field = order.fields["amountKg"]
    kept, field.description = field.description, None
    try:
        assert "Order.amountKg" in set(undocumented(schema))
    finally:
        field.description = kept
