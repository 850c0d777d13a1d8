"""Plans kept across requests (`gateway.schema.plans`) change nothing but the work: the same document run
again - a plan hit - answers exactly as graphql-core's own per-request path does, and only documents whose
field collection cannot depend on the request get a plan.

The differential cases run each document with graphql-core's execution first (the gateway's error
translation only), then several times in a row with the gateway's executor and its plans; the parser
cache hands every run the same document, as in the server. `tests/gateway/e2e/test_execution_plans.py`
does the same through the real gateway (costs, upstream calls, mutations, variables).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import graphql
import pytest
import strawberry
from graphql import GraphQLObjectType, GraphQLSchema
from graphql.execution import executor as graphql_executor
from graphql.execution.collect_fields import GroupedFieldSet, collect_fields
from graphql.execution.values import VariableValues
from hypothesis import given
from hypothesis_graphql import queries
from strawberry.extensions import ParserCache

from gateway.schema.errors import UpstreamErrorsExecutionContext
from gateway.schema.execution import FastFieldsExecutionContext, _Selection
from gateway.schema.plans import OperationPlans, is_static
from tests.gateway.unit.test_fast_execution import Leaf, ThingQuery, _answer, _settled, generated


class CollectCounter:
    """Counts graphql-core's collections of subfields (what a plan hit does without)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        collect = graphql_executor.collect_subfields

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            return collect(*args, **kwargs)

        monkeypatch.setattr(graphql_executor, "collect_subfields", counted)


def fresh_plans(monkeypatch: pytest.MonkeyPatch) -> OperationPlans[_Selection]:
    """A fresh plan store for the gateway's executor (the tests do not share their plans)."""
    store = OperationPlans(_Selection)
    monkeypatch.setattr(FastFieldsExecutionContext, "plans", store)
    return store


@pytest.fixture
def plans(monkeypatch: pytest.MonkeyPatch) -> OperationPlans[_Selection]:
    return fresh_plans(monkeypatch)


@pytest.fixture
def things() -> strawberry.Schema:
    return strawberry.Schema(
        ThingQuery,
        types=[Leaf],
        extensions=[ParserCache],
        execution_context_class=FastFieldsExecutionContext,
    )


async def _run(
    schema: strawberry.Schema, query: str, variables: dict[str, Any] | None = None
) -> tuple[Any, Any]:
    result = await schema.execute(query, variable_values=variables)
    await _settled()
    return _answer(result)


async def _reference(
    schema: strawberry.Schema, query: str, variables: dict[str, Any] | None = None
) -> tuple[Any, Any]:
    """graphql-core's own answer (its per-request collection, field by field)."""
    schema.execution_context_class = UpstreamErrorsExecutionContext
    try:
        return await _run(schema, query, variables)
    finally:
        schema.execution_context_class = FastFieldsExecutionContext


async def _differential(
    schema: strawberry.Schema, query: str, variables: dict[str, Any] | None = None, times: int = 3
) -> tuple[Any, Any]:
    """graphql-core's answer, and `times` answers of the gateway's executor in a row, all equal."""
    reference = await _reference(schema, query, variables)
    for _ in range(times):
        assert await _run(schema, query, variables) == reference
    return reference


THING_DOCUMENTS = [
    # aliases, the same field twice, __typename, fragments and inline fragments, an interface
    "{ thing { label a: leaf { name } leaf { count } leaf { name __typename } ...T"
    " named { __typename name ... on Leaf { colour } } } } fragment T on Thing { maybeLeaf { when tags } }",
    # errors in nested fields: refused scalars, nulls in non-null lists, failing sync and async resolvers
    "{ things { label refused leaves { count maybeCount tags holeyTags } later { label strictRefused"
    " { name } } } maybeThing(seed: 1) { oddLeaves { name } repeated { name count } } }",
    # one object met again (memoized answers stay per execution), nested lists, a non-null propagation
    "{ twins { label firstLeaf { name } strictChildren { label children { label leaf { name } } } } }",
]


@pytest.mark.parametrize("query", THING_DOCUMENTS, ids=range(len(THING_DOCUMENTS)))
async def test_a_static_document_answers_the_same_every_time_and_is_collected_once(
    things: strawberry.Schema,
    plans: OperationPlans[_Selection],
    monkeypatch: pytest.MonkeyPatch,
    query: str,
) -> None:
    reference = await _differential(things, query, times=1)  # the first run builds the plan
    assert len(plans) == 1
    collections = CollectCounter(monkeypatch)
    for _ in range(3):
        assert await _run(things, query) == reference
    assert collections.calls == 0  # each run took the kept collections: a plan hit
    await _reference(things, query)
    assert collections.calls > 0  # while graphql-core's own path collects on every request


