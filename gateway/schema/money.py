"""Money: one type for every amount in the schema, output and input (in the spirit of Shopify's MoneyV2).

`Money { amount: Decimal!, currencyCode: CurrencyCode! }`: `amount` is in major units (dollars, not
cents) as a `Decimal` string, so it never overflows and keeps fractional per-kg prices exact
(`0.016` USD = 1.6 cents). The offsets API prices everything in US cents; the converters here are the
only place cents become `Money` and back.
"""

from __future__ import annotations

import enum
from decimal import Decimal

import strawberry

from gateway.products.models import currency_digits
from gateway.schema.errors import GatewayInputError

#: The most cents sent upstream: a JSON integer the API (and orjson) can carry, 64-bit signed.
MAX_UPSTREAM_CENTS = 2**63 - 1


@strawberry.enum(description="An ISO 4217 currency code.")
class CurrencyCode(enum.Enum):
    USD = strawberry.enum_value(
        "USD", description="United States dollar (2 decimals): every offsets API price."
    )
    EUR = strawberry.enum_value("EUR", description="Euro (2 decimals).")
    GBP = strawberry.enum_value("GBP", description="Pound sterling (2 decimals).")
    CHF = strawberry.enum_value("CHF", description="Swiss franc (2 decimals).")
    CAD = strawberry.enum_value("CAD", description="Canadian dollar (2 decimals).")
    AUD = strawberry.enum_value("AUD", description="Australian dollar (2 decimals).")
    NZD = strawberry.enum_value("NZD", description="New Zealand dollar (2 decimals).")
    SEK = strawberry.enum_value("SEK", description="Swedish krona (2 decimals).")
    NOK = strawberry.enum_value("NOK", description="Norwegian krone (2 decimals).")
    DKK = strawberry.enum_value("DKK", description="Danish krone (2 decimals).")
    PLN = strawberry.enum_value("PLN", description="Polish zloty (2 decimals).")
    CZK = strawberry.enum_value("CZK", description="Czech koruna (2 decimals).")
    CNY = strawberry.enum_value("CNY", description="Chinese yuan renminbi (2 decimals).")
    INR = strawberry.enum_value("INR", description="Indian rupee (2 decimals).")
    SGD = strawberry.enum_value("SGD", description="Singapore dollar (2 decimals).")
    HKD = strawberry.enum_value("HKD", description="Hong Kong dollar (2 decimals).")
    BRL = strawberry.enum_value("BRL", description="Brazilian real (2 decimals).")
    MXN = strawberry.enum_value("MXN", description="Mexican peso (2 decimals).")
    ZAR = strawberry.enum_value("ZAR", description="South African rand (2 decimals).")
    JPY = strawberry.enum_value("JPY", description="Japanese yen (no decimals).")
    KRW = strawberry.enum_value("KRW", description="South Korean won (no decimals).")

    @property
    def decimals(self) -> int:
        """Decimal places of one major unit (ISO 4217's minor-unit exponent)."""
        return currency_digits(self.name)


@strawberry.type(description="An amount of money: a decimal amount in major units and its currency.")
class Money:
    amount: Decimal = strawberry.field(
        description='The amount in major units (e.g. "31.90" for 31.90 US dollars; per-kg prices may have '
        "more decimals than the currency has)."
    )
    currency_code: CurrencyCode = strawberry.field(description="The currency of `amount`.")

    @classmethod
    def from_usd_cents(cls, cents: int | float | Decimal) -> Money:
        """US cents from the offsets API (whole, or fractional for per-kg prices) as Money."""
        exact = (
            cents
            if isinstance(cents, Decimal)
            else Decimal(repr(cents) if isinstance(cents, float) else cents)
        )
        return cls(amount=_tidy(exact.scaleb(-2), 2), currency_code=CurrencyCode.USD)

    @classmethod
    def from_minor(cls, amount_minor: int, currency: str) -> Money | None:
        """Minor units of an ISO 4217 currency as Money; None for a currency this schema does not list."""
        code = CurrencyCode.__members__.get(currency.upper())
        if code is None:
            return None
        return cls(
            amount=_tidy(Decimal(amount_minor).scaleb(-code.decimals), code.decimals), currency_code=code
        )


def _tidy(amount: Decimal, places: int) -> Decimal:
    """At least the currency's decimals ("0.02", not "0.020"), more only where they matter ("0.016")."""
    trimmed = amount.normalize()
    exponent = trimmed.as_tuple().exponent
    if isinstance(exponent, int) and -exponent >= places:
        return trimmed
    return amount.quantize(Decimal(1).scaleb(-places))


@strawberry.input(description="An amount of money: a decimal amount in major units and its currency.")
class MoneyInput:
    amount: Decimal = strawberry.field(description='The amount in major units, e.g. "31.90".')
    currency_code: CurrencyCode = strawberry.field(description="The currency of `amount`.")

    def minor_units(self, *field: str) -> int:
        """The amount in whole minor units (cents); GatewayInputError at `field` if it has a fraction."""
        minor = self.amount.scaleb(self.currency_code.decimals)
        if minor != minor.to_integral_value():
            places = self.currency_code.decimals
            message = f"`amount` has more than {places} decimal places for {self.currency_code.name}."
            raise GatewayInputError(message, [*field, "amount"])
        return int(minor)

    def usd_cents(self, *field: str) -> int:
        """The amount in whole US cents; GatewayInputError at `field` for another currency or a fraction."""
        if self.currency_code is not CurrencyCode.USD:
            raise GatewayInputError(
                "The offsets API takes US dollars: use `currencyCode: USD`.", [*field, "currencyCode"]
            )
        cents = self.minor_units(*field)
        if not 0 <= cents <= MAX_UPSTREAM_CENTS:
            raise GatewayInputError(
                "`amount` must be between 0 and 92233720368547758.07.", [*field, "amount"]
            )
        return cents
