"""OffsetsClient: every endpoint method sends the documented request and parses the documented response."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from gateway.backend import (
    BackendDecodeError,
    CallOptions,
    NotFoundError,
    OffsetsClient,
    RequestEvent,
    RetryPolicy,
    UnauthorizedError,
)
from gateway.backend import models as m

BASE = "https://api.example.test/v1"
KEY = "sk_live_configured"

PROJECT = {
    "id": "I0UbDH",
    "name": "Sandbox Project A",
    "type": "Reforestation",
    "un_sdg_goals": [1, 4, 6],
    "lifetime": {"start_year": 2022, "end_year": 2052},
    "location_latitude": 47.6062,
    "a_field_added_later": {"ignored": True},
}
ORDER = {
    "id": "Gre28Fc35bt3",
    "order_number": "47726-53238-46633-33562-7433",
    "created_on": "2022-08-01T18:00:00.000000Z",
    "metadata": "m",
    "description": None,
    "amount_kg": 10,
    "state": "fulfilled",
    "price_usd_cents": 20,
    "callback_url": "https://hooks.example.test/o",
    "certificate_public_url": "https://registry.cnaught.com/orders/Gre28Fc35bt3",
    "certificate_download_public_url": None,
    "subaccount_id": "5nubL0NS",
    "project_allocations": [
        {"project": PROJECT, "amount_kg": 10, "retirements": [{"serial_number_range": "1-10", "url": None}]}
    ],
    "checkout_session_id": None,
}
SUBACCOUNT = {
    "id": "5nubL0NS",
    "created_on": "2024-01-01T00:00:00.000000Z",
    "name": "Alice",
    "email": None,
    "default_portfolio_id": "oH5hlq",
    "logo_url": None,
}
CATEGORY = {"id": "hkgyn3", "name": "Category A", "description": None, "projects": [PROJECT]}
PORTFOLIO = {"id": "oH5hlq", "name": "Sandbox", "summary": "s", "description": "d", "primary_image_url": None}
PORTFOLIO_DETAILS = {
    **PORTFOLIO,
    "api_price_per_kg_usd_cents": 2,
    "checkout_price_per_kg_usd_cents": 1.6,
    "category_allocations": [{"allocated_fraction": 0.25, "category": CATEGORY}],
}
QUOTE = {"amount_kg": 745, "price_usd_cents": 1490}
IMPACT = {
    "name": "CNaught",
    "logo_url": None,
    "total_offset_kgs": 1571,
    "equivalents": {
        "cars_off_the_road": 0.3,
        "trees_planted": 26,
        "homes_annual_energy_usage": 0.2,
        "flights_lax_to_nyc": 1.7,
    },
    "since_date": "2023-09-26T00:18:51.764508Z",
    "to_date": None,
    "categories": [
        {
            "category": {"name": "Emissions reductions", "description": "d"},
            "offset_kgs": 1571,
            "projects": [{"project": PROJECT, "offset_kgs": 1571, "vintages": "2012"}],
        }
    ],
}
HOSTED = {"enabled": True, "url": "https://impact.cnaught.com/x", "enabled_equivalents": ["cars", "trees"]}
CHECKOUT = {
    "id": "zpQ6QSNRQh",
    "amount_kg": 100,
    "price_usd_cents": 200,
    "success_url": "https://shop.example.test/ok?s={CHECKOUT_SESSION_ID}",
    "cancel_url": "https://shop.example.test/cancel",
    "checkout_url": "https://checkout.cnaught.com/pay/zpQ6QSNRQh",
    "state": "open",
    "created_on": "2024-05-01T00:00:00.000000Z",
    "expires_on": "2024-05-02T00:00:00.000000Z",
    "completed_on": None,
    "portfolio_id": "oH5hlq",
}


@dataclass
class Upstream:
    """A MockTransport handler that records requests and answers with one canned response."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.body is None:
            return httpx.Response(self.status, headers=self.headers)
        return httpx.Response(self.status, json=self.body, headers=self.headers)

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]


