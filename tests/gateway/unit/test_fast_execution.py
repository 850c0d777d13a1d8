"""The short path for basic fields answers exactly as graphql-core does: same data, same errors, same order.

Each operation runs twice over the same in-memory data: once with the gateway's execution context
(`FastFieldsExecutionContext`) and once with graphql-core's field-by-field execution (the gateway's error
translation only, `UpstreamErrorsExecutionContext`); the responses must be equal, errors' messages, paths
and codes included. Two schemas:

- the gateway's own, over a fake upstream: hand-written operations aimed at the short path's edges
  (aliases, fragments on interfaces, `__typename`, directives, errors under non-null positions) and
  operations generated from `schema.graphql` by `hypothesis-graphql`;
- a small one made to break it (`Thing`): values the scalars refuse, nulls in non-null positions, nullable
  and non-null lists of objects with failing items, sync and async resolvers, an interface - every
  generated operation over it.
"""

from __future__ import annotations

import asyncio
import enum
import os
from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import graphql
import httpx
import pytest
import strawberry
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import queries

from gateway.ids import to_global_id
from gateway.masking import MaskInternalErrors
from gateway.schema import build_schema
from gateway.schema.errors import UpstreamErrorsExecutionContext
from gateway.schema.execution import FastFieldsExecutionContext, memoizable
from tests.gateway.unit.schema_fakes import FakeUpstream, context_for, order, portfolio, subaccount

SCHEMA = (Path(__file__).parents[3] / "schema.graphql").read_text()
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "100"))
Run = Callable[..., Coroutine[Any, Any, tuple[Any, Any]]]


def _upstream() -> FakeUpstream:
    orders = [order(f"o{n}", f"s{n % 3}", [f"p{n % 4}", f"p{(n + 1) % 4}"]) for n in range(8)]
    orders.append(order("o-missing-sub", "s-gone", ["p1"]))  # its subaccount answers 404
    orders.append(order("o-placed", None, [], state="placed"))
    orders.append({**order("o-null-allocations", "s1", []), "project_allocations": None})
    return FakeUpstream(
        orders=orders,
        subaccounts={f"s{n}": subaccount(f"s{n}") for n in range(3)},
        portfolios={"pf1": portfolio("pf1")},
    )


@pytest.fixture(scope="module")
def schema() -> strawberry.Schema:
    return build_schema(extensions=[MaskInternalErrors])


def _answer(result: Any) -> tuple[Any, Any]:
    errors = [(e.message, e.path, e.extensions) for e in result.errors or ()]
    return result.data, errors


@pytest.fixture
async def run(schema: strawberry.Schema) -> AsyncIterator[Run]:
    async def execute(
        query: str, variables: dict[str, Any] | None = None, failing: tuple[str, ...] = ()
    ) -> tuple[Any, Any]:
        answers = []
        for context_class in (FastFieldsExecutionContext, UpstreamErrorsExecutionContext):
            upstream = _upstream()
            for path in failing:
                upstream.fail(path, 404, {"title": "Not found", "status": 404})
            schema.execution_context_class = context_class
            try:
                async with httpx.AsyncClient(transport=upstream.transport()) as http:
                    context = await context_for(upstream, http)
                    result = await schema.execute(query, variable_values=variables, context_value=context)
                    await _settled()
            finally:
                schema.execution_context_class = FastFieldsExecutionContext
            answers.append(_answer(result))
        fast, reference = answers
        assert fast == reference
        return fast

    yield execute


DASHBOARD = (
    "{ orders(first: 50) { edges { cursor node { id upstreamId subaccount { name }"
    " projectAllocations { amountKg project { name unSdgGoals creditIssuances { vintageYear } } } } }"
    " pageInfo { hasNextPage endCursor } } }"
)

