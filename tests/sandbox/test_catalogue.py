"""The seeded catalogue: the former official sandbox's portfolios, categories and projects."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.sandbox.sandbox_helpers import assert_problem

SANDBOX_TEXT = "This portfolio is for sandbox use only and does not represent any real projects"


async def test_portfolio_list(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/portfolios")
    assert response.status_code == 200
    data = response.json()["data"]
    assert [(p["id"], p["name"]) for p in data] == [("oH5hlq", "Sandbox"), ("ixmZSK", "Alternative Sandbox")]
    for portfolio in data:
        assert set(portfolio) == {"id", "name", "summary", "description", "primary_image_url"}
        assert portfolio["summary"] == portfolio["description"] == SANDBOX_TEXT
        assert portfolio["primary_image_url"] is None


@pytest.mark.parametrize("portfolio_id", ["oH5hlq", "ixmZSK"])
async def test_portfolio_details(client: httpx.AsyncClient, portfolio_id: str) -> None:
    portfolio = (await client.get(f"/v1/portfolios/{portfolio_id}")).json()
    assert portfolio["api_price_per_kg_usd_cents"] == portfolio["checkout_price_per_kg_usd_cents"] == 2
    allocations = portfolio["category_allocations"]
    assert len(allocations) == 4
    assert sum(a["allocated_fraction"] for a in allocations) == pytest.approx(1.0)
    names = [a["category"]["name"] for a in allocations]
    assert names == [f"Sandbox Project Category {x}" for x in "ABCD"]
    category_a = allocations[0]["category"]
    assert category_a["id"] == "hkgyn3"
    assert [p["id"] for p in category_a["projects"]] == ["I0UbDH"]


async def test_sandbox_portfolio_fractions_reproduce_the_fixture_split(client: httpx.AsyncClient) -> None:
    portfolio = (await client.get("/v1/portfolios/oH5hlq")).json()
    assert [a["allocated_fraction"] for a in portfolio["category_allocations"]] == [0.35, 0.35, 0.2, 0.1]


async def test_project_i0ubdh_matches_the_sdk_fixture(client: httpx.AsyncClient) -> None:
    project = (await client.get("/v1/projects/I0UbDH")).json()
    assert project["name"] == "Sandbox Project A"
    assert project["type"] == "Reforestation"
    assert project["developer"] == "Sandbox Project Developer"
    assert project["location_name"] == "Pacific Northwest, USA"
    assert (project["location_latitude"], project["location_longitude"]) == (47.6062, -122.3321)
    assert project["un_sdg_goals"] == [1, 4, 6]
    assert project["activity_types"] == ["Reforestation", "Improved Forest Management"]
    assert project["impact_type"] == "Removal"
    assert project["methodology"] == "Verified Carbon Standard (VCS)"
    assert project["verifier"] == "Sandbox Verification Services"
    assert project["permanence"] == "100+ years"
    assert project["lifetime"] == {"start_year": 2022, "end_year": 2052}
    assert (project["registry_name"], project["registry_id"], project["registry_url"]) == ("None", None, None)
    assert project["credit_issuances"] == [
        {"vintage_year": 2022, "total_amount": 5000},
        {"vintage_year": 2023, "total_amount": 7500},
        {"vintage_year": 2024, "total_amount": 10000},
    ]


async def test_every_catalogue_id_has_the_documented_format(client: httpx.AsyncClient) -> None:
    for portfolio in (await client.get("/v1/portfolios")).json()["data"]:
        details = (await client.get(f"/v1/portfolios/{portfolio['id']}")).json()
        for allocation in details["category_allocations"]:
            category = allocation["category"]
            assert re.fullmatch(r"[A-Za-z0-9]{6}", category["id"])
            fetched = (await client.get(f"/v1/project-categories/{category['id']}")).json()
            assert fetched == category
            for project in category["projects"]:
                assert re.fullmatch(r"[A-Za-z0-9]{6}", project["id"])
                full = (await client.get(f"/v1/projects/{project['id']}")).json()
                assert {k: v for k, v in full.items() if k != "credit_issuances"} == project
                assert full["credit_issuances"]


async def test_category_details(client: httpx.AsyncClient) -> None:
    category = (await client.get("/v1/project-categories/hkgyn3")).json()
    assert set(category) == {"id", "name", "description", "primary_image_url", "projects"}
    assert category["name"] == "Sandbox Project Category A"
    assert len(category["projects"]) == 1


@pytest.mark.parametrize(
    ("path", "title"),
    [
        ("/v1/portfolios/nope00", "Could not find portfolio"),
        ("/v1/projects/nope00", "Could not find project"),
        ("/v1/project-categories/nope00", "Could not find project category"),
    ],
)
async def test_unknown_ids_are_not_found(client: httpx.AsyncClient, path: str, title: str) -> None:
    assert assert_problem(await client.get(path), 404, "not-found")["title"] == title