@pytest.fixture
def upstream() -> Upstream:
    return Upstream()


@pytest.fixture
async def client(upstream: Upstream) -> AsyncIterator[OffsetsClient]:
    async with httpx.AsyncClient(transport=httpx.MockTransport(upstream)) as http:
        yield OffsetsClient(http, base_url=BASE, api_key=KEY, retry=RetryPolicy(max_attempts=1))


OPTS = CallOptions(subaccount_id="5nubL0NS", idempotency_key="key-1")
Invoke = Callable[[OffsetsClient], Awaitable[Any]]


@dataclass(frozen=True)
class Case:
    invoke: Invoke
    method: str
    path: str
    response: Any
    status: int = 200
    query: dict[str, str] = field(default_factory=dict)
    body: Any = None  # expected JSON body (None: no body)
    scoped: bool = False  # sends X-Subaccount-Id
    keyed: bool = False  # sends Idempotency-Key
    expect: type[Any] | None = None


CASES: dict[str, Case] = {
    "list_orders": Case(
        lambda c: c.list_orders(limit=5, starting_after="abc", opts=OPTS),
        "GET",
        "/v1/orders",
        {"data": [ORDER]},
        query={"limit": "5", "starting_after": "abc"},
        scoped=True,
    ),
    "list_orders_before": Case(
        lambda c: c.list_orders(ending_before="xyz", opts=OPTS),
        "GET",
        "/v1/orders",
        {"data": []},
        query={"limit": "20", "ending_before": "xyz"},
        scoped=True,
    ),
    "get_order": Case(
        lambda c: c.get_order("Gre28Fc35bt3", opts=OPTS), "GET", "/v1/orders/Gre28Fc35bt3", ORDER, scoped=True
    ),
    "create_order_kg": Case(
        lambda c: c.create_order(
            m.CreateOrderParams(amount_kg=10, description="d", notification_url="https://h.test/x"), opts=OPTS
        ),
        "POST",
        "/v1/orders",
        ORDER,
        status=201,
        body={"amount_kg": 10, "description": "d", "notification_config": {"url": "https://h.test/x"}},
        scoped=True,
        keyed=True,
    ),
    "create_order_price": Case(
        lambda c: c.create_order(
            m.CreateOrderParams(total_price_usd_cents=3190, metadata="x", portfolio_id="oH5hlq"), opts=OPTS
        ),
        "POST",
        "/v1/orders",
        ORDER,
        status=201,
        body={"total_price_usd_cents": 3190, "metadata": "x", "portfolio_id": "oH5hlq"},
        scoped=True,
        keyed=True,
    ),
    "create_ride_order": Case(
        lambda c: c.create_ride_order(m.CreateRideOrderParams(distance_km=30.5), opts=OPTS),
        "POST",
        "/v1/orders/ride",
        ORDER,
        status=201,
        body={"distance_km": 30.5},
        scoped=True,
        keyed=True,
    ),
    "cancel_order": Case(
        lambda c: c.cancel_order("Gre28Fc35bt3", opts=OPTS),
        "POST",
        "/v1/orders/Gre28Fc35bt3/cancel",
        {**ORDER, "state": "cancelled"},
        scoped=True,
        keyed=True,
    ),
    "quote_mass": Case(
        lambda c: c.quote_mass(m.MassQuoteParams(amount_kg=10, source=m.QuoteSource.CHECKOUT), opts=OPTS),
        "POST",
        "/v1/quotes",
        QUOTE,
        body={"amount_kg": 10, "source": "checkout"},
        scoped=True,
    ),
    "quote_flight": Case(
        lambda c: c.quote_flight(m.FlightQuoteParams(distance_km=100, portfolio_id="p1"), opts=OPTS),
        "POST",
        "/v1/quotes/flight",
        QUOTE,
        body={"distance_km": 100, "portfolio_id": "p1"},
        scoped=True,
    ),
    "quote_train": Case(
        lambda c: c.quote_train(m.TrainQuoteParams(distance_km=1000), opts=OPTS),
        "POST",
        "/v1/quotes/train",
        QUOTE,
        body={"distance_km": 1000},
        scoped=True,
    ),
    "quote_air_freight": Case(
        lambda c: c.quote_air_freight(
            m.AirFreightQuoteParams(freight_mass_kg=10, distance_km=100), opts=OPTS
        ),
        "POST",
        "/v1/quotes/air-freight",
        QUOTE,
        body={"freight_mass_kg": 10, "distance_km": 100},
        scoped=True,
    ),
    "quote_ground_freight": Case(
        lambda c: c.quote_ground_freight(
            m.GroundFreightQuoteParams(freight_mass_kg=100, distance_km=1000), opts=OPTS
        ),
        "POST",
        "/v1/quotes/ground-freight",
        QUOTE,
        body={"freight_mass_kg": 100, "distance_km": 1000},
        scoped=True,
    ),
    "quote_ground_transport": Case(
        lambda c: c.quote_ground_transport(
            m.GroundTransportQuoteParams(distance_km=1000, vehicle_type=m.VehicleType.SCHOOL_BUS), opts=OPTS
        ),
        "POST",
        "/v1/quotes/ground-transport",
        QUOTE,
        body={"distance_km": 1000, "vehicle_type": "school_bus"},
        scoped=True,
    ),
    "quote_office_space": Case(
        lambda c: c.quote_office_space(m.OfficeSpaceQuoteParams(square_footage=1000), opts=OPTS),
        "POST",
        "/v1/quotes/office-space",
        QUOTE,
        body={"square_footage": 1000},
        scoped=True,
    ),
    "quote_ride": Case(
        lambda c: c.quote_ride(m.RideQuoteParams(distance_km=30), opts=OPTS),
        "POST",
        "/v1/quotes/ride",
        QUOTE,
        body={"distance_km": 30},
        scoped=True,
    ),
    "get_impact_data": Case(
        lambda c: c.get_impact_data(
            from_=datetime(2024, 1, 1, tzinfo=UTC),
            to=datetime(2024, 2, 1, 1, tzinfo=timezone(timedelta(hours=1))),
            opts=OPTS,
        ),
        "GET",
        "/v1/impact/data",
        IMPACT,
        query={"from": "2024-01-01T00:00:00.000000Z", "to": "2024-02-01T00:00:00.000000Z"},
        scoped=True,
    ),
    "get_hosted_page_config": Case(
        lambda c: c.get_hosted_page_config(opts=OPTS),
        "GET",
        "/v1/impact/hosted-page-config",
        HOSTED,
        scoped=True,
    ),
    "list_subaccounts": Case(
        lambda c: c.list_subaccounts(limit=100, opts=OPTS),
        "GET",
        "/v1/subaccounts",
        {"data": [SUBACCOUNT]},
        query={"limit": "100"},
    ),
    "get_subaccount": Case(
        lambda c: c.get_subaccount("5nubL0NS", opts=OPTS), "GET", "/v1/subaccounts/5nubL0NS", SUBACCOUNT
    ),
    "create_subaccount": Case(
        lambda c: c.create_subaccount(
            m.CreateSubaccountParams(name="Alice", email="a@example.test"), opts=OPTS
        ),
        "POST",
        "/v1/subaccounts",
        SUBACCOUNT,
        status=201,
        body={"name": "Alice", "email": "a@example.test"},
        keyed=True,
    ),
    "update_subaccount": Case(
        lambda c: c.update_subaccount("5nubL0NS", m.UpdateSubaccountParams(name="Bob"), opts=OPTS),
        "PUT",
        "/v1/subaccounts/5nubL0NS",
        SUBACCOUNT,
        # Full replacement: the omitted fields are sent as null so the upstream clears them.
        body={"name": "Bob", "email": None, "default_portfolio_id": None},
    ),
    "delete_subaccount": Case(
        lambda c: c.delete_subaccount("5nubL0NS", opts=OPTS), "DELETE", "/v1/subaccounts/5nubL0NS", None, 204
    ),
    "set_subaccount_logo_url": Case(
        lambda c: c.set_subaccount_logo_url("5nubL0NS", "https://img.example.test/a.png", opts=OPTS),
        "POST",
        "/v1/subaccounts/5nubL0NS/logo",
        SUBACCOUNT,
        body={"logo_url": "https://img.example.test/a.png"},
    ),
    "remove_subaccount_logo": Case(
        lambda c: c.remove_subaccount_logo("5nubL0NS", opts=OPTS),
        "DELETE",
        "/v1/subaccounts/5nubL0NS/logo",
        SUBACCOUNT,
    ),
    "list_portfolios": Case(
        lambda c: c.list_portfolios(opts=OPTS), "GET", "/v1/portfolios", {"data": [PORTFOLIO, PORTFOLIO]}
    ),
    "get_portfolio": Case(
        lambda c: c.get_portfolio("oH5hlq", opts=OPTS), "GET", "/v1/portfolios/oH5hlq", PORTFOLIO_DETAILS
    ),
    "get_project": Case(
        lambda c: c.get_project("I0UbDH", opts=OPTS),
        "GET",
        "/v1/projects/I0UbDH",
        {**PROJECT, "credit_issuances": [{"vintage_year": 2022, "total_amount": 5000}]},
    ),
    "get_project_category": Case(
        lambda c: c.get_project_category("hkgyn3", opts=OPTS),
        "GET",
        "/v1/project-categories/hkgyn3",
        CATEGORY,
    ),
    "create_checkout_session": Case(
        lambda c: c.create_checkout_session(
            m.CreateCheckoutSessionParams(
                amount_kg=100,
                success_url="https://shop.example.test/ok",
                cancel_url="https://shop.example.test/cancel",
                notification_url="https://h.test/x",
            ),
            opts=OPTS,
        ),
        "POST",
        "/v1/checkout/sessions",
        CHECKOUT,
        status=201,
        body={
            "amount_kg": 100,
            "success_url": "https://shop.example.test/ok",
            "cancel_url": "https://shop.example.test/cancel",
            "notification_config": {"url": "https://h.test/x"},
        },
        scoped=True,
    ),
    "get_checkout_session": Case(
        lambda c: c.get_checkout_session("zpQ6QSNRQh", opts=OPTS),
        "GET",
        "/v1/checkout/sessions/zpQ6QSNRQh",
        CHECKOUT,
    ),
}