EDGES = [
    DASHBOARD,
    # aliases of one field with different selections, merged selections, __typename at every level
    "{ orders(first: 5) { __typename a: edges { node { __typename amountKg } } b: edges { node { state"
    " price { amount currencyCode } createdOn } } edges { node { amountKg } node { orderNumber } } } }",
    # fragments, an interface, node/nodes with a miss
    "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id ... on Order { amountKg ...O } } }"
    " fragment O on Order { projectAllocations { project { ... on Node { id } name } } }",
    # @skip/@include on basic fields (the short path leaves fields with directives to graphql-core)
    "query($yes: Boolean!) { orders(first: 3) { edges { node { amountKg @include(if: $yes)"
    " state @skip(if: $yes) projectAllocations @include(if: $yes) { amountKg } } } } }",
    # errors: a nullable subaccount that 404s, a non-null issuance list that fails under non-null parents
    "{ orders(first: 20) { edges { node { upstreamId subaccount { name } projectAllocations"
    " { project { upstreamId creditIssuances { vintageYear totalAmount } } } } } } }",
    # one order, the catalogue, and the last page backwards
    '{ order(id: "o1") { orderNumber amountKg state price { amount } certificatePublicUrl } '
    "portfolios { name } }",
    "{ orders(last: 4) { nodes { upstreamId } pageInfo { hasPreviousPage startCursor } } }",
    # resolvers with arguments called directly: from variables, a miss (NOT_FOUND), a global id, an
    # optional argument left out and one given as null, a bad id
    'query($o: ID!, $none: ID) { a: order(id: $o) { upstreamId } b: order(id: "nope") { upstreamId }'
    ' c: order(id: "o2", subaccountId: $none) { amountKg } d: subaccount(id: "s1") { name }'
    ' e: order(id: "o1", subaccountId: null) { state } f: node(id: "") { id } }',
]


@pytest.mark.parametrize("query", EDGES, ids=range(len(EDGES)))
async def test_the_short_path_answers_as_graphql_core_does(run: Run, query: str) -> None:
    ids = [to_global_id("Order", "o2"), to_global_id("Subaccount", "s1"), to_global_id("Order", "nope")]
    data, errors = await run(query, {"ids": ids, "yes": True, "o": to_global_id("Order", "o1")})
    assert data is not None or errors


async def test_a_failed_nullable_field_is_null_with_its_error_in_place(run: Run) -> None:
    data, errors = await run(EDGES[4])
    edges = data["orders"]["edges"]
    missing = next(i for i, edge in enumerate(edges) if edge["node"]["upstreamId"] == "o-missing-sub")
    assert edges[missing]["node"]["subaccount"] is None
    assert [(path, extensions["code"]) for _, path, extensions in errors] == [
        (["orders", "edges", missing, "node", "subaccount"], "NOT_FOUND")
    ]


async def test_an_error_under_non_null_positions_nulls_the_nearest_nullable_parent(run: Run) -> None:
    # `creditIssuances: [CreditIssuance!]!` fails for one project; every position up to `orders` is
    # non-null (project, allocation item, allocation list, node, edge item, edges), so `orders` is null.
    data, errors = await run(EDGES[4], failing=("/projects/p3",))
    assert data == {"orders": None}
    assert len(errors) == 1
    assert errors[0][1][-1] == "creditIssuances"
    assert errors[0][2]["code"] == "NOT_FOUND"


def _scalars() -> dict[str, st.SearchStrategy[graphql.ValueNode]]:
    text = st.text(max_size=8).map(lambda value: graphql.StringValueNode(value=value))
    return {"DateTime": text, "Decimal": text, "Upload": st.just(graphql.NullValueNode())}


generated = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def test_generated_queries_answer_as_graphql_core_does(run: Run) -> None:
    @generated
    @given(queries(SCHEMA, custom_scalars=_scalars()))
    def check(document: Any) -> None:
        asyncio.run(run(str(document)))

    check()


# --- a schema made to break the short path ----------------------------------------------------------------


@strawberry.enum
class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.interface
class Named:
    name: str


@strawberry.type
class Leaf(Named):
    count: int
    maybe_count: int | None
    maybe: str | None
    colour: Colour
    when: datetime
    tags: list[str]
    holey_tags: list[str | None] | None


@strawberry.type
class Thing:
    label: str
    leaf: Leaf
    maybe_leaf: Leaf | None
    leaves: list[Leaf]
    maybe_leaves: list[Leaf] | None
    holey_leaves: list[Leaf | None]
    named: Named | None
    odd: Leaf | None  # sometimes not a Leaf at all: graphql-core's is_type_of refuses it
    odd_leaves: list[Leaf]
    repeated: list[Leaf]  # one object several times, a broken one among them: its errors at each place
    depth: strawberry.Private[int]

    @strawberry.field
    @memoizable
    def first_leaf(self) -> Leaf:
        FIRST_LEAF_CALLS.append(self.label)
        return self.leaves[0]

    @strawberry.field
    def children(self) -> list[Thing] | None:
        return [_thing(self.depth + 1, n) for n in range(2)] if self.depth < 2 else None

    @strawberry.field
    def strict_children(self) -> list[Thing]:
        return [_thing(self.depth + 1, n) for n in range(2)] if self.depth < 2 else []

    @strawberry.field
    async def later(self) -> Thing | None:
        await asyncio.sleep(0)
        return _thing(self.depth + 1, 1) if self.depth < 2 else None

    @strawberry.field
    def refused(self) -> str | None:
        raise ValueError("refused")

    @strawberry.field
    def strict_refused(self) -> Leaf:
        raise ValueError("strictly refused")


