"""Emission factors and rounding of the quote endpoints (reference section 2.2).

CNaught never published its factors; the test vectors of the former official sandbox are the only ground
truth, and every one of them is reproduced exactly:

======================  ===========================  ==========================  ============
endpoint                input                        factor (kg CO2e)            result
======================  ===========================  ==========================  ============
/quotes                 amount_kg 10                 1 per kg                    10 kg
/quotes/air-freight     10 kg x 100 km = 1 t.km      1.13 per tonne-km           2 kg
/quotes/flight          100 km                       0.0955 per passenger-km     10 kg
/quotes/ground-freight  100 kg x 1000 km = 100 t.km  0.135 per tonne-km          14 kg
/quotes/ground-transport 1000 km school_bus          0.7448 per vehicle-km       745 kg
/quotes/office-space    1000 sq ft                   8.6 per sq ft (a year)      8600 kg
/quotes/train           1000 km                      0.0375 per passenger-km     38 kg
/quotes/ride            30 km                        0.25 per vehicle-km         8 kg
======================  ===========================  ==========================  ============

Rounding: activity-based amounts are rounded *up* to whole kg (the reference infers this from the ride
vector, 7.5 -> 8); `/quotes` keeps the requested mass as given. Prices are ``amount x price per kg``,
rounded up to whole cents (the reference says so of fractional checkout prices). The three vehicle types
without a vector use plausible per-vehicle-km factors: passenger car/van/SUV 0.25 (the deprecated ride
quote uses it too, as the docs say it is its replacement), small bus 0.42, coach bus 1.07.
Arithmetic is in `Decimal` so no float artefact can push a result over a whole number.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal
from typing import Final

AIR_FREIGHT_PER_TONNE_KM: Final = Decimal("1.13")
FLIGHT_PER_KM: Final = Decimal("0.0955")
GROUND_FREIGHT_PER_TONNE_KM: Final = Decimal("0.135")
TRAIN_PER_KM: Final = Decimal("0.0375")
OFFICE_PER_SQUARE_FOOT: Final = Decimal("8.6")
VEHICLE_PER_KM: Final[dict[str, Decimal]] = {
    "passenger_car_van_or_suv": Decimal("0.25"),
    "small_bus": Decimal("0.42"),
    "school_bus": Decimal("0.7448"),
    "coach_bus": Decimal("1.07"),
}
RIDE_VEHICLE: Final = "passenger_car_van_or_suv"


def _dec(value: float) -> Decimal:
    # str() first: Decimal(0.1) would carry the binary float's tail into the product.
    return Decimal(str(value))


def ceil_whole(value: Decimal) -> int:
    """`value` rounded up to an integer."""
    return int(value.to_integral_value(rounding=ROUND_CEILING))


def air_freight_kg(freight_mass_kg: float, distance_km: float) -> int:
    """Emissions of flying `freight_mass_kg` over `distance_km`."""
    return ceil_whole(_dec(freight_mass_kg) / 1000 * _dec(distance_km) * AIR_FREIGHT_PER_TONNE_KM)


def flight_kg(distance_km: float) -> int:
    """Emissions of one passenger flying `distance_km`."""
    return ceil_whole(_dec(distance_km) * FLIGHT_PER_KM)


def ground_freight_kg(freight_mass_kg: float, distance_km: float) -> int:
    """Emissions of trucking `freight_mass_kg` over `distance_km`."""
    return ceil_whole(_dec(freight_mass_kg) / 1000 * _dec(distance_km) * GROUND_FREIGHT_PER_TONNE_KM)


def ground_transport_kg(distance_km: float, vehicle_type: str) -> int:
    """Emissions of driving one vehicle of `vehicle_type` over `distance_km`."""
    return ceil_whole(_dec(distance_km) * VEHICLE_PER_KM[vehicle_type])


def office_space_kg(square_footage: float) -> int:
    """A year of emissions of `square_footage` of office space."""
    return ceil_whole(_dec(square_footage) * OFFICE_PER_SQUARE_FOOT)


def train_kg(distance_km: float) -> int:
    """Emissions of one passenger riding a train over `distance_km`."""
    return ceil_whole(_dec(distance_km) * TRAIN_PER_KM)


def ride_kg(distance_km: float) -> int:
    """Emissions of a (deprecated) ride: a passenger car over `distance_km`."""
    return ground_transport_kg(distance_km, RIDE_VEHICLE)


def price_cents(amount_kg: float, price_per_kg_cents: float) -> int:
    """What `amount_kg` costs at `price_per_kg_cents`, rounded up to whole cents."""
    return ceil_whole(_dec(amount_kg) * _dec(price_per_kg_cents))


def kg_for_budget(total_price_usd_cents: int, price_per_kg_cents: float) -> int:
    """Whole kg that `total_price_usd_cents` buys (rounded down, so the price never exceeds the budget)."""
    return int(Decimal(total_price_usd_cents) // _dec(price_per_kg_cents))