@pytest.mark.parametrize("name", CASES)
async def test_each_method_sends_the_documented_request(
    name: str, client: OffsetsClient, upstream: Upstream
) -> None:
    case = CASES[name]
    upstream.status, upstream.body = case.status, case.response

    await case.invoke(client)

    request = upstream.last
    assert len(upstream.requests) == 1
    assert (request.method, request.url.host, request.url.path) == (
        case.method,
        "api.example.test",
        case.path,
    )
    assert dict(request.url.params) == case.query
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.headers["user-agent"].startswith("offsets-gateway/")
    assert request.headers.get("x-subaccount-id") == ("5nubL0NS" if case.scoped else None)
    assert request.headers.get("idempotency-key") == ("key-1" if case.keyed else None)
    if case.body is None:
        assert request.content == b""
    else:
        assert request.headers["content-type"] == "application/json"
        assert json.loads(request.content) == case.body


async def test_upload_logo_sends_raw_bytes_with_their_type(client: OffsetsClient, upstream: Upstream) -> None:
    upstream.body = {**SUBACCOUNT, "logo_url": "https://customer-assets.cnaught.com/l.png?v=1"}

    sub = await client.upload_subaccount_logo("5nubL0NS", b"\x89PNG...", "image/png", opts=OPTS)

    assert (upstream.last.method, upstream.last.url.path) == ("PUT", "/v1/subaccounts/5nubL0NS/logo")
    assert upstream.last.headers["content-type"] == "image/png"
    assert upstream.last.content == b"\x89PNG..."
    assert "x-subaccount-id" not in upstream.last.headers
    assert sub.logo_url == "https://customer-assets.cnaught.com/l.png?v=1"


