"""Small pure functions: ids, order numbers, splitting, emission rounding, timestamps."""

from __future__ import annotations

import re

import pytest

from sandbox import clock, emissions, ids
from sandbox.inventory import split


def test_order_number_is_derived_from_the_id() -> None:
    number = ids.order_number("Gre28Fc35bt3")
    assert re.fullmatch(r"\d{5}-\d{5}-\d{5}-\d{5}-\d{4}", number)
    assert number == ids.order_number("Gre28Fc35bt3")
    assert number != ids.order_number("Gre28Fc35bt4")


def test_id_formats() -> None:
    assert re.fullmatch(r"[A-Za-z0-9]{12}", ids.order_id())
    assert re.fullmatch(r"[A-Za-z0-9]{8}", ids.subaccount_id())
    assert re.fullmatch(r"[A-Za-z0-9]{10}", ids.checkout_session_id())
    assert len({ids.order_id() for _ in range(1000)}) == 1000


@pytest.mark.parametrize(
    ("amount", "expected"),
    [(3000, [1050, 1050, 600, 300]), (1, [1, 0, 0, 0]), (7, [3, 2, 1, 1]), (10.5, [3.675, 3.675, 2.1, 1.05])],
)
def test_split_by_fractions(amount: float, expected: list[float]) -> None:
    fractions = [("a", 0.35), ("b", 0.35), ("c", 0.2), ("d", 0.1)]
    shares = [share for _, share in split(amount, fractions)]
    assert shares == expected
    assert sum(shares) == pytest.approx(amount)


def test_rounding_is_up_and_float_safe() -> None:
    assert emissions.ride_kg(30) == 8  # 7.5 -> 8
    assert emissions.office_space_kg(1000) == 8600  # exactly 8600, not 8601
    assert emissions.price_cents(0.1, 2) == 1
    assert emissions.price_cents(1.15, 2) == 3  # 2.3 -> 3
    assert emissions.kg_for_budget(3190, 2) == 1595
    assert emissions.kg_for_budget(5, 1.6) == 3


def test_timestamps() -> None:
    moment = clock.parse_ts("2022-08-01T18:00:00Z")
    assert clock.format_ts(moment) == "2022-08-01T18:00:00.000000Z"
    assert clock.format_ts(clock.parse_ts("2022-08-01T20:00:00+02:00")) == "2022-08-01T18:00:00.000000Z"
    with pytest.raises(ValueError):
        clock.parse_ts("not a date")
