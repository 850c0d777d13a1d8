"""Apollo Federation v2 subgraph mode (``GATEWAY_FEDERATION=true``): the same schema, plus ``_service`` and
``_entities``, with ``@key(fields: "id")`` on the node types, so a router (Apollo Router, Hive Gateway, Cosmo)
can compose the gateway with other subgraphs.

- Entities: `Order`, `Subaccount`, `Portfolio`, `Project`, `ProjectCategory`, `CheckoutSession`, keyed by
  their global ``id`` (the Relay id the schema already exposes). ``_entities`` resolves each representation
  like ``node(id:)`` does (`gateway.schema.node.fetch_node`): through the request's loaders, so a router's
  batch of representations costs one upstream call per distinct object, concurrently, and a failed one is
  null with an error at its index while the others resolve. A representation whose id names another type
  than its ``__typename`` is refused (BAD_USER_INPUT).
- Auth and tenancy are unchanged: the router forwards the caller's ``Authorization`` (configure it to) and
  the gateway authenticates it; ``_entities`` and ``_service`` need the ``read`` scope; a credential bound
  to a subaccount gets NOT_FOUND for any other Subaccount, as for ``node(id:)``, and its order and checkout
  lookups carry its ``X-Subaccount-Id`` as every call does.
- The normal schema (and ``schema.graphql``) is untouched: the keys are attached to the types only while the
  subgraph schema is built and its SDL printed; ``_service { sdl }`` then answers that printed SDL.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Final

import strawberry
import strawberry.federation
from graphql import GraphQLError
from strawberry.federation.schema_directives import Key
from strawberry.federation.types import FieldSet
from strawberry.printer import print_schema
from strawberry.types.base import get_object_definition

from gateway.context import GatewayInfo, SubaccountNotAllowedError
from gateway.ids import node_id
from gateway.schema import ExtensionSpec, GatewaySchema, build_schema
from gateway.schema.catalogue import Portfolio, Project, ProjectCategory
from gateway.schema.checkout import CheckoutSession
from gateway.schema.errors import translated
from gateway.schema.node import Node, fetch_node
from gateway.schema.orders import Order
from gateway.schema.subaccounts import Subaccount

ENTITY_TYPES: tuple[type, ...] = (Order, Subaccount, Portfolio, Project, ProjectCategory, CheckoutSession)
FEDERATION_VERSION: Final = "2.5"


class SubgraphSchema(strawberry.federation.Schema, GatewaySchema):
    """The gateway's schema as a Federation v2 subgraph (same error logging as `GatewaySchema`)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs, federation_version=FEDERATION_VERSION)

    def entities_resolver(
        self, info: strawberry.Info, representations: list[strawberry.federation.schema.FederationAny]
    ) -> list[strawberry.federation.schema.FederationAny]:
        # One awaitable per representation: graphql-core resolves them concurrently (one loader batch) and a
        # failure becomes null at its index plus an error, as for `nodes(ids:)`.
        items: list[Any] = [translated(resolve_entity(info, rep), info.context) for rep in representations]
        return items


async def resolve_entity(info: GatewayInfo, representation: Any) -> Node:
    """The object a router's representation (``{"__typename": ..., "id": <global id>}``) names."""
    if not isinstance(representation, dict) or not isinstance(representation.get("id"), str):
        raise GraphQLError("a representation needs __typename and id", extensions={"code": "BAD_USER_INPUT"})
    type_name, upstream_id = node_id(representation["id"])
    if type_name != representation.get("__typename"):
        raise GraphQLError("the id names another type", extensions={"code": "BAD_USER_INPUT"})
    bound = info.context.principal.subaccount_id
    if type_name == "Subaccount" and bound is not None and upstream_id != bound:
        raise SubaccountNotAllowedError  # exactly like a subaccount that does not exist
    return await fetch_node(info, representation["id"])


def build_subgraph_schema(extensions: Sequence[ExtensionSpec] = ()) -> strawberry.Schema:
    """The subgraph schema, with ``_service { sdl }`` answering the SDL printed with the entity keys."""
    with _entity_keys():
        schema = build_schema(extensions, schema_class=SubgraphSchema)
        sdl = print_schema(schema)
    service = schema._schema.type_map["_Service"]
    service.fields["sdl"].resolve = lambda *_: sdl  # type: ignore[attr-defined]
    return schema


def subgraph_sdl() -> str:
    """The SDL a router composes (what ``_service { sdl }`` answers)."""
    with _entity_keys():
        return print_schema(build_schema(schema_class=SubgraphSchema))


@contextmanager
def _entity_keys() -> Iterator[None]:
    """``@key(fields: "id")`` on the entity types while the subgraph is built and printed, then removed, so
    the plain schema built from the same classes never shows federation directives."""
    definitions = [get_object_definition(t, strict=True) for t in ENTITY_TYPES]
    saved = [list(definition.directives or ()) for definition in definitions]
    for definition, directives in zip(definitions, saved, strict=True):
        definition.directives = [*directives, Key(fields=FieldSet("id"))]
    try:
        yield
    finally:
        for definition, directives in zip(definitions, saved, strict=True):
            definition.directives = directives