async def test_errors_in_nested_fields_are_located_alike_on_a_plan_hit(
    things: strawberry.Schema, plans: OperationPlans[_Selection]
) -> None:
    data, errors = await _differential(things, THING_DOCUMENTS[1])
    assert data is not None and len(errors) > 3
    assert max(len(path) for _, path, _ in errors) > 3  # nested positions, list indexes included


DIRECTIVES = (
    "query($yes: Boolean!, $no: Boolean!) { thing { label @include(if: $yes) leaf @skip(if: $yes)"
    " { name } ... on Thing @include(if: $no) { maybeLeaf { name } } ...T @skip(if: $no) } }"
    " fragment T on Thing { leaves { count @include(if: $yes) name } }"
)


async def test_a_document_with_skip_or_include_is_collected_per_request(
    things: strawberry.Schema, plans: OperationPlans[_Selection], monkeypatch: pytest.MonkeyPatch
) -> None:
    collections = CollectCounter(monkeypatch)
    seen = set()
    for yes, no in [(True, False), (False, True), (True, True), (True, False), (False, False)]:
        variables = {"yes": yes, "no": no}
        reference = await _reference(things, DIRECTIVES, variables)
        seen.add(str(reference[0]))
        calls = collections.calls
        assert await _run(things, DIRECTIVES, variables) == reference
        assert collections.calls > calls  # collected for this request: no plan
    assert len(seen) == 4  # the variables did change what was collected


def test_generated_documents_answer_as_graphql_core_does_when_run_again() -> None:
    schema = strawberry.Schema(
        ThingQuery, types=[Leaf], extensions=[ParserCache], execution_context_class=FastFieldsExecutionContext
    )

    @generated
    @given(queries(str(schema)))
    def check(document: Any) -> None:
        asyncio.run(_differential(schema, str(document), times=2))

    check()


async def test_concurrent_first_requests_of_a_document_answer_alike(
    things: strawberry.Schema, plans: OperationPlans[_Selection], monkeypatch: pytest.MonkeyPatch
) -> None:
    query = "{ maybeThing(seed: 2) { label later { label leaf { name } later { leaves { count } } } } }"
    reference = await _reference(things, query)
    plans_again = OperationPlans(_Selection)
    monkeypatch.setattr(FastFieldsExecutionContext, "plans", plans_again)  # every request is a first one
    answers = await asyncio.gather(*(things.execute(query) for _ in range(8)))
    await _settled()
    assert [_answer(answer) for answer in answers] == [reference] * 8
    assert len(plans_again) == 1


# --- the plan store itself ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "static"),
    [
        ("{ a { b c { d } } }", True),
        ("{ a { ...F ... on T { c } } } fragment F on T { b { c } }", True),
        ("{ a { ...Missing } }", True),  # an unknown fragment collects nothing, whatever the request
        ("{ a { ...A } } fragment A on T { ...B } fragment B on T { x ...A }", True),  # a cycle ends
        ("{ a { b @skip(if: $x) } }", False),
        ("{ a { b { c { d @include(if: true) } } } }", False),  # any depth, any value
        ("{ a { ... on T @include(if: $x) { b } } }", False),
        ("{ a { ...F @skip(if: $x) } } fragment F on T { b }", False),
        ("{ a { ...F } } fragment F on T { b { c @include(if: $x) } }", False),
        ("{ a { ...F } } fragment F on T @x { b }", False),
        ("{ a { ... @defer { b } } }", False),
        ("{ a @stream { b } }", False),
        ("{ a { ...F(x: true) } } fragment F($x: Boolean) on T { b }", False),
        ("{ a { b } } fragment F($x: Boolean) on T { b }", True),  # not spread: never collected
    ],
)
def test_only_documents_collected_the_same_for_every_request_are_static(document: str, static: bool) -> None:
    parsed = graphql.parse(document, experimental_fragment_arguments=True)
    operation = next(d for d in parsed.definitions if isinstance(d, graphql.OperationDefinitionNode))
    fragments = {d.name.value: d for d in parsed.definitions if isinstance(d, graphql.FragmentDefinitionNode)}
    assert is_static(operation, fragments) is static


SDL = graphql.build_schema("type Query { a: T } type T { b: Int c: T }")


