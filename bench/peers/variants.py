"""What each peer is asked, and how its answer is reduced to comparable data.

Two workloads: `order` (one order by id, 8 scalar fields) and `dashboard` (the newest 50 orders, each with
its subaccount's name and, per project allocation, the project's credit-issuance vintages). Every variant
reduces its answers to the same plain values, so run.py can check they agree before timing anything.

- ``rest``: direct REST calls, the floor. The dashboard is the hand-deduplicated client: the list, then
  every distinct subaccount and project at once (1 + 5 + 4 requests).
- ``hive``: Hive Gateway over the Mesh-composed OpenAPI supergraph. Its schema has no links between an
  order and its subaccount or projects, so the dashboard is what a client of it writes: the list query,
  then one query with an aliased field per distinct subaccount and project (2 round trips, 10 upstream
  calls). Both queries' CPU counts as one dashboard.
- ``apollo``: the hand-written Apollo Server (`order` only).
- ``gateway`` (and ``baseline``, another checkout): offsets-gateway, one GraphQL query each.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx
import orjson
from load import Iteration, get_request, post_request

AUTHORIZATION = {"Authorization": "Bearer bench-key"}

GATEWAY_ORDER = (
    "query Order($id: ID!) { order(id: $id) { upstreamId orderNumber createdOn amountKg price { amount }"
    " state subaccountUpstreamId certificatePublicUrl } }"
)
GATEWAY_DASHBOARD = (
    "query Dashboard($first: Int!) { orders(first: $first) { edges { node { subaccount { name }"
    " projectAllocations { project { creditIssuances { vintageYear } } } } } } }"
)
HIVE_ORDER = (
    "query Order($id: String!) { GetOrderById(id: $id) { ... on Order { id order_number created_on"
    " amount_kg price_usd_cents state subaccount_id certificate_public_url } } }"
)
HIVE_ORDER_LIST = (
    "query Orders($limit: PositiveInt!) { GetListOfOrder(limit: $limit) { ... on OrderList { data {"
    " subaccount_id project_allocations { project { id } } } } } }"
)
APOLLO_ORDER = (
    "query Order($id: ID!) { order(id: $id) { id orderNumber createdOn amountKg priceUsdCents state"
    " subaccountId certificatePublicUrl } }"
)

ISSUANCES = "credit_issuances { vintage_year }"
OrderData = tuple[str, str, datetime, float, int, str, str, str]
Dashboard = list[tuple[str, list[list[int]]]]


def order_data(values: list[Any]) -> OrderData:
    """One order's 8 fields, any spelling (id, number, created, kg, cents, state, subaccount, URL)."""
    ident, number, created, kg, cents, state, subaccount, certificate = values
    when = datetime.fromisoformat(str(created).replace("Z", "+00:00"))
    when = when.replace(microsecond=when.microsecond // 1000 * 1000)  # Mesh's DateTime keeps milliseconds
    return (ident, number, when, float(kg), int(cents), str(state).lower(), subaccount, certificate)


@dataclass
class Variant:
    """One server (or none, for REST) and how to ask it each workload."""

    name: str
    url: str
    pids: list[int]  # the server's process tree; empty for direct REST
    order: Iteration | None = None
    dashboard: Iteration | None = None

    @property
    def host(self) -> str:
        return self.url.removeprefix("http://")


def _graphql(url: str, path: str, query: str, variables: dict[str, Any]) -> bytes:
    body = orjson.dumps({"query": query, "variables": variables})
    return post_request(url.removeprefix("http://"), path, AUTHORIZATION, body)


def _post(http: httpx.Client, url: str, query: str, variables: dict[str, Any]) -> Any:
    response = http.post(url, json={"query": query, "variables": variables}, headers=AUTHORIZATION)
    body = response.json()
    if response.status_code != 200 or body.get("errors"):
        raise SystemExit(f"{url} answered {response.status_code}: {str(body)[:500]}")
    return body["data"]


# --- direct REST ---------------------------------------------------------------------------------------


def _rest_paths(orders: list[dict[str, Any]]) -> list[str]:
    paths = {f"/v1/subaccounts/{o['subaccount_id']}" for o in orders}
    paths |= {f"/v1/projects/{a['project']['id']}" for o in orders for a in o["project_allocations"]}
    return sorted(paths)


def rest(url: str, order_id: str, first: int) -> tuple[Variant, Callable[[httpx.Client], Any]]:
    host = url.removeprefix("http://")
    with httpx.Client(base_url=url, headers=AUTHORIZATION) as http:
        orders = http.get("/v1/orders", params={"limit": first}).json()["data"]
    paths = _rest_paths(orders)
    dashboard = [
        [get_request(host, f"/v1/orders?limit={first}", AUTHORIZATION)],
        [get_request(host, path, AUTHORIZATION) for path in paths],
    ]
    variant = Variant(
        "rest", url, [], [[get_request(host, f"/v1/orders/{order_id}", AUTHORIZATION)]], dashboard
    )

    def check(http: httpx.Client) -> Any:
        order = http.get(f"{url}/v1/orders/{order_id}", headers=AUTHORIZATION).json()
        fields = ["id", "order_number", "created_on", "amount_kg", "price_usd_cents", "state"]
        fields += ["subaccount_id", "certificate_public_url"]
        listed = http.get(f"{url}/v1/orders", params={"limit": first}, headers=AUTHORIZATION).json()["data"]
        fetched = {p: http.get(url + p, headers=AUTHORIZATION).json() for p in _rest_paths(listed)}
        headline = [
            (
                fetched[f"/v1/subaccounts/{o['subaccount_id']}"]["name"],
                [
                    [
                        i["vintage_year"]
                        for i in fetched[f"/v1/projects/{a['project']['id']}"]["credit_issuances"]
                    ]
                    for a in o["project_allocations"]
                ],
            )
            for o in listed
        ]
        return order_data([order[f] for f in fields]), headline

    return variant, check


# --- Hive Gateway --------------------------------------------------------------------------------------


def _hive_lookup_query(listed: list[dict[str, Any]]) -> tuple[str, dict[str, str], dict[str, str]]:
    """The second dashboard query: one aliased lookup per distinct subaccount and project."""
    subaccounts = sorted({o["subaccount_id"] for o in listed})
    projects = sorted({a["project"]["id"] for o in listed for a in o["project_allocations"]})
    s_alias = {s: f"s{n}" for n, s in enumerate(subaccounts)}
    p_alias = {p: f"p{n}" for n, p in enumerate(projects)}
    fields = [
        f'{a}: GetSubaccountById(id: "{s}") {{ ... on Subaccount {{ name }} }}' for s, a in s_alias.items()
    ]
    fields += [
        f'{a}: GetProjectById(id: "{p}") {{ ... on ProjectDetails {{ {ISSUANCES} }} }}'
        for p, a in p_alias.items()
    ]
    return "query Lookups { " + " ".join(fields) + " }", s_alias, p_alias


def hive(url: str, order_id: str, first: int) -> tuple[Variant, Callable[[httpx.Client], Any]]:
    endpoint = f"{url}/graphql"
    with httpx.Client(timeout=30) as http:
        listed = _post(http, endpoint, HIVE_ORDER_LIST, {"limit": first})["GetListOfOrder"]["data"]
    lookups, s_alias, p_alias = _hive_lookup_query(listed)
    dashboard = [
        [_graphql(url, "/graphql", HIVE_ORDER_LIST, {"limit": first})],
        [_graphql(url, "/graphql", lookups, {})],
    ]
    order = [[_graphql(url, "/graphql", HIVE_ORDER, {"id": order_id})]]

    def check(http: httpx.Client) -> Any:
        o = _post(http, endpoint, HIVE_ORDER, {"id": order_id})["GetOrderById"]
        fields = ["id", "order_number", "created_on", "amount_kg", "price_usd_cents", "state"]
        fields += ["subaccount_id", "certificate_public_url"]
        listed = _post(http, endpoint, HIVE_ORDER_LIST, {"limit": first})["GetListOfOrder"]["data"]
        if _hive_lookup_query(listed)[0] != lookups:
            raise SystemExit("hive: the dashboard's second query changed between runs")
        found = _post(http, endpoint, lookups, {})
        headline = [
            (
                found[s_alias[x["subaccount_id"]]]["name"],
                [
                    [i["vintage_year"] for i in found[p_alias[a["project"]["id"]]]["credit_issuances"]]
                    for a in x["project_allocations"]
                ],
            )
            for x in listed
        ]
        return order_data([o[f] for f in fields]), headline

    return Variant("hive", url, [], order, dashboard), check


# --- Apollo Server -------------------------------------------------------------------------------------


def apollo(url: str, order_id: str, first: int) -> tuple[Variant, Callable[[httpx.Client], Any]]:
    order = [[_graphql(url, "/", APOLLO_ORDER, {"id": order_id})]]

    def check(http: httpx.Client) -> Any:
        o = _post(http, f"{url}/", APOLLO_ORDER, {"id": order_id})["order"]
        fields = ["id", "orderNumber", "createdOn", "amountKg", "priceUsdCents", "state"]
        fields += ["subaccountId", "certificatePublicUrl"]
        return order_data([o[f] for f in fields]), None

    return Variant("apollo", url, [], order, None), check


# --- offsets-gateway -----------------------------------------------------------------------------------


def gateway(name: str, url: str, order_id: str, first: int) -> tuple[Variant, Callable[[httpx.Client], Any]]:
    order = [[_graphql(url, "/graphql", GATEWAY_ORDER, {"id": order_id})]]
    dashboard = [[_graphql(url, "/graphql", GATEWAY_DASHBOARD, {"first": first})]]

    def check(http: httpx.Client) -> Any:
        o = _post(http, f"{url}/graphql", GATEWAY_ORDER, {"id": order_id})["order"]
        o["priceUsdCents"] = int(Decimal(o["price"]["amount"]) * 100)  # Money in US dollars
        fields = ["upstreamId", "orderNumber", "createdOn", "amountKg", "priceUsdCents", "state"]
        fields += ["subaccountUpstreamId", "certificatePublicUrl"]
        edges = _post(http, f"{url}/graphql", GATEWAY_DASHBOARD, {"first": first})["orders"]["edges"]
        headline = [
            (
                e["node"]["subaccount"]["name"],
                [
                    [i["vintageYear"] for i in a["project"]["creditIssuances"]]
                    for a in e["node"]["projectAllocations"]
                ],
            )
            for e in edges
        ]
        return order_data([o[f] for f in fields]), headline

    return Variant(name, url, [], order, dashboard), check
