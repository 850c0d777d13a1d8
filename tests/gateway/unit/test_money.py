"""Money: the `Decimal` scalar and the converters from the offsets API's US cents, through the real schema."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest
import strawberry
from graphql import GraphQLError

from gateway.masking import MaskInternalErrors
from gateway.schema import build_schema
from gateway.schema.errors import GatewayInputError
from gateway.schema.money import CurrencyCode, Money, MoneyInput
from gateway.schema.scalars import parse_decimal, serialize_decimal
from tests.gateway.unit.schema_fakes import FakeUpstream, context_for, order, portfolio


@pytest.mark.parametrize(
    ("cents", "amount"),
    [
        (3_000_000_000, "30000000.00"),
        (3190, "31.90"),
        (0, "0.00"),
        (1.6, "0.016"),
        (2, "0.02"),
        (0.1, "0.001"),
    ],
)
def test_us_cents_become_exact_dollar_amounts(cents: float, amount: str) -> None:
    money = Money.from_usd_cents(cents)
    assert (serialize_decimal(money.amount), money.currency_code) == (amount, CurrencyCode.USD)


@pytest.mark.parametrize(
    ("value", "parsed"), [("12.34", "12.34"), (12.34, "12.34"), (5, "5"), ("-0.5", "-0.5")]
)
def test_decimals_parse_from_strings_and_numbers(value: object, parsed: str) -> None:
    assert parse_decimal(value) == Decimal(parsed)


def test_long_plain_decimals_keep_every_digit() -> None:
    text = "1" * 60 + "." + "2" * 39  # 100 characters
    assert serialize_decimal(parse_decimal(text)) == text


@pytest.mark.parametrize(
    "value", ["1e5", "NaN", "Infinity", "", "12.", ".5", "1 2", True, None, [1], "9" * 101]
)
def test_anything_else_is_a_graphql_error_not_a_crash(value: object) -> None:
    # A GraphQLError is reported as the client's mistake; any other exception would be logged as our bug.
    with pytest.raises(GraphQLError, match="Decimal"):
        parse_decimal(value)


def test_a_budget_is_whole_us_cents() -> None:
    assert (
        MoneyInput(amount=Decimal("30000000.00"), currency_code=CurrencyCode.USD).usd_cents() == 3_000_000_000
    )
    with pytest.raises(GatewayInputError) as fraction:
        MoneyInput(amount=Decimal("0.015"), currency_code=CurrencyCode.USD).usd_cents("input", "totalPrice")
    assert fraction.value.field == ["input", "totalPrice", "amount"]
    with pytest.raises(GatewayInputError) as huge:  # more cents than a 64-bit JSON integer holds
        MoneyInput(amount=Decimal("1" + "0" * 30), currency_code=CurrencyCode.USD).usd_cents(
            "input", "totalPrice"
        )
    assert huge.value.field == ["input", "totalPrice", "amount"]
    with pytest.raises(GatewayInputError) as huge:  # more cents than a 64-bit JSON integer holds
        MoneyInput(amount=Decimal("1" + "0" * 30), currency_code=CurrencyCode.USD).usd_cents(
            "input", "totalPrice"
        )
    assert huge.value.field == ["input", "totalPrice", "amount"]
    with pytest.raises(GatewayInputError) as currency:
        MoneyInput(amount=Decimal("1"), currency_code=CurrencyCode.EUR).usd_cents("input", "totalPrice")
    assert currency.value.field == ["input", "totalPrice", "currencyCode"]


def test_minor_units_of_other_currencies() -> None:
    assert Money.from_minor(5, "JPY") == Money(amount=Decimal(5), currency_code=CurrencyCode.JPY)
    assert Money.from_minor(1234, "eur") == Money(amount=Decimal("12.34"), currency_code=CurrencyCode.EUR)
    assert Money.from_minor(1, "XXX") is None


async def test_through_the_schema_no_money_overflows_or_loses_a_digit() -> None:
    schema = build_schema(extensions=[MaskInternalErrors])
    big = {**order("o1", None, ["p1"]), "price_usd_cents": 3_000_000_000}
    fractional = {**portfolio("pf1"), "api_price_per_kg_usd_cents": 1.6}
    upstream = FakeUpstream(orders=[big], portfolios={"pf1": fractional})
    async with httpx.AsyncClient(transport=upstream.transport()) as http:
        context = await context_for(upstream, http)
        result: Any = await schema.execute(
            '{ order(id: "o1") { price { amount currencyCode } }'
            ' portfolio(id: "pf1") { apiPricePerKg { amount } checkoutPricePerKg { amount } } }',
            context_value=context,
        )
    assert result.errors is None
    assert result.data["order"]["price"] == {"amount": "30000000.00", "currencyCode": "USD"}
    assert result.data["portfolio"]["apiPricePerKg"] == {"amount": "0.016"}
    assert result.data["portfolio"]["checkoutPricePerKg"] == {"amount": "0.02"}


def test_the_schema_has_one_money_type() -> None:
    sdl = strawberry.Schema.as_str(build_schema())
    assert "scalar Decimal" in sdl and "type Money {" in sdl and "input MoneyInput {" in sdl
    for old in ("Cents", "amountMinor", "Int cannot"):
        assert old not in sdl
