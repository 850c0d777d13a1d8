"""Which operation of a document runs: the GraphQL spec's rule, which strawberry does not enforce.

A document with several operations needs an ``operationName`` naming one of them, and a given
``operationName`` must name an operation of the document; otherwise the request is an error and nothing
runs (GraphQL spec, "GetOperation"; GraphQL-over-HTTP: a request error, ``400`` under
``application/graphql-response+json``). Strawberry 0.341 instead runs the document's *first* operation
when no name is given: a client that sends no ``operationName`` (graphql-request does not) asking for a
query out of a document that also holds a mutation would place an order.

Both failures are coded ``BAD_REQUEST`` and answered like the other request errors (``400`` under
``application/graphql-response+json``, ``200`` under ``application/json``), in a batch too, where they
fail only their own operation. The check runs right after parsing, before validation, limits, cost and
any resolver.
"""

from __future__ import annotations

from collections.abc import Iterator

from graphql import DocumentNode, GraphQLError, OperationDefinitionNode
from strawberry.extensions import SchemaExtension

CODE = "BAD_REQUEST"


def operation_problem(document: DocumentNode, operation_name: str | None) -> str | None:
    """Why `operation_name` selects no single operation of `document`, or None when it does."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is None:
        if len(operations) > 1:
            return "the document holds several operations: send `operationName` to choose one; nothing ran"
        return None
    if not any(op.name is not None and op.name.value == operation_name for op in operations):
        return f"`operationName` {operation_name!r} names no operation of the document; nothing ran"
    return None


class OperationSelection(SchemaExtension):
    """Refuses a request whose operation is ambiguous or missing, once the document is parsed."""

    def on_parse(self) -> Iterator[None]:
        yield
        document = self.execution_context.graphql_document
        if document is None:  # did not parse: that error is reported instead
            return
        # `operation_name` itself falls back to the first operation's name; only the caller's counts here.
        requested = self.execution_context._provided_operation_name
        problem = operation_problem(document, requested)
        if problem is not None:
            raise GraphQLError(problem, extensions={"code": CODE})
