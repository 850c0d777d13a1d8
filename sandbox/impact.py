"""Climate impact of an account's (or subaccount's) fulfilled orders, and its hosted page.

Choices where the reference says [?]:
- An order counts when it is ``fulfilled`` and its ``created_on`` lies in ``[from, to)``; without
  ``X-Subaccount-Id`` the account's figures include its subaccounts' orders.
- Equivalents (rounded to 2 decimals) use EPA-style factors: a car off the road for a year = 4,600 kg,
  a tree seedling grown for 10 years = 60 kg, a home's annual energy use = 7,930 kg, one LAX-NYC economy
  flight = 900 kg.
- ``vintages`` lists the vintage years retired for the project, ascending, comma-separated (``"2022, 2023"``).
- ``name`` is the subaccount's name, else the account's ("Sandbox Account"); ``logo_url`` the subaccount's.
- The hosted page is always enabled, at ``https://impact.cnaught.com/{account}[/{subaccount}]``, with all
  four equivalents ``cars``, ``homes``, ``flights``, ``trees``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sandbox import clock
from sandbox.accounts import Caller
from sandbox.catalogue import Catalogue
from sandbox.store import Document

KG_PER_CAR_YEAR = 4600
KG_PER_TREE = 60
KG_PER_HOME_YEAR = 7930
KG_PER_FLIGHT = 900
HOSTED_PAGE_URL = "https://impact.cnaught.com/{slug}"
EQUIVALENT_NAMES = ["cars", "homes", "flights", "trees"]


def equivalents(total_kg: float) -> dict[str, float]:
    """What `total_kg` of CO2e compares to."""
    return {
        "cars_off_the_road": round(total_kg / KG_PER_CAR_YEAR, 2),
        "trees_planted": round(total_kg / KG_PER_TREE, 2),
        "homes_annual_energy_usage": round(total_kg / KG_PER_HOME_YEAR, 2),
        "flights_lax_to_nyc": round(total_kg / KG_PER_FLIGHT, 2),
    }


def counted_orders(orders: list[Document], since: datetime | None, until: datetime | None) -> list[Document]:
    """Fulfilled orders created in ``[since, until)``."""
    counted = []
    for doc in orders:
        order = doc["order"]
        created = clock.parse_ts(order["created_on"])
        if order["state"] != "fulfilled" or (since and created < since) or (until and created >= until):
            continue
        counted.append(order)
    return counted


def categories(orders: list[Document], catalogue: Catalogue) -> list[dict[str, Any]]:
    """Offset kg per category and project."""
    by_category: dict[str, dict[str, Any]] = {}
    for order in orders:
        for allocation in order["project_allocations"]:
            project = allocation["project"]
            entry = by_category.setdefault(
                catalogue.category_of_project[project["id"]], {"kg": 0.0, "projects": {}}
            )
            entry["kg"] += allocation["amount_kg"]
            item = entry["projects"].setdefault(
                project["id"], {"project": project, "kg": 0.0, "vintages": set()}
            )
            item["kg"] += allocation["amount_kg"]
            item["vintages"].update(r["serial_number_range"].split("-")[2] for r in allocation["retirements"])
    return [_category_entry(catalogue.categories[cid], entry) for cid, entry in by_category.items()]


def _category_entry(category: dict[str, Any], entry: dict[str, Any]) -> dict[str, Any]:
    return {
        "category": {"name": category["name"], "description": category["description"]},
        "offset_kgs": _number(entry["kg"]),
        "projects": [
            {
                "project": p["project"],
                "offset_kgs": _number(p["kg"]),
                "vintages": ", ".join(sorted(p["vintages"])),
            }
            for p in entry["projects"].values()
        ],
    }


def impact_data(
    caller: Caller,
    orders: list[Document],
    catalogue: Catalogue,
    since: datetime | None,
    until: datetime | None,
) -> dict[str, Any]:
    """The ImpactData document."""
    counted = counted_orders(orders, since, until)
    total = _number(sum(o["amount_kg"] for o in counted))
    owner = caller.subaccount["subaccount"] if caller.subaccount else caller.account
    return {
        "name": owner["name"],
        "logo_url": owner.get("logo_url"),
        "total_offset_kgs": total,
        "equivalents": equivalents(total),
        "since_date": clock.format_ts(since) if since else owner["created_on"],
        "to_date": clock.format_ts(until) if until else None,
        "categories": categories(counted, catalogue),
    }


def hosted_page_config(caller: Caller) -> dict[str, Any]:
    """The HostedPageConfig document."""
    slug = caller.account_id.removeprefix("acct_")
    if caller.subaccount_id:
        slug = f"{slug}/{caller.subaccount_id}"
    return {
        "enabled": True,
        "url": HOSTED_PAGE_URL.format(slug=slug),
        "enabled_equivalents": EQUIVALENT_NAMES,
    }


def _number(value: float) -> float:
    value = round(value, 3)
    return int(value) if float(value).is_integer() else value
