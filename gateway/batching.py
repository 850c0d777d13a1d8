"""JSON-array batching on ``POST /graphql`` (Apollo's BatchHttpLink, graphql-request's batchRequests).

- A body that is a JSON array of operation objects is a batch of at most ``GATEWAY_MAX_BATCH_SIZE``
  operations (default 10; ``0`` turns batching off). An empty array, a non-object item or too many items
  refuse the whole batch with ``400 BAD_REQUEST`` before anything runs.
- The answer is a JSON array in the same order, one entry per operation, each answered on its own: an
  operation that fails to parse, validate, name its operation or pass the limits has its errors in its own
  entry and the others still run. The HTTP status is ``200`` (per-operation statuses cannot be expressed).
- All operations share one request context, so one set of loaders: an order, subaccount or project that
  two operations ask for is fetched once, and a batch costs no more upstream calls than one query asking
  for the same data.
- Order: consecutive queries run concurrently (so their loader keys batch together); a mutation runs
  alone, after everything before it and before everything after it, so the batch's side effects happen in
  the order written and later queries see them.
- Cost and rate limit: every operation is checked and charged as if sent alone (one arrival point each,
  plus its cost) and, in addition, the operations of one request together may not request more than
  ``GATEWAY_MAX_COST``: the operation that would exceed it is refused with ``MAX_COST_EXCEEDED``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from functools import lru_cache
from typing import TypeVar

from cross_web import HTTPException
from graphql import GraphQLError, OperationType, get_operation_ast, parse

R = TypeVar("R")

DEFAULT_MAX_BATCH_SIZE = 10


def check_batch(items: Sequence[object], max_size: int) -> None:
    """Refuse a batch that cannot be answered operation by operation (raises a 400 HTTPException)."""
    if max_size <= 0:
        raise HTTPException(400, "batching is off on this gateway: send one operation per request")
    if not items:
        raise HTTPException(400, "the batch is empty: send at least one operation")
    if len(items) > max_size:
        raise HTTPException(400, f"a batch may hold at most {max_size} operations (GATEWAY_MAX_BATCH_SIZE)")
    if not all(isinstance(item, dict) for item in items):
        raise HTTPException(400, "every item of a batch must be a GraphQL request object")


@lru_cache(maxsize=256)
def is_mutation(query: str | None, operation_name: str | None) -> bool:
    """Whether the operation `operation_name` of `query` is a mutation (False when it cannot tell)."""
    if not query:
        return False
    try:
        operation = get_operation_ast(parse(query, no_location=True), operation_name)
    except GraphQLError:
        return False  # it fails on its own when it runs
    return operation is not None and operation.operation is OperationType.MUTATION


async def run_in_order(operations: Sequence[Callable[[], Awaitable[R]]], mutating: Sequence[bool]) -> list[R]:
    """Run `operations`: consecutive non-mutating ones together, each mutating one alone, in order."""
    results: list[R] = []
    group: list[Callable[[], Awaitable[R]]] = []
    for operation, mutation in zip(operations, mutating, strict=True):
        if mutation:
            results += await _together(group)
            results.append(await operation())
            group = []
        else:
            group.append(operation)
    return results + await _together(group)


async def _together(group: list[Callable[[], Awaitable[R]]]) -> list[R]:
    return list(await asyncio.gather(*(operation() for operation in group)))
