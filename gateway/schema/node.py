"""Relay object identification: the `Node` interface and the root `node(id)` / `nodes(ids)` fields.

Id arguments are read by `gateway.ids` (re-exported here for the domain modules): `node`/`nodes` take global
ids only, every other id argument a global id of its type or a plain upstream id.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import strawberry
from strawberry.types.base import get_object_definition

from gateway.context import GatewayInfo
from gateway.ids import InvalidIdError, node_id, optional_upstream_id, to_global_id, upstream_id_of
from gateway.schema.errors import translated


@strawberry.interface(description="An object with a globally unique id (Relay object identification).")
class Node:
    # The interface has exactly `id` (Relay's Global Object Identification spec); each node type publishes
    # its own `upstreamId` (`upstream_id_field()`), which `id` is made from.
    upstream_id: strawberry.Private[str]

    @strawberry.field(
        description="Globally unique id, `<Type>:<upstreamId>` (e.g. `Order:Gre28Fc35bt3`); `node(id:)` "
        "fetches the object again."
    )
    def id(self) -> strawberry.ID:
        type_name = get_object_definition(type(self), strict=True).name
        return strawberry.ID(to_global_id(type_name, self.upstream_id))


UPSTREAM_ID_HELP = "The object's id in the offsets REST API (as REST calls, webhooks, certificates use it)."


def upstream_id_field() -> Any:
    """The `upstreamId` field every node type declares (the `Node` interface has only `id`)."""
    return strawberry.field(description=UPSTREAM_ID_HELP)


NodeFetcher = Callable[[GatewayInfo, str], Awaitable[Node]]


def _fetchers() -> dict[str, NodeFetcher]:
    # Imported here: every domain module imports `Node` from this one.
    from gateway.schema import catalogue, checkout, orders, subaccounts

    return {
        "Order": orders.fetch_order_node,
        "Subaccount": subaccounts.fetch_subaccount_node,
        "Portfolio": catalogue.fetch_portfolio_node,
        "Project": catalogue.fetch_project_node,
        "ProjectCategory": catalogue.fetch_project_category_node,
        "CheckoutSession": checkout.fetch_checkout_session_node,
    }


NODE_TYPES: frozenset[str] = frozenset(
    {"Order", "Subaccount", "Portfolio", "Project", "ProjectCategory", "CheckoutSession"}
)


async def fetch_node(info: GatewayInfo, global_id: str) -> Node:
    """The object a global id names; InvalidIdError for a plain id or one naming no known node type."""
    type_name, upstream_id = node_id(global_id)
    fetcher = _fetchers().get(type_name)
    if fetcher is None:
        raise InvalidIdError(f"the id names no known object type ({type_name})")
    return await fetcher(info, upstream_id)


@strawberry.type
class NodeQueries:
    @strawberry.field(
        description="Fetch any object by its global id (`id`; a plain `upstreamId` names no type)."
    )
    async def node(
        self,
        info: GatewayInfo,
        id: Annotated[strawberry.ID, strawberry.argument(description="A global `id` (not an `upstreamId`).")],
    ) -> Node | None:
        return await fetch_node(info, id)

    @strawberry.field(description="Fetch objects by global ids, in order; a failed id is null with an error.")
    def nodes(
        self,
        info: GatewayInfo,
        ids: Annotated[
            list[strawberry.ID],
            strawberry.argument(description="Global `id`s (at most 100), answered in order."),
        ],
    ) -> list[Node | None]:
        # One awaitable per item: graphql-core resolves them concurrently and turns a failure into null at
        # that index plus an error at its path, so one unknown id does not hide the others.
        items: list[Any] = [translated(fetch_node(info, global_id), info.context) for global_id in ids]
        return items


__all__ = [
    "NODE_TYPES",
    "Node",
    "NodeQueries",
    "fetch_node",
    "optional_upstream_id",
    "upstream_id_field",
    "upstream_id_of",
]