async def test_responses_are_parsed_into_models(client: OffsetsClient, upstream: Upstream) -> None:
    upstream.body = ORDER
    order = await client.get_order("Gre28Fc35bt3")
    assert order.state is m.OrderState.FULFILLED
    assert order.created_on == datetime(2022, 8, 1, 18, tzinfo=UTC)
    assert order.project_allocations[0].project.lifetime == m.ProjectLifetime(start_year=2022, end_year=2052)
    assert order.project_allocations[0].retirements[0].serial_number_range == "1-10"

    upstream.body = PORTFOLIO_DETAILS
    portfolio = await client.get_portfolio("oH5hlq")
    assert portfolio.checkout_price_per_kg_usd_cents == 1.6
    assert portfolio.category_allocations[0].category.projects[0].id == "I0UbDH"

    upstream.body = IMPACT
    impact = await client.get_impact_data()
    assert impact.categories[0].projects[0].vintages == "2012"
    assert impact.equivalents.homes_annual_energy_usage == 0.2
    assert dict(upstream.last.url.params) == {}


async def test_list_methods_unwrap_the_data_envelope(client: OffsetsClient, upstream: Upstream) -> None:
    upstream.body = {"data": [SUBACCOUNT, {**SUBACCOUNT, "id": "other123"}]}
    subs = await client.list_subaccounts()
    assert [s.id for s in subs] == ["5nubL0NS", "other123"]