def _operation(
    text: str,
) -> tuple[graphql.OperationDefinitionNode, dict[str, graphql.FragmentDefinitionNode]]:
    parsed = graphql.parse(text)
    operations = [d for d in parsed.definitions if isinstance(d, graphql.OperationDefinitionNode)]
    fragments = {d.name.value: d for d in parsed.definitions if isinstance(d, graphql.FragmentDefinitionNode)}
    return operations[0], fragments


def _root_fields(schema: GraphQLSchema, operation: graphql.OperationDefinitionNode) -> GroupedFieldSet:
    query = schema.query_type
    assert query is not None
    return collect_fields(schema, {}, VariableValues({}, {}), query, operation).grouped_field_set


def _built(object_type: GraphQLObjectType, grouped: GroupedFieldSet) -> tuple[str, list[str]]:
    return object_type.name, list(grouped)


def test_plans_are_bounded_and_least_recently_used_out() -> None:
    store = OperationPlans(_built, maxsize=2)
    first, second, third = (_operation(f"{{ a {{ b }} x{n}: a {{ c {{ b }} }} }}") for n in range(3))
    kept = store.plan(SDL, *first)
    assert kept is not None and store.plan(SDL, *first) is kept
    store.plan(SDL, *second)
    store.plan(SDL, *first)  # used again: `second` is now the least recently used
    store.plan(SDL, *third)
    assert len(store) == 2
    assert store.plan(SDL, *first) is kept
    assert len(store) == 2  # `second` went out, not `first`


def test_a_plan_serves_only_its_schema_and_its_fragment_definitions() -> None:
    store = OperationPlans(_built)
    operation, fragments = _operation("{ a { ...F } } fragment F on T { b }")
    plan = store.plan(SDL, operation, fragments)
    assert plan is not None
    other_schema = graphql.build_schema("type Query { a: T } type T { b: Int c: T }")
    assert store.plan(other_schema, operation, fragments) not in (None, plan)
    _, other_fragments = _operation("{ a { ...F } } fragment F on T { b }")  # equal text, other nodes
    assert store.plan(SDL, operation, other_fragments) is None
    assert store.plan(SDL, operation, {}) is None
    assert store.plan(SDL, operation, fragments) is plan


def test_a_document_that_is_not_static_gets_no_plan_and_is_remembered_as_such() -> None:
    store = OperationPlans(_built)
    operation, fragments = _operation("query($x: Boolean!) { a { b @include(if: $x) } }")
    assert store.plan(SDL, operation, fragments) is None
    assert store.plan(SDL, operation, fragments) is None
    assert len(store) == 1


def test_what_a_plan_keeps_is_the_first_collection_with_its_steps_built_once() -> None:
    store = OperationPlans(_built)
    operation, fragments = _operation("{ a { b c { b } } x: a { b } }")
    plan = store.plan(SDL, operation, fragments)
    assert plan is not None
    query, t = SDL.query_type, SDL.get_type("T")
    assert query is not None and isinstance(t, GraphQLObjectType)
    first = plan.root_fields(query, _root_fields(SDL, operation))
    assert type(first) is dict  # not graphql-core's defaultdict: reading it never adds a key
    assert plan.root_fields(query, _root_fields(SDL, operation)) is first
    assert plan.selection(first) == ("Query", ["a", "x"])
    details = first["a"]
    assert plan.subfields(t, details) is None  # nothing kept yet
    collected = graphql_executor.collect_subfields(SDL, {}, VariableValues({}, {}), operation, t, details)
    kept = plan.keep_subfields(t, details, collected)
    assert plan.subfields(t, details) is kept
    assert plan.keep_subfields(t, details, collected) is kept
    assert plan.selection(kept.grouped_field_set) == ("T", ["b", "c"])
    # A list that is not one of the plan's is left to graphql-core's per-request path.
    stranger = list(details)
    assert plan.keep_subfields(t, stranger, collected) is collected
    assert plan.subfields(t, stranger) is None


def test_threads_publishing_one_plan_agree_on_what_is_kept() -> None:
    store = OperationPlans(_built)
    operation, fragments = _operation("{ a { b c { b c { b } } } }")
    query = SDL.query_type
    assert query is not None
    kept: list[GroupedFieldSet] = []
    start = threading.Barrier(8)

    def publish() -> None:
        plan = store.plan(SDL, operation, fragments)
        assert plan is not None
        start.wait()
        kept.append(plan.root_fields(query, _root_fields(SDL, operation)))

    threads = [threading.Thread(target=publish) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(kept) == 8 and all(fields is kept[0] for fields in kept)


@pytest.fixture(autouse=True)
def _executor_class_restored(things: strawberry.Schema) -> Iterator[None]:
    yield
    things.execution_context_class = FastFieldsExecutionContext
