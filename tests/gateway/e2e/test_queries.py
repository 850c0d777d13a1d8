"""Every query of the schema, end to end: gateway and sandbox as real uvicorn servers over HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from gql import GraphQLRequest
from gql.client import SyncClientSession

from gateway.ids import to_global_id
from tests.gateway.e2e.conftest import GatewayServer, SandboxServer
from tests.gateway.e2e.schema_helpers import create_subaccount, fulfil, ok, place_order, sandbox_post

pytestmark = pytest.mark.e2e

SANDBOX_PORTFOLIO = "oH5hlq"
SANDBOX_PROJECT = "I0UbDH"
SANDBOX_CATEGORY = "hkgyn3"


def test_order_by_upstream_or_global_id_with_its_allocations(
    gateway: GatewayServer, sandbox: SandboxServer, gql_client: SyncClientSession
) -> None:
    placed = place_order(gateway, 20)
    fulfil(sandbox, placed["upstreamId"])
    query = (
        "query($id: ID!) { order(id: $id) { id upstreamId orderNumber createdOn state amountKg"
        " price { amount currencyCode }"
        " certificatePublicUrl projectAllocations { amountKg project { upstreamId name creditIssuances"
        " { vintageYear totalAmount } } retirements { serialNumberRange url } } } }"
    )
    by_upstream = gql_client.execute(GraphQLRequest(query, variable_values={"id": placed["upstreamId"]}))[
        "order"
    ]
    by_global = gql_client.execute(GraphQLRequest(query, variable_values={"id": placed["id"]}))["order"]
    assert by_upstream == by_global
    assert by_upstream["state"] == "FULFILLED"
    assert by_upstream["price"] == {"amount": "0.40", "currencyCode": "USD"}
    assert sum(a["amountKg"] for a in by_upstream["projectAllocations"]) == pytest.approx(20)
    assert all(a["project"]["creditIssuances"] for a in by_upstream["projectAllocations"])
    assert by_upstream["createdOn"].endswith(("Z", "+00:00"))


def test_orders_connection_and_subaccount_filter(gateway: GatewayServer) -> None:
    sub = create_subaccount(gateway, "Traveller")
    mine = place_order(gateway, 5, subaccount=sub["upstreamId"])
    place_order(gateway, 6)
    data = ok(
        gateway.gql(
            "query($s: ID) { all: orders(first: 10) { edges { cursor node { upstreamId } } }"
            " theirs: orders(first: 10, subaccountId: $s) { nodes { upstreamId subaccount { name } } } }",
            {"s": sub["id"]},
        )
    )
    assert len(data["all"]["edges"]) == 2
    assert data["theirs"]["nodes"] == [
        {"upstreamId": mine["upstreamId"], "subaccount": {"name": "Traveller"}}
    ]


def test_subaccount_navigation(gateway: GatewayServer, sandbox: SandboxServer) -> None:
    sub = create_subaccount(
        gateway, "Alice", email="alice@example.test", defaultPortfolioId=SANDBOX_PORTFOLIO
    )
    order = place_order(gateway, 30, subaccount=sub["upstreamId"])
    fulfil(sandbox, order["upstreamId"])
    data = ok(
        gateway.gql(
            "query($id: ID!) { subaccount(id: $id) { id name email createdOn logoUrl"
            " defaultPortfolio { upstreamId name } orders(first: 5) { nodes { upstreamId } }"
            " impact { totalOffsetKg equivalents { treesPlanted } categories { offsetKg } }"
            " hostedImpactPage { enabled url } } }",
            {"id": sub["upstreamId"]},
        )
    )["subaccount"]
    assert data["id"] == sub["id"] and data["email"] == "alice@example.test"
    assert data["defaultPortfolio"]["upstreamId"] == SANDBOX_PORTFOLIO
    assert data["orders"]["nodes"] == [{"upstreamId": order["upstreamId"]}]
    assert data["impact"]["totalOffsetKg"] == pytest.approx(30)
    assert data["hostedImpactPage"]["url"].startswith("https://")


def test_subaccounts_connection(gateway: GatewayServer) -> None:
    names = [create_subaccount(gateway, f"Sub {n}")["name"] for n in range(3)]
    data = ok(gateway.gql("{ subaccounts(first: 2) { nodes { name } pageInfo { hasNextPage endCursor } } }"))
    page = data["subaccounts"]
    assert [n["name"] for n in page["nodes"]] == names[::-1][:2]  # newest first
    assert page["pageInfo"]["hasNextPage"] is True
    rest = ok(
        gateway.gql(
            "query($after: String) { subaccounts(first: 2, after: $after) { nodes { name } } }",
            {"after": page["pageInfo"]["endCursor"]},
        )
    )
    assert [n["name"] for n in rest["subaccounts"]["nodes"]] == [names[0]]


def test_catalogue_queries(gateway: GatewayServer) -> None:
    data = ok(
        gateway.gql(
            "query($pf: ID!, $p: ID!, $c: ID!) {"
            " portfolios { upstreamId name }"
            " portfolio(id: $pf) { name apiPricePerKg { amount currencyCode } checkoutPricePerKg { amount }"
            "   categoryAllocations { allocatedFraction category { name projects { upstreamId } } } }"
            " project(id: $p) { name developer unSdgGoals lifetime { startYear endYear }"
            "   creditIssuances { vintageYear totalAmount } }"
            " projectCategory(id: $c) { name projects { upstreamId name } } }",
            {"pf": SANDBOX_PORTFOLIO, "p": SANDBOX_PROJECT, "c": SANDBOX_CATEGORY},
        )
    )
    assert [p["upstreamId"] for p in data["portfolios"]][:2] == ["oH5hlq", "ixmZSK"]
    assert data["portfolio"]["apiPricePerKg"] == {"amount": "0.02", "currencyCode": "USD"}
    assert sum(a["allocatedFraction"] for a in data["portfolio"]["categoryAllocations"]) == pytest.approx(1)
    assert data["project"]["name"] == "Sandbox Project A"
    assert {i["vintageYear"]: i["totalAmount"] for i in data["project"]["creditIssuances"]} == {
        2022: 5000,
        2023: 7500,
        2024: 10000,
    }
    assert data["projectCategory"]["projects"][0]["upstreamId"] == SANDBOX_PROJECT


def usd_cents(cents: int) -> dict[str, str]:
    return {"amount": f"{cents / 100:.2f}", "currencyCode": "USD"}


@pytest.mark.parametrize(
    ("member", "expected"),
    [
        ({"mass": {"amountKg": 10}}, (10, 20)),
        ({"flight": {"distanceKm": 100}}, (10, 20)),
        ({"train": {"distanceKm": 1000}}, (38, 76)),
        ({"airFreight": {"freightMassKg": 10, "distanceKm": 100}}, (2, 4)),
        ({"groundFreight": {"freightMassKg": 100, "distanceKm": 1000}}, (14, 28)),
        ({"groundTransport": {"distanceKm": 1000, "vehicleType": "SCHOOL_BUS"}}, (745, 1490)),
        ({"officeSpace": {"squareFootage": 1000}}, (8600, 17200)),
        ({"ride": {"distanceKm": 30}}, (8, 16)),
    ],
)
def test_quote_every_kind(gateway: GatewayServer, member: dict[str, Any], expected: tuple[int, int]) -> None:
    data = ok(
        gateway.gql(
            "query($input: QuoteInput!, $pf: ID) { quote(input: $input, portfolioId: $pf, source: API)"
            " { amountKg price { amount currencyCode } portfolio { upstreamId } } }",
            {"input": member, "pf": SANDBOX_PORTFOLIO},
        )
    )
    quote = data["quote"]
    assert (quote["amountKg"], quote["price"]) == (expected[0], usd_cents(expected[1]))
    assert quote["portfolio"] == {"upstreamId": SANDBOX_PORTFOLIO}


def test_quote_input_is_one_of(gateway: GatewayServer) -> None:
    result = gateway.gql("{ quote(input: {mass: {amountKg: 1}, flight: {distanceKm: 1}}) { amountKg } }")
    assert result.data is None  # a validation error: nothing executed
    assert "exactly one" in result.errors[0]["message"].lower()


def test_invalid_quote_input_points_at_the_member_field(gateway: GatewayServer) -> None:
    result = gateway.gql("{ quote(input: {flight: {distanceKm: -5}}) { amountKg } }")
    assert result.codes == ["BAD_USER_INPUT"]
    fields = result.errors[0]["extensions"]["fields"]
    assert [f["field"] for f in fields] == [["input", "flight", "distanceKm"]]


def test_quote_portfolio_defaults_to_the_subaccounts(gateway: GatewayServer) -> None:
    sub = create_subaccount(gateway, "Bob", defaultPortfolioId="ixmZSK")
    data = ok(
        gateway.gql(
            "query($s: ID) { quote(input: {mass: {amountKg: 5}}, subaccountId: $s)"
            " { portfolio { upstreamId } } }",
            {"s": sub["id"]},
        )
    )
    assert data["quote"]["portfolio"] == {"upstreamId": "ixmZSK"}


def test_impact_and_hosted_page(gateway: GatewayServer, sandbox: SandboxServer) -> None:
    fulfil(sandbox, place_order(gateway, 12)["upstreamId"])
    data = ok(
        gateway.gql(
            "{ all: impact { totalOffsetKg sinceDate toDate categories { category { name } offsetKg"
            " projects { project { name } offsetKg vintages } } }"
            ' none: impact(from: "2001-01-01T00:00:00Z", to: "2001-02-01T00:00:00Z") { totalOffsetKg toDate }'
            " hostedImpactPage { enabled url enabledEquivalents } }"
        )
    )
    assert data["all"]["totalOffsetKg"] == pytest.approx(12)
    assert data["all"]["categories"][0]["projects"]
    assert data["none"]["totalOffsetKg"] == 0
    assert data["none"]["toDate"].startswith("2001-02-01")
    assert data["hostedImpactPage"]["enabledEquivalents"] == ["CARS", "HOMES", "FLIGHTS", "TREES"]


def test_checkout_session_and_the_order_it_creates(gateway: GatewayServer, sandbox: SandboxServer) -> None:
    created = ok(
        gateway.gql(
            'mutation { createCheckoutSession(input: {amountKg: 50, successUrl: "https://shop.test/ok",'
            ' cancelUrl: "https://shop.test/cancel", description: "Trip"}) { checkoutSession { id upstreamId'
            " state checkoutUrl price { amount } } userErrors { code } } }"
        )
    )["createCheckoutSession"]
    session = created["checkoutSession"]
    assert created["userErrors"] == [] and session["state"] == "OPEN"
    sandbox_post(sandbox, f"/_sandbox/checkout/sessions/{session['upstreamId']}/complete")
    data = ok(
        gateway.gql(
            "query($id: ID!) { checkoutSession(id: $id) { state completedOn amountKg portfolio { name } } }",
            {"id": session["id"]},
        )
    )
    assert data["checkoutSession"]["state"] == "COMPLETE"
    orders = ok(gateway.gql("{ orders(first: 1) { nodes { description checkoutSession { upstreamId } } } }"))
    assert orders["orders"]["nodes"] == [
        {"description": "Trip", "checkoutSession": {"upstreamId": session["upstreamId"]}}
    ]


def test_node_and_nodes_over_every_node_type(gateway: GatewayServer) -> None:
    order = place_order(gateway, 1)
    sub = create_subaccount(gateway, "Node")
    ids = [
        order["id"],
        sub["id"],
        to_global_id("Portfolio", SANDBOX_PORTFOLIO),
        to_global_id("Project", SANDBOX_PROJECT),
        to_global_id("ProjectCategory", SANDBOX_CATEGORY),
    ]
    data = ok(gateway.gql("query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }", {"ids": ids}))
    assert [n["__typename"] for n in data["nodes"]] == [
        "Order",
        "Subaccount",
        "Portfolio",
        "Project",
        "ProjectCategory",
    ]
    assert [n["id"] for n in data["nodes"]] == ids
    single = ok(
        gateway.gql("query($id: ID!) { node(id: $id) { ... on Order { amountKg } } }", {"id": order["id"]})
    )
    assert single["node"] == {"amountKg": 1}