async def test_mutations_return_the_replay_flag(client: OffsetsClient, upstream: Upstream) -> None:
    upstream.status, upstream.body = 201, ORDER
    upstream.headers = {"X-Idempotent-Replay": "true"}
    replay = await client.create_order(m.CreateOrderParams(amount_kg=10), opts=OPTS)
    assert replay.replayed is True and replay.data.id == ORDER["id"]

    upstream.headers = {}
    fresh = await client.cancel_order("Gre28Fc35bt3", opts=OPTS)
    assert fresh.replayed is False


async def test_unkeyed_mutation_gets_a_fresh_key_per_call(client: OffsetsClient, upstream: Upstream) -> None:
    upstream.status, upstream.body = 201, SUBACCOUNT
    await client.create_subaccount(m.CreateSubaccountParams(name="A"))
    await client.create_subaccount(m.CreateSubaccountParams(name="A"))

    keys = [r.headers["idempotency-key"] for r in upstream.requests]
    assert len(set(keys)) == 2 and all(len(k) == 36 for k in keys)


async def test_pass_through_key_overrides_the_configured_one(
    client: OffsetsClient, upstream: Upstream
) -> None:
    upstream.body = {"data": []}
    await client.list_portfolios(opts=CallOptions(api_key="sk_caller"))
    assert upstream.last.headers["authorization"] == "Bearer sk_caller"


async def test_without_any_key_nothing_is_sent(upstream: Upstream) -> None:
    async with httpx.AsyncClient(transport=httpx.MockTransport(upstream)) as http:
        client = OffsetsClient(http, base_url=BASE, api_key=None)
        with pytest.raises(UnauthorizedError):
            await client.list_portfolios()
        upstream.body = {"data": []}
        assert await client.list_portfolios(opts=CallOptions(api_key="sk_caller")) == []
    assert len(upstream.requests) == 1


