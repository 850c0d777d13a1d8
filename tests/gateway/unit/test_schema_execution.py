"""The schema executed in-process over a real OffsetsClient and a MockTransport upstream."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import strawberry

from gateway.auth import ALL_SCOPES, Principal
from gateway.auth.principal import sandbox_principal
from gateway.backend._http import upstream_idempotency_key
from gateway.context import build_context
from gateway.ids import encode_cursor, to_global_id
from gateway.masking import MaskInternalErrors
from gateway.schema import build_schema
from tests.gateway.unit.schema_fakes import (
    FakeUpstream,
    client,
    context_for,
    order,
    portfolio,
    settings,
    subaccount,
)


@pytest.fixture(scope="module")
def schema() -> strawberry.Schema:
    return build_schema(extensions=[MaskInternalErrors])


@pytest.fixture
def upstream() -> FakeUpstream:
    orders = [order(f"o{n}", f"s{n % 2}", [f"p{n % 4}", f"p{(n + 1) % 4}"]) for n in range(6)]
    return FakeUpstream(
        orders=orders,
        subaccounts={"s0": subaccount("s0"), "s1": subaccount("s1")},
        portfolios={"pf1": portfolio("pf1")},
    )


@pytest.fixture
async def run(upstream: FakeUpstream, schema: strawberry.Schema) -> AsyncIterator[Any]:
    async with httpx.AsyncClient(transport=upstream.transport()) as http:

        async def execute(query: str, variables: dict[str, Any] | None = None) -> Any:
            context = await context_for(upstream, http)
            return await schema.execute(query, variable_values=variables, context_value=context)

        yield execute


async def test_nested_orders_cost_one_request_per_distinct_object(run: Any, upstream: FakeUpstream) -> None:
    result = await run(
        "{ orders(first: 50) { edges { node { subaccount { name } projectAllocations"
        " { project { creditIssuances { vintageYear } } } } } } }"
    )
    assert result.errors is None
    assert len(result.data["orders"]["edges"]) == 6
    assert upstream.count("GET", "/v1/orders") == 1
    assert upstream.count("GET", "/v1/subaccounts/") == 2
    assert upstream.count("GET", "/v1/projects/") == 4
    assert len(upstream.requests) == 7


async def test_node_resolves_global_ids_and_nodes_isolates_failures(run: Any, upstream: FakeUpstream) -> None:
    ids = [to_global_id("Order", "o1"), to_global_id("Subaccount", "s1"), to_global_id("Order", "missing")]
    result = await run(
        "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id ... on Order { amountKg } } }", {"ids": ids}
    )
    assert [n and n["__typename"] for n in result.data["nodes"]] == ["Order", "Subaccount", None]
    assert result.data["nodes"][0]["id"] == ids[0]
    assert len(result.errors) == 1
    assert result.errors[0].path == ["nodes", 2]
    assert result.errors[0].extensions["code"] == "NOT_FOUND"


async def test_not_found_is_null_with_a_coded_error(run: Any) -> None:
    result = await run('{ order(id: "nope") { id } }')
    assert result.data == {"order": None}
    assert result.errors[0].extensions["code"] == "NOT_FOUND"
    assert result.errors[0].message == "Could not find it"


async def test_upstream_failure_in_a_query_is_coded_and_leaks_nothing(
    run: Any, upstream: FakeUpstream
) -> None:
    upstream.fail("/subaccounts/s0", 500, {"title": "boom at https://internal.example/v1?key=secret"})
    result = await run("{ orders(first: 6) { nodes { subaccount { name } } } }")
    codes = {error.extensions["code"] for error in result.errors}
    assert codes == {"UPSTREAM_ERROR"}
    names = [n["subaccount"] and n["subaccount"]["name"] for n in result.data["orders"]["nodes"]]
    assert names.count(None) == 3 and names.count("Sub s1") == 3  # the other subaccount still resolves


async def test_bad_pagination_and_ids_are_bad_user_input(run: Any) -> None:
    result = await run("{ orders(first: 500) { nodes { id } } }")
    assert result.errors[0].extensions == {"code": "BAD_USER_INPUT", "field": ["first"]}
    result = await run(f'{{ order(id: "{to_global_id("Subaccount", "s1")}") {{ id }} }}')
    assert result.errors[0].extensions["code"] == "BAD_USER_INPUT"


async def test_place_order_needs_exactly_one_amount_without_calling_upstream(
    run: Any, upstream: FakeUpstream
) -> None:
    result = await run(
        'mutation { placeOrder(input: {amountKg: 1, totalPrice: {amount: "0.02", currencyCode: USD}})'
        " { order { id } userErrors"
        " { code field message } } }"
    )
    errors = result.data["placeOrder"]["userErrors"]
    assert errors == [
        {
            "code": "INVALID_INPUT",
            "field": ["input"],
            "message": "Give exactly one of `amountKg` and `totalPrice`.",
        }
    ]
    assert upstream.requests == []


async def test_upstream_validation_errors_point_at_input_fields(run: Any, upstream: FakeUpstream) -> None:
    upstream.fail(
        "/orders",
        400,
        {
            "type": "https://api.cnaught.com/v1/errors/invalid-parameters",
            "title": "Your request parameters didn't validate",
            "status": 400,
            "errors": {"amount_kg": ["must be positive"], "notification_config.url": ["not a URL"]},
        },
    )
    result = await run(
        'mutation { placeOrder(input: {amountKg: -1, callbackUrl: "x"}) { order { id } idempotencyKey'
        " userErrors { code field message } } }"
    )
    payload = result.data["placeOrder"]
    assert payload["order"] is None
    assert payload["idempotencyKey"]
    assert payload["userErrors"] == [
        {"code": "INVALID_INPUT", "field": ["input", "amountKg"], "message": "must be positive"},
        {"code": "INVALID_INPUT", "field": ["input", "callbackUrl"], "message": "not a URL"},
    ]


async def test_mutation_sends_the_callers_idempotency_key_in_its_namespace(
    run: Any, upstream: FakeUpstream
) -> None:
    result = await run(
        'mutation { placeOrder(input: {amountKg: 3, idempotencyKey: "k-1", subaccountId: "s1"})'
        " { order { amountKg subaccount { name } } idempotencyKey replayed } }"
    )
    assert result.errors is None
    assert result.data["placeOrder"]["idempotencyKey"] == "k-1"  # the caller retries with its own key
    posted = upstream.requests[0]
    namespaced = upstream_idempotency_key("k-1", sandbox_principal().idempotency_namespace)
    assert namespaced.startswith("gw1-") and "k-1" not in namespaced
    assert (posted.headers["idempotency-key"], posted.headers["x-subaccount-id"]) == (namespaced, "s1")


async def test_unexpected_mutation_failure_is_an_error_carrying_the_key(
    run: Any, upstream: FakeUpstream
) -> None:
    upstream.fail("/orders", 503, {"title": "down"})
    result = await run(
        'mutation { placeOrder(input: {amountKg: 3, idempotencyKey: "k-2"}) { order { id } } }'
    )
    assert result.data is None or result.data["placeOrder"] is None
    assert result.errors[0].extensions["code"] == "UPSTREAM_ERROR"
    assert result.errors[0].extensions["idempotencyKey"] == "k-2"


async def test_backwards_pagination_over_orders(run: Any) -> None:
    result = await run(
        "query($before: String!) { orders(last: 2, before: $before) { nodes { upstreamId }"
        " pageInfo { hasPreviousPage hasNextPage } } }",
        {"before": encode_cursor("o4")},
    )
    assert result.data["orders"]["nodes"] == [{"upstreamId": "o2"}, {"upstreamId": "o3"}]
    assert result.data["orders"]["pageInfo"] == {"hasPreviousPage": True, "hasNextPage": True}


async def test_a_bound_principal_stays_in_its_subaccount(
    upstream: FakeUpstream, schema: strawberry.Schema
) -> None:
    bound = Principal(name="tenant", scopes=ALL_SCOPES, subaccount_id="s1")
    async with httpx.AsyncClient(transport=upstream.transport()) as http:
        context = await build_context(
            None, None, client=client(upstream, http), settings=settings(), principal=bound
        )
        own = await schema.execute("{ orders(first: 10) { nodes { upstreamId } } }", context_value=context)
        other = await schema.execute(
            '{ orders(first: 10, subaccountId: "s0") { nodes { upstreamId } } }', context_value=context
        )
    assert {n["upstreamId"] for n in own.data["orders"]["nodes"]} == {"o1", "o3", "o5"}
    assert upstream.requests[0].headers["x-subaccount-id"] == "s1"
    assert other.errors[0].extensions["code"] == "NOT_FOUND"  # like a missing subaccount: no existence leak
    assert len(upstream.requests) == 1  # the refused call never went upstream


async def test_delete_payload_reports_both_ids(run: Any, upstream: FakeUpstream) -> None:
    upstream.failures["/subaccounts/s0"] = (204, {})
    result = await run(
        'mutation { deleteSubaccount(input: {id: "s0"}) { deletedSubaccountId deletedSubaccountUpstreamId } }'
    )
    payload = result.data["deleteSubaccount"]
    assert payload == {
        "deletedSubaccountId": to_global_id("Subaccount", "s0"),
        "deletedSubaccountUpstreamId": "s0",
    }
