"""Unit tests of the product package's pure parts: money, mapping fallbacks, validation paths, tokens."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from gateway.backend.errors import BackendDecodeError, NotFoundError, ServerError
from gateway.backend.models import CreditIssuance, Order
from gateway.products import BatchRecord, Money, ProjectRecord, TokenSource
from gateway.products.eligibility import eligible_orders
from gateway.products.from_orders import BatchSpec, batch_from_orders, projects_needing_issuances
from gateway.products.validation import check_batches, wire_path_to_input


def order(
    order_id: str, *, state: str = "fulfilled", subaccount: str | None = None, serial: str = ""
) -> Order:
    return Order.model_validate(
        {
            "id": order_id,
            "order_number": f"num-{order_id}",
            "created_on": "2024-03-01T10:00:00.000000Z",
            "amount_kg": 10,
            "state": state,
            "price_usd_cents": 20,
            "certificate_public_url": f"https://registry.cnaught.com/orders/{order_id}",
            "subaccount_id": subaccount,
            "project_allocations": [
                {
                    "project": {"id": "proj01", "name": "Forest", "type": "Forestry", "un_sdg_goals": []},
                    "amount_kg": 10,
                    "retirements": [{"serial_number_range": serial or None, "url": None}],
                }
            ],
        }
    )


@pytest.mark.parametrize(
    ("amount_minor", "currency", "major"), [(1234, "USD", 12.34), (5, "JPY", 5.0), (1001, "KWD", 1.001)]
)
def test_money_round_trips_through_major_units(amount_minor: int, currency: str, major: float) -> None:
    money = Money(amount_minor=amount_minor, currency=currency)
    assert money.to_major() == major
    assert Money.from_major(major, currency) == money


def test_vintages_fall_back_to_the_projects_credit_issuances() -> None:
    orders = [order("b", serial="VCS-XYZ-0001"), order("a")]
    assert projects_needing_issuances(orders) == ["proj01"]
    issuances = {
        "proj01": [
            CreditIssuance(vintage_year=2019, total_amount=5),
            CreditIssuance(vintage_year=2021, total_amount=5),
        ]
    }
    batch = batch_from_orders(BatchSpec(batch_number="B"), orders, issuances)
    project = batch.offset_projects[0]
    assert project.offset_vintage_start == datetime(2019, 1, 1, tzinfo=UTC)
    assert project.offset_vintage_end == datetime(2021, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert batch.offset_provider_order_id == "a, b" and batch.offset_price == 0.4
    assert [p.offset_provider_finalization_id for p in batch.offset_projects] == ["num-a", "num-b"]
    assert project.offset_serial_number is None and project.offset_retirement_url is None


def test_serial_years_win_over_issuances() -> None:
    orders = [order("a", serial="SBX-proj01-2022-000000001-000000010")]
    assert projects_needing_issuances(orders) == []
    batch = batch_from_orders(BatchSpec(batch_number="B"), orders, {})
    assert batch.offset_projects[0].offset_vintage_start == datetime(2022, 1, 1, tzinfo=UTC)


def test_registry_fields_reach_the_wire_under_the_seed_names() -> None:
    # The sandbox's projects have no registry (registry_name "None"), so the end-to-end test cannot see these.
    registered = order("a", serial="VCS-1234-2019-1-10").model_dump()
    registered["project_allocations"][0]["project"].update(
        registry_id="VCS-1234",
        registry_url="https://registry.verra.org/app/projectDetail/VCS/1234",
        location_name="Para, Brazil",
        impact_type="Avoided Emissions",
    )
    wire = batch_from_orders(BatchSpec(batch_number="B"), [Order.model_validate(registered)], {}).to_wire()
    (project,) = wire["offsetProjects"]
    assert (project["projectID"], project["projectURL"]) == (
        "VCS-1234",
        "https://registry.verra.org/app/projectDetail/VCS/1234",
    )
    assert (project["offsetProviderProjectID"], project["projectLocation"]) == ("proj01", "Para, Brazil")
    assert (project["offsetType"], project["projectType"]) == ("Avoided Emissions", "Forestry")
    assert (wire["offsetPriceUnit"], wire["offsetPrice"], wire["offsetTotal"]) == ("USD", 0.2, 10)
    assert project["offsetVintageStart"].startswith("2019-01-01")


async def test_eligibility_reports_every_refusal_and_reraises_unexpected_errors() -> None:
    orders = {
        "ok": order("ok"),
        "placed": order("placed", state="placed"),
        "sub": order("sub", subaccount="S1"),
    }

    async def load(order_id: str) -> Order:
        if order_id == "boom":
            raise ServerError(status=500)
        if order_id not in orders:
            raise NotFoundError(status=404)
        return orders[order_id]

    found, problems = await eligible_orders(load, ["ok", "placed", "sub", "gone"], None)
    assert [o.id for o in found] == ["ok", "placed", "sub"]
    assert [(p.code, p.field[-1]) for p in problems] == [
        ("ORDER_NOT_FULFILLED", "1"),
        ("ORDER_NOT_IN_SUBACCOUNT", "2"),
        ("NOT_FOUND", "3"),
    ]
    _, as_sub = await eligible_orders(load, ["sub", "ok"], "S1")
    assert [(p.code, p.field[-1]) for p in as_sub] == [("ORDER_NOT_IN_SUBACCOUNT", "1")]
    with pytest.raises(ServerError):
        await eligible_orders(load, ["ok", "boom"], None)


def test_validation_paths_use_graphql_names() -> None:
    project = ProjectRecord(
        offset_provider="", offset_quantity=float("nan"), offset_quantity_unit="kg", project_url="ftp://x"
    )
    batch = BatchRecord(
        batch_number="B",
        offset_total=1,
        offset_unit="kg",
        offset_price=-1,
        offset_price_unit="US",
        offset_projects=(project,),
        comment="c" * 2001,
    )
    problems = {p.field: p.message for p in check_batches([batch])}
    assert set(problems) == {
        ("input", "batches", "0", "offsetPrice", "amount"),
        ("input", "batches", "0", "offsetPrice", "currencyCode"),
        ("input", "batches", "0", "comment"),
        ("input", "batches", "0", "offsetProjects", "0", "offsetProvider"),
        ("input", "batches", "0", "offsetProjects", "0", "offsetQuantity"),
        ("input", "batches", "0", "offsetProjects", "0", "projectUrl"),
    }


def test_platform_error_paths_map_to_input_paths() -> None:
    assert wire_path_to_input("[0].offsetProjects[1].offsetProviderProjectID") == (
        "input",
        "batches",
        "0",
        "offsetProjects",
        "1",
        "offsetProviderProjectId",
    )
    assert wire_path_to_input("[2].offsetProviderOrderID") == (
        "input",
        "batches",
        "2",
        "offsetProviderOrderId",
    )
    assert wire_path_to_input("[0].projectURL")[-1] == "projectUrl"


def _token_source(handler: Any) -> tuple[TokenSource, httpx.AsyncClient]:
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return TokenSource(http, token_url="https://idp.example/token", client_id="id", client_secret="sec"), http


async def test_token_request_is_rfc6749_and_shared_by_concurrent_callers() -> None:
    seen: list[httpx.Request] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        await asyncio.sleep(0.01)  # let every caller queue behind the one request in flight
        return httpx.Response(200, json={"access_token": "tok", "token_type": "Bearer"})

    tokens, http = _token_source(handler)
    async with http:
        assert set(await asyncio.gather(*(tokens.token() for _ in range(20)))) == {"tok"}
    (request,) = seen
    assert request.headers["authorization"].startswith("Basic ")
    assert request.content == b"grant_type=client_credentials"
    assert "sec" not in repr(tokens)


async def test_a_token_response_without_a_token_is_a_decode_error() -> None:
    tokens, http = _token_source(lambda request: httpx.Response(200, json={"token_type": "Bearer"}))
    async with http:
        with pytest.raises(BackendDecodeError):
            await tokens.token()