@pytest.mark.parametrize("bad_id", ["a/b", "../subaccounts", "x?y=1", "a#b", "%2e%2e"])
async def test_ids_cannot_escape_their_path_segment(
    bad_id: str, client: OffsetsClient, upstream: Upstream
) -> None:
    upstream.body = ORDER
    await client.get_order(bad_id)
    assert upstream.last.url.raw_path.count(b"/") == 3  # /v1/orders/<one segment>
    assert upstream.last.url.params == httpx.QueryParams()


@pytest.mark.parametrize("bad_id", ["", ".", ".."])
async def test_ids_that_name_no_resource_are_not_found_locally(
    bad_id: str, client: OffsetsClient, upstream: Upstream
) -> None:
    with pytest.raises(NotFoundError):
        await client.get_subaccount(bad_id)
    assert upstream.requests == []


async def test_base_url_trailing_slash_and_userinfo_are_normalised(upstream: Upstream) -> None:
    upstream.body = {"data": []}
    async with httpx.AsyncClient(transport=httpx.MockTransport(upstream)) as http:
        client = OffsetsClient(http, base_url="https://user:hunter2@api.example.test/v1/", api_key=KEY)
        await client.list_portfolios()
        assert "hunter2" not in repr(client)
    assert str(upstream.last.url) == "https://api.example.test/v1/portfolios"
    assert upstream.last.headers["authorization"] == f"Bearer {KEY}"


async def test_a_body_off_the_contract_is_a_decode_error(client: OffsetsClient, upstream: Upstream) -> None:
    upstream.body = {"id": "x", "state": "exploded"}
    with pytest.raises(BackendDecodeError) as info:
        await client.get_order("x")
    assert "state" in str(info.value) and "exploded" not in str(info.value)


async def test_a_non_json_success_is_a_decode_error(upstream: Upstream) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html>proxy</html>")

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        client = OffsetsClient(http, base_url=BASE, api_key=KEY)
        with pytest.raises(BackendDecodeError):
            await client.get_order("x")


async def test_per_call_timeout_reaches_the_transport(client: OffsetsClient, upstream: Upstream) -> None:
    upstream.body = ORDER
    await client.get_order("x", opts=CallOptions(timeout=1.5))
    assert upstream.last.extensions["timeout"] == {"connect": 1.5, "read": 1.5, "write": 1.5, "pool": 1.5}


async def test_on_request_hook_sees_route_templates_not_ids(upstream: Upstream) -> None:
    events: list[RequestEvent] = []
    upstream.body = ORDER
    async with httpx.AsyncClient(transport=httpx.MockTransport(upstream)) as http:
        client = OffsetsClient(http, base_url=BASE, api_key=KEY, on_request=events.append)
        await client.get_order("Gre28Fc35bt3")
    assert [(e.method, e.route, e.status, e.attempt) for e in events] == [("GET", "/orders/{id}", 200, 1)]


def test_call_options_repr_hides_the_api_key() -> None:
    assert "sk_caller" not in repr(CallOptions(api_key="sk_caller", subaccount_id="s"))


class TestPing:
    async def test_ok_on_2xx(self, client: OffsetsClient, upstream: Upstream) -> None:
        upstream.body = {"data": []}
        await client.ping()
        assert upstream.last.url.path == "/v1/portfolios"

    async def test_raises_on_5xx(self, client: OffsetsClient, upstream: Upstream) -> None:
        upstream.status = 503
        with pytest.raises(Exception, match="503"):
            await client.ping()
        assert len(upstream.requests) == 1

    async def test_wrong_configured_key_is_not_ready(self, client: OffsetsClient, upstream: Upstream) -> None:
        upstream.status = 401
        with pytest.raises(UnauthorizedError):
            await client.ping()

    async def test_pass_through_mode_accepts_401(self, upstream: Upstream) -> None:
        upstream.status = 401
        async with httpx.AsyncClient(transport=httpx.MockTransport(upstream)) as http:
            await OffsetsClient(http, base_url=BASE, api_key=None).ping()
        assert "authorization" not in upstream.last.headers
