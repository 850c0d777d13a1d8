"""Operation limits, cost numbers, scopes, tenant checks and the rate limiter on a toy schema (in process)."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.auth.principal import ORDERS_WRITE, READ, SUBACCOUNTS_WRITE, Principal
from gateway.ratelimit import CostRateLimiter
from tests.security.toy_schema import Ctx, toy_schema

ORDERS_50 = "{ orders(first: 50) { edges { node { id subaccount { name } } } pageInfo { hasNextPage } } }"


async def run(
    query: str, variables: dict[str, Any] | None = None, ctx: Ctx | None = None, **limits: Any
) -> Any:
    return await toy_schema(**limits).execute(query, variable_values=variables, context_value=ctx or Ctx())


def codes(result: Any) -> list[str]:
    return [e.extensions.get("code") for e in result.errors or ()]


@pytest.mark.parametrize(
    ("query", "requested", "actual"),
    [
        # orders: 1 list call + 50 x subaccount (the orders come with the list); three come back: 1 + 3.
        (ORDERS_50, 51, 4),
        # one order (1) + one call for its allocations list (1): a list resolver runs once.
        ('{ order(id: "1") { id allocations { id } } }', 2, 2),
        # each of the (estimated 10) allocations' owner is a call of its own; one allocation comes back.
        ('{ order(id: "1") { allocations { owner { id } } } }', 1 + 1 + 10, 3),
        ('{ order(id: "x") { id subaccount { id } } }', 2, 0),
        ("{ hello __typename }", 0, 0),
        ('{ order(id: "1") { details { note } } }', 1, 1),
        ("{ a: orders(last: 2) { edges { node { id } } } b: portfolios { id } }", 1 + 1, 1 + 1),
    ],
)
async def test_cost_numbers(query: str, requested: int, actual: int) -> None:
    result = await run(query)
    assert not result.errors
    assert result.extensions["cost"] == {"requested": requested, "actual": actual, "maximum": 2000}


async def test_cost_through_fragments_and_variables() -> None:
    query = (
        "query Q($n: Int) { orders(first: $n) { ...E } } "
        "fragment E on OrderConnection { edges { node { subaccount { id } } } }"
    )
    result = await run(query, {"n": 20})
    assert result.extensions["cost"]["requested"] == 21


@pytest.mark.parametrize(
    ("size", "code"), [(100, None), (101, "PAGE_SIZE_EXCEEDED"), (-1, "PAGE_SIZE_EXCEEDED")]
)
async def test_page_size_cap(size: int, code: str | None) -> None:
    result = await run("query($n: Int) { orders(first: $n) { edges { cursor } } }", {"n": size})
    assert codes(result) == ([code] if code else [])


async def test_page_size_required() -> None:
    for query in (
        "{ orders { edges { cursor } } }",
        "query($n: Int) { orders(first: $n) { edges { cursor } } }",
    ):
        assert codes(await run(query)) == ["PAGE_SIZE_REQUIRED"]


@pytest.mark.parametrize(("maximum", "ok"), [(51, True), (50, False)])
async def test_max_cost_just_under_and_over(maximum: int, ok: bool) -> None:
    result = await run(ORDERS_50, max_cost=maximum)
    assert codes(result) == ([] if ok else ["MAX_COST_EXCEEDED"])
    if not ok:
        assert result.data is None and result.extensions["cost"]["requested"] == 51


@pytest.mark.parametrize(("limit", "ok"), [(3, True), (2, False)])
async def test_depth_limit(limit: int, ok: bool) -> None:
    result = await run('{ order(id: "1") { subaccount { id } } }', max_depth=limit)  # depth 3
    assert codes(result) == ([] if ok else ["DEPTH_LIMIT_EXCEEDED"])


async def test_depth_counts_fragments_and_survives_cycles() -> None:
    query = '{ order(id: "1") { ...A } } fragment A on Order { subaccount { id } }'
    assert codes(await run(query, max_depth=2)) == ["DEPTH_LIMIT_EXCEEDED"]
    cyclic = '{ order(id: "1") { ...A } } fragment A on Order { ...B } fragment B on Order { ...A }'
    assert codes(await run(cyclic))  # the standard NoFragmentCycles rule reports it; no recursion error


@pytest.mark.parametrize(("limit", "ok"), [(3, True), (2, False)])
async def test_alias_limit(limit: int, ok: bool) -> None:
    result = await run("{ a: hello b: hello c: hello }", max_aliases=limit)
    assert codes(result) == ([] if ok else ["ALIAS_LIMIT_EXCEEDED"])


@pytest.mark.parametrize(("limit", "ok"), [(3, True), (2, False)])
async def test_root_field_limit(limit: int, ok: bool) -> None:
    result = await run("{ a: hello b: hello c: hello }", max_root_fields=limit)
    assert ("ROOT_FIELD_LIMIT_EXCEEDED" not in codes(result)) is ok


@pytest.mark.parametrize(("limit", "ok"), [(3, True), (2, False)])
async def test_token_limit(limit: int, ok: bool) -> None:
    result = await run("{ hello }", max_tokens=limit)  # three tokens: { hello }
    assert codes(result) == ([] if ok else ["TOKEN_LIMIT_EXCEEDED"])


PLACE = "mutation($s: String) { placeOrder(input: {amountKg: 1, subaccountId: $s}) { id } }"


@pytest.mark.parametrize(
    ("scopes", "bound", "query", "variables", "code"),
    [
        ({READ}, None, "{ portfolios { id } }", None, None),
        (set(), None, "{ portfolios { id } }", None, "FORBIDDEN"),
        ({READ}, None, "{ hello }", None, "FORBIDDEN"),  # a root field without a rule needs admin
        ({READ}, None, PLACE, None, "FORBIDDEN"),
        ({ORDERS_WRITE}, None, PLACE, None, None),
        ({ORDERS_WRITE}, "sub_1", PLACE, {"s": "sub_1"}, None),
        ({ORDERS_WRITE}, "sub_1", PLACE, {"s": "sub_2"}, "NOT_FOUND"),
        (
            {READ},
            "sub_1",
            '{ orders(first: 1, subaccountId: "sub_2") { edges { cursor } } }',
            None,
            "NOT_FOUND",
        ),
        ({SUBACCOUNTS_WRITE}, None, 'mutation { createSubaccount(name: "x") { id } }', None, None),
        ({SUBACCOUNTS_WRITE}, "sub_1", 'mutation { createSubaccount(name: "x") { id } }', None, "FORBIDDEN"),
    ],
)
async def test_scopes_and_tenant(
    scopes: set[str], bound: str | None, query: str, variables: dict[str, Any] | None, code: str | None
) -> None:
    ctx = Ctx(principal=Principal("p", frozenset(scopes), subaccount_id=bound))
    result = await run(query, variables, ctx)
    assert codes(result) == ([code] if code else [])
    if code:
        assert result.data is None


async def test_rate_limit_in_memory() -> None:
    limiter = CostRateLimiter(80, 60)
    schema = toy_schema(limiter)
    first = await schema.execute(ORDERS_50, context_value=Ctx())
    assert not first.errors
    ctx = Ctx()
    second = await schema.execute(ORDERS_50, context_value=ctx)
    assert codes(second) == ["RATE_LIMITED"]
    assert ctx.response.status_code == 429
    assert 1 <= int(ctx.response.headers["retry-after"]) <= 60
    other = Ctx(principal=Principal("someone-else", frozenset({READ})))
    assert not (await schema.execute(ORDERS_50, context_value=other)).errors  # budgets are per credential