FIRST_LEAF_CALLS: list[str] = []


def _leaf(seed: int) -> Leaf:
    broken = seed % 4 == 1
    return Leaf(
        name=None if seed % 7 == 6 else f"leaf {seed}",  # type: ignore[arg-type]  # null, non-null
        count=2**40 if broken else seed,  # out of Int's range: a field error
        maybe_count=2**40 if broken else None,  # the same, where it nulls only this field
        maybe=None if seed % 2 else "here",
        colour=Colour.RED if seed % 3 else "purple",  # type: ignore[arg-type]  # not a Colour
        when=datetime(2024, 1, 1 + seed % 28, tzinfo=UTC),
        tags=["a", None] if broken else ["a", "b"],  # type: ignore[list-item]
        holey_tags=[None, "x"] if seed % 2 else None,
    )


def _thing(depth: int, seed: int) -> Thing:
    leaves = [_leaf(seed * 10 + n) for n in range(5)]
    return Thing(
        label=f"thing {depth}/{seed}",
        leaf=leaves[0],
        maybe_leaf=None if seed % 2 else leaves[1],
        leaves=leaves[:3],
        maybe_leaves=leaves if seed % 2 else None,
        holey_leaves=[leaves[0], None, leaves[2]],
        named=leaves[3],
        odd=leaves[1] if seed % 2 else {"name": "a dict"},  # type: ignore[arg-type]
        odd_leaves=[leaves[0], "not a leaf"] if seed % 2 == 0 else leaves[:2],  # type: ignore[list-item]
        repeated=[leaves[1], leaves[0], leaves[1], leaves[4], leaves[0]],
        depth=depth,
    )


@strawberry.type
class ThingQuery:
    @strawberry.field
    def thing(self, seed: int = 0) -> Thing:
        return _thing(0, seed % 3)

    @strawberry.field
    async def maybe_thing(self, seed: int = 1) -> Thing | None:
        return _thing(0, seed % 3)

    @strawberry.field
    def things(self) -> list[Thing | None]:
        return [_thing(0, 0), None, _thing(0, 1)]

    @strawberry.field
    def twins(self) -> list[Thing]:
        thing = _thing(0, 0)
        return [thing, _thing(0, 1), thing]


async def test_an_object_met_again_under_the_same_selection_is_not_resolved_again() -> None:
    schema = strawberry.Schema(ThingQuery, types=[Leaf], execution_context_class=FastFieldsExecutionContext)
    FIRST_LEAF_CALLS.clear()
    result = await schema.execute("{ twins { label firstLeaf { name } } a: twins { firstLeaf { name } } }")
    assert result.errors is None
    names = [twin["firstLeaf"]["name"] for twin in result.data["twins"]]
    assert names == ["leaf 0", "leaf 10", "leaf 0"]
    # `twins` holds one Thing twice: its `firstLeaf` is resolved once per selection it is met under.
    assert FIRST_LEAF_CALLS == ["thing 0/0", "thing 0/1", "thing 0/0", "thing 0/1"]


def test_generated_queries_over_edge_cases_answer_as_graphql_core_does() -> None:
    schema = strawberry.Schema(ThingQuery, types=[Leaf], execution_context_class=FastFieldsExecutionContext)

    async def both(query: str) -> None:
        answers = []
        for context_class in (FastFieldsExecutionContext, UpstreamErrorsExecutionContext):
            schema.execution_context_class = context_class
            answers.append(_answer(await schema.execute(query)))
            await _settled()
        assert answers[0] == answers[1]

    @generated
    @given(queries(str(schema)))
    def check(document: Any) -> None:
        asyncio.run(both(str(document)))

    check()


async def _settled() -> None:
    """Let the work graphql-core settles in the background finish (a server's loop runs on; asyncio.run
    would cancel it): when a non-null error propagates past a sibling still pending (`later`), both
    executors hand that sibling to `settle_in_background`."""
    others = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    await asyncio.gather(*others, return_exceptions=True)
