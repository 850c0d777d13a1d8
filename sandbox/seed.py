"""The catalogue of the former official CNaught sandbox (reference section 8, "fixture data").

Portfolios ``oH5hlq`` "Sandbox" and ``ixmZSK`` "Alternative Sandbox" (in that list order), 2 US cents/kg for
both the API and checkout, four category allocations each; category ``hkgyn3`` is "Sandbox Project
Category A" with one project, ``I0UbDH`` "Sandbox Project A", whose fields and credit issuances are those the
SDK's integration tests asserted. The "Sandbox" portfolio's fractions (0.35/0.35/0.2/0.1) reproduce the
fixture order of 3000 kg split 1050/1050/600/300 across projects A-D. [?] Everything the fixtures did not
show (projects B-D, the other category ids, the alternative portfolio's fractions) is invented in the
same style and marked as sandbox-only in its text.
"""

from __future__ import annotations

from typing import Any, Final

SANDBOX_TEXT: Final = "This portfolio is for sandbox use only and does not represent any real projects"
PROJECT_TEXT: Final = "This project is for sandbox use only and does not represent a real project"
DEFAULT_PORTFOLIO_ID: Final = "oH5hlq"


def _project(
    id_: str, letter: str, type_: str, location: tuple[str, float, float], issuances: dict[int, int]
) -> dict[str, Any]:
    name, lat, lon = location
    return {
        "id": id_,
        "name": f"Sandbox Project {letter}",
        "type": type_,
        "activity_types": [type_] if letter != "A" else ["Reforestation", "Improved Forest Management"],
        "developer": "Sandbox Project Developer",
        "registry_name": "None",
        "registry_id": None,
        "registry_url": None,
        "summary": PROJECT_TEXT,
        "description": PROJECT_TEXT,
        "location_name": name,
        "location_latitude": lat,
        "location_longitude": lon,
        "primary_image_url": None,
        "un_sdg_goals": [1, 4, 6],
        "methodology": "Verified Carbon Standard (VCS)",
        "verifier": "Sandbox Verification Services",
        "permanence": "100+ years",
        "lifetime": {"start_year": 2022, "end_year": 2052},
        "impact_type": "Removal" if type_ in ("Reforestation", "Biochar") else "Avoided Emissions",
        "due_diligence": None,
        "beyond_carbon": None,
        "risk_of_reversal": None,
        "third_party_labels": [],
        "notable_buyers": [],
        "due_diligence_figure": None,
        "news_articles": [],
        "credit_issuances": [{"vintage_year": y, "total_amount": a} for y, a in issuances.items()],
    }


PROJECTS: Final[dict[str, dict[str, Any]]] = {
    p["id"]: p
    for p in (
        _project(
            "I0UbDH",
            "A",
            "Reforestation",
            ("Pacific Northwest, USA", 47.6062, -122.3321),
            {2022: 5000, 2023: 7500, 2024: 10000},
        ),
        _project(
            "tbCjWP",
            "B",
            "Improved Forest Management",
            ("Maine, USA", 45.2538, -69.4455),
            {2022: 6000, 2023: 8000},
        ),
        _project(
            "Xk3PqA", "C", "Biochar", ("Queensland, Australia", -20.9176, 142.7028), {2023: 6000, 2024: 6000}
        ),
        _project(
            "m7RtYs", "D", "Landfill Gas", ("Sao Paulo, Brazil", -23.5505, -46.6333), {2021: 4000, 2022: 6000}
        ),
    )
}


def _category(id_: str, letter: str, project_ids: list[str]) -> dict[str, Any]:
    return {
        "id": id_,
        "name": f"Sandbox Project Category {letter}",
        "description": f"Sandbox project category {letter}, for sandbox use only",
        "primary_image_url": None,
        "project_ids": project_ids,
    }


CATEGORIES: Final[dict[str, dict[str, Any]]] = {
    c["id"]: c
    for c in (
        _category("hkgyn3", "A", ["I0UbDH"]),
        _category("9SGM2Q", "B", ["tbCjWP"]),
        _category("Qm4xT7", "C", ["Xk3PqA"]),
        _category("Zr2VdN", "D", ["m7RtYs"]),
    )
}


def _portfolio(id_: str, name: str, fractions: dict[str, float]) -> dict[str, Any]:
    return {
        "id": id_,
        "name": name,
        "summary": SANDBOX_TEXT,
        "description": SANDBOX_TEXT,
        "primary_image_url": None,
        "api_price_per_kg_usd_cents": 2,
        "checkout_price_per_kg_usd_cents": 2,
        "allocations": fractions,
    }


PORTFOLIOS: Final[dict[str, dict[str, Any]]] = {
    p["id"]: p
    for p in (
        _portfolio("oH5hlq", "Sandbox", {"hkgyn3": 0.35, "9SGM2Q": 0.35, "Qm4xT7": 0.2, "Zr2VdN": 0.1}),
        _portfolio(
            "ixmZSK", "Alternative Sandbox", {"hkgyn3": 0.25, "9SGM2Q": 0.25, "Qm4xT7": 0.25, "Zr2VdN": 0.25}
        ),
    )
}
