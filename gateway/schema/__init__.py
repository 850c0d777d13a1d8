"""The GraphQL schema: strawberry types and resolvers, one module per domain.

`Query` and `Mutation` are merged from per-domain classes (`ORDER`, not inheritance chains), so a new
domain - e.g. products - adds its class to `QUERY_PARTS` / `MUTATION_PARTS` with a one-line edit.
"""

from __future__ import annotations

import decimal
from collections.abc import Callable, Sequence

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext
from strawberry.types.base import get_object_definition

from gateway.masking import should_mask
from gateway.schema.catalogue import CatalogueQueries
from gateway.schema.checkout import CheckoutMutations, CheckoutQueries
from gateway.schema.execution import FastFieldsExecutionContext
from gateway.schema.hooks import LeanExtensionsRunner
from gateway.schema.impact import ImpactQueries
from gateway.schema.node import NodeQueries
from gateway.schema.orders import OrderMutations, OrderQueries
from gateway.schema.products import ProductMutations
from gateway.schema.quotes import QuoteQueries
from gateway.schema.scalars import DecimalScalar
from gateway.schema.subaccounts import SubaccountMutations, SubaccountQueries
from gateway.schema.subscriptions import OrderSubscriptions

QUERY_PARTS: tuple[type, ...] = (
    OrderQueries,
    SubaccountQueries,
    CatalogueQueries,
    QuoteQueries,
    ImpactQueries,
    CheckoutQueries,
    NodeQueries,
)
MUTATION_PARTS: tuple[type, ...] = (
    OrderMutations,
    SubaccountMutations,
    CheckoutMutations,
    ProductMutations,
)

ExtensionSpec = type[SchemaExtension] | Callable[[], SchemaExtension]


class GatewaySchema(strawberry.Schema):
    """strawberry's schema, logging only the errors that are ours to fix.

    strawberry logs every GraphQL error at ERROR with a traceback, so each typo in a query, each bad
    variable and each expected NOT_FOUND would page someone, however the app is run (`serve`, plain
    `uvicorn --factory`, tests). The client already has those in its response; only errors that masking
    will hide (bugs, library failures) are logged, and the log handlers' redaction filter blanks secrets.
    """

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        super().process_errors([error for error in errors if should_mask(error)], execution_context)

    def create_extensions_runner(
        self, execution_context: ExecutionContext, extensions: list[SchemaExtension]
    ) -> SchemaExtensionsRunner:
        # The same hooks in the same order, minus strawberry's per-request wrapping (`gateway.schema.hooks`).
        return LeanExtensionsRunner(execution_context=execution_context, extensions=extensions)


def build_schema(
    extensions: Sequence[ExtensionSpec] = (), *, schema_class: type[GatewaySchema] = GatewaySchema
) -> strawberry.Schema:
    """Build the gateway's schema.

    extensions: strawberry schema extensions. Backend failures become coded GraphQL errors during
    execution (`UpstreamErrorsExecutionContext`), before any masking extension sees them; fields that
    only read an attribute take a short path (`FastFieldsExecutionContext`).
    schema_class: `gateway.federation.SubgraphSchema` for the federation subgraph.
    """
    query = merge_types("Query", QUERY_PARTS)
    get_object_definition(
        query, strict=True
    ).description = "What can be read: orders, subaccounts, catalogue, quotes and impact."
    mutation = merge_types("Mutation", MUTATION_PARTS)
    get_object_definition(mutation, strict=True).description = (
        "What can be changed: orders, subaccounts, checkout sessions and product offset records. Each "
        "takes one `input` and answers a payload with `userErrors`."
    )
    return schema_class(
        query=query,
        mutation=mutation,
        subscription=OrderSubscriptions,
        extensions=list(extensions),
        execution_context_class=FastFieldsExecutionContext,
        # Money amounts: the gateway's own `Decimal` (plain notation, bounded input), not strawberry's.
        config=StrawberryConfig(scalar_map={decimal.Decimal: DecimalScalar}),
    )
