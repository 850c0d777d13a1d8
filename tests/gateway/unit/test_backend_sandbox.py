"""Contract: OffsetsClient against the real sandbox app in-process (ASGITransport, lifespan running).

Every method must reach a real route and parse the real response; the sandbox's problem details must map to
the documented exceptions; a response lost after the upstream processed an order must not buy twice.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from starlette.applications import Starlette

from gateway.backend import (
    CallOptions,
    IdempotencyKeyTooLongError,
    IdempotencyPayloadMismatchError,
    InvalidPaginationError,
    InvalidParametersError,
    InvalidSubaccountError,
    NotFoundError,
    OffsetsClient,
    RetryPolicy,
    UnauthorizedError,
)
from gateway.backend import models as m
from sandbox.app import create_app
from sandbox.config import SandboxConfig

KEY = "sk_contract"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@dataclass
class Env:
    app: Starlette
    client: OffsetsClient
    http: httpx.AsyncClient
    sleeps: list[float]

    def count(self, route: str) -> int:
        return int(self.app.state.request_log.count(route=route))


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    app = create_app(SandboxConfig(api_keys=[KEY], fulfilment_delay=3600.0))
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport) as http:
            client = OffsetsClient(
                http,
                base_url="http://sandbox/v1",
                api_key=KEY,
                retry=RetryPolicy(max_attempts=3),
                sleep=sleep,
            )
            yield Env(app, client, http, sleeps)


async def test_catalogue_round_trip(env: Env) -> None:
    portfolios = await env.client.list_portfolios()
    assert portfolios
    details = await env.client.get_portfolio(portfolios[0].id)
    assert details.api_price_per_kg_usd_cents is not None and details.category_allocations
    category = await env.client.get_project_category(details.category_allocations[0].category.id)
    assert category.projects
    project = await env.client.get_project(category.projects[0].id)
    assert project.id == category.projects[0].id and project.credit_issuances


async def test_quotes_round_trip(env: Env) -> None:
    c = env.client
    assert (await c.quote_mass(m.MassQuoteParams(amount_kg=10))).amount_kg == 10
    assert (await c.quote_flight(m.FlightQuoteParams(distance_km=100))).price_usd_cents > 0
    assert (await c.quote_train(m.TrainQuoteParams(distance_km=1000))).amount_kg > 0
    assert (
        await c.quote_air_freight(m.AirFreightQuoteParams(freight_mass_kg=10, distance_km=100))
    ).amount_kg > 0
    ground = m.GroundFreightQuoteParams(freight_mass_kg=100, distance_km=1000)
    assert (await c.quote_ground_freight(ground)).amount_kg > 0
    bus = m.GroundTransportQuoteParams(distance_km=1000, vehicle_type=m.VehicleType.SCHOOL_BUS)
    assert (await c.quote_ground_transport(bus)).amount_kg > 0
    assert (await c.quote_office_space(m.OfficeSpaceQuoteParams(square_footage=1000))).amount_kg > 0
    assert (await c.quote_ride(m.RideQuoteParams(distance_km=30))).amount_kg > 0


async def test_order_lifecycle_round_trip(env: Env) -> None:
    c = env.client
    sub = (await c.create_subaccount(m.CreateSubaccountParams(name="Travel"))).data
    scoped = CallOptions(subaccount_id=sub.id)
    placed = await c.create_order(
        m.CreateOrderParams(amount_kg=10, notification_url="https://hooks.example.test/o"), opts=scoped
    )
    assert placed.data.state is m.OrderState.PLACED and placed.data.subaccount_id == sub.id
    assert placed.data.callback_url == "https://hooks.example.test/o"
    ride = await c.create_ride_order(m.CreateRideOrderParams(distance_km=30))

    fulfilled = await env.http.post(
        f"http://sandbox/_sandbox/orders/{placed.data.id}/fulfil", headers={"Authorization": f"Bearer {KEY}"}
    )
    assert fulfilled.status_code == 200
    order = await c.get_order(placed.data.id, opts=scoped)
    assert order.state is m.OrderState.FULFILLED and order.project_allocations

    assert [o.id for o in await c.list_orders(opts=scoped)] == [placed.data.id]
    assert [o.id for o in await c.list_orders(limit=1)] == [ride.data.id]
    assert [o.id for o in await c.list_orders(starting_after=ride.data.id)] == [placed.data.id]
    assert [o.id for o in await c.list_orders(ending_before=placed.data.id)] == [ride.data.id]

    cancelled = await c.cancel_order(placed.data.id, opts=scoped)
    assert cancelled.data.state is m.OrderState.CANCELLED and cancelled.data.certificate_public_url is None

    impact = await c.get_impact_data(opts=scoped)
    assert impact.since_date is not None
    assert (await c.get_hosted_page_config()).url.startswith("https://")


async def test_subaccount_round_trip(env: Env) -> None:
    c = env.client
    portfolio = (await c.list_portfolios())[0].id
    created = await c.create_subaccount(
        m.CreateSubaccountParams(name="Ops", email="ops@example.test", default_portfolio_id=portfolio)
    )
    sub = created.data
    assert (sub.email, sub.default_portfolio_id) == ("ops@example.test", portfolio)
    assert [s.id for s in await c.list_subaccounts()] == [sub.id]

    replaced = await c.update_subaccount(sub.id, m.UpdateSubaccountParams(name="Ops 2"))
    assert (replaced.name, replaced.email, replaced.default_portfolio_id) == ("Ops 2", None, None)

    with_logo = await c.upload_subaccount_logo(sub.id, PNG, "image/png")
    assert with_logo.logo_url
    assert (await c.remove_subaccount_logo(sub.id)).logo_url is None
    from_url = await c.set_subaccount_logo_url(sub.id, "https://img.example.test/logo.png")
    assert from_url.logo_url

    await c.delete_subaccount(sub.id)
    with pytest.raises(NotFoundError):
        await c.get_subaccount(sub.id)


async def test_checkout_round_trip(env: Env) -> None:
    params = m.CreateCheckoutSessionParams(
        amount_kg=100, success_url="https://shop.example.test/ok", cancel_url="https://shop.example.test/no"
    )
    session = await env.client.create_checkout_session(params)
    assert session.state is m.CheckoutSessionState.OPEN
    assert (await env.client.get_checkout_session(session.id)).id == session.id


async def test_lost_response_after_processing_buys_once(env: Env) -> None:
    env.app.state.faults.set([{"route": "POST /v1/orders", "fail_after_processing": True, "times": 1}])

    result = await env.client.create_order(m.CreateOrderParams(amount_kg=25))

    assert result.attempts == 2 and result.replayed is False
    assert env.count("POST /v1/orders") == 2
    keys = {e.headers.get("idempotency-key") for e in env.app.state.request_log.entries if e.method == "POST"}
    assert len(keys) == 1
    env.app.state.faults.clear()
    assert [o.id for o in await env.client.list_orders()] == [result.data.id]


async def test_reads_ride_out_transient_upstream_failures(env: Env) -> None:
    env.app.state.faults.set([{"route": "GET /v1/portfolios", "status": 503, "times": 2}])
    assert await env.client.list_portfolios()
    assert env.count("GET /v1/portfolios") == 3 and len(env.sleeps) == 2


async def test_checkout_create_is_not_retried_against_the_sandbox(env: Env) -> None:
    env.app.state.faults.set([{"route": "POST /v1/checkout/sessions", "status": 502, "times": 1}])
    params = m.CreateCheckoutSessionParams(
        amount_kg=100, success_url="https://shop.example.test/ok", cancel_url="https://shop.example.test/no"
    )
    with pytest.raises(Exception, match="502"):
        await env.client.create_checkout_session(params)
    assert env.count("POST /v1/checkout/sessions") == 1


async def test_sandbox_problems_map_to_the_documented_exceptions(env: Env) -> None:
    c = env.client
    with pytest.raises(NotFoundError):
        await c.get_order("doesnotexist")
    with pytest.raises(InvalidPaginationError):
        await c.list_orders(starting_after="a", ending_before="b")
    with pytest.raises(InvalidParametersError) as invalid:
        await c.create_order(m.CreateOrderParams(amount_kg=-10))
    assert "amount_kg" in invalid.value.errors
    with pytest.raises(InvalidSubaccountError):
        await c.list_orders(opts=CallOptions(subaccount_id="nosuchsub"))
    with pytest.raises(IdempotencyKeyTooLongError):
        await c.create_order(m.CreateOrderParams(amount_kg=1), opts=CallOptions(idempotency_key="k" * 513))
    with pytest.raises(UnauthorizedError):
        await c.list_portfolios(opts=CallOptions(api_key="sk_wrong"))

    keyed = CallOptions(idempotency_key="same-key")
    first = await c.create_order(m.CreateOrderParams(amount_kg=1), opts=keyed)
    again = await c.create_order(m.CreateOrderParams(amount_kg=1), opts=keyed)
    assert again.replayed is True and again.data.id == first.data.id
    with pytest.raises(IdempotencyPayloadMismatchError):
        await c.create_order(m.CreateOrderParams(amount_kg=2), opts=keyed)


async def test_ping_against_the_sandbox(env: Env) -> None:
    await env.client.ping()
    wrong = OffsetsClient(env.http, base_url="http://sandbox/v1", api_key="sk_wrong")
    with pytest.raises(UnauthorizedError):
        await wrong.ping()
