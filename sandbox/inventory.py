"""Matching orders against the portfolio's project inventory (the projects' credit issuances).

An order's amount is split across the portfolio's categories by their allocated fractions (whole kg split
by largest remainder, so 3000 kg in "Sandbox" gives exactly 1050/1050/600/300), and each category's share is
taken from its projects' credit issuances, oldest vintage first. Each vintage used becomes one retirement
with a serial-number range and a registry URL.

[?] Inventory is per account (each account is an isolated sandbox) and counted in kg: the serial range
``SBX-I0UbDH-2022-000000001-000001050`` covers kg 1..1050 of that vintage. An order the remaining inventory
cannot cover in full is not fulfilled (it stays ``placed``, as the docs describe an order "waiting to be
matched against available credits").
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from sandbox.catalogue import Catalogue
from sandbox.store import Store

INVENTORY = "inventory"
RETIREMENT_URL = "https://registry.cnaught.com/retirements/{serial}"

Allocation = dict[str, Any]


def split(amount_kg: float, fractions: list[tuple[str, float]]) -> list[tuple[str, float]]:
    """`amount_kg` shared by `fractions` (whole amounts by largest remainder; fractional ones to 3 dp)."""
    if float(amount_kg).is_integer():
        return _split_whole(int(amount_kg), fractions)
    shares = [(key, round(amount_kg * fraction, 3)) for key, fraction in fractions]
    rest = round(amount_kg - sum(s for _, s in shares), 3)
    first_key, first = shares[0]
    return [(first_key, round(first + rest, 3)), *shares[1:]]


def _split_whole(amount: int, fractions: list[tuple[str, float]]) -> list[tuple[str, float]]:
    exact = [Decimal(amount) * Decimal(str(fraction)) for _, fraction in fractions]
    whole = [int(e) for e in exact]
    by_remainder = sorted(range(len(exact)), key=lambda i: exact[i] - whole[i], reverse=True)
    for i in by_remainder[: amount - sum(whole)]:
        whole[i] += 1
    return [(key, share) for (key, _), share in zip(fractions, whole, strict=True)]


class Inventory:
    """Credits retired so far, per account, project and vintage."""

    def __init__(self, store: Store, catalogue: Catalogue) -> None:
        self._store = store
        self._catalogue = catalogue

    def allocate(self, account_id: str, portfolio_id: str, amount_kg: float) -> list[Allocation] | None:
        """Retire credits for an order; None (and nothing retired) when the inventory falls short."""
        retired: dict[str, float] = dict((self._store.get(INVENTORY, account_id) or {}).get("retired", {}))
        allocations = []
        for category_id, share in split(amount_kg, self._catalogue.allocations(portfolio_id)):
            if share <= 0:
                continue
            planned = self._allocate_category(category_id, share, retired)
            if planned is None:
                return None
            allocations.extend(planned)
        self._store.put(INVENTORY, account_id, {"retired": retired})
        return allocations

    def _allocate_category(
        self, category_id: str, share: float, retired: dict[str, float]
    ) -> list[Allocation] | None:
        allocations = []
        for project in self._catalogue.categories[category_id]["projects"]:
            taken, retirements = self._take(project["id"], share, retired)
            if taken > 0:
                allocations.append(
                    {"project": project, "amount_kg": _number(taken), "retirements": retirements}
                )
                share = round(share - taken, 3)
            if share <= 0:
                return allocations
        return None

    def _take(
        self, project_id: str, wanted: float, retired: dict[str, float]
    ) -> tuple[float, list[dict[str, Any]]]:
        taken = 0.0
        retirements = []
        issuances = self._catalogue.project(project_id)["credit_issuances"]
        for issuance in sorted(issuances, key=lambda i: i["vintage_year"]):
            slot = f"{project_id}:{issuance['vintage_year']}"
            used = retired.get(slot, 0.0)
            amount = round(min(wanted - taken, issuance["total_amount"] - used), 3)
            if amount <= 0:
                continue
            retirements.append(_retirement(project_id, issuance["vintage_year"], used, amount))
            retired[slot] = round(used + amount, 3)
            taken = round(taken + amount, 3)
            if taken >= wanted:
                break
        return taken, retirements


def _retirement(project_id: str, vintage: int, used: float, amount: float) -> dict[str, Any]:
    first, last = math.floor(used) + 1, math.ceil(used + amount)
    serial = f"SBX-{project_id}-{vintage}-{first:09d}-{last:09d}"
    return {"serial_number_range": serial, "url": RETIREMENT_URL.format(serial=serial)}


def _number(value: float) -> float:
    return int(value) if float(value).is_integer() else value
