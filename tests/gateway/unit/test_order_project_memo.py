"""One `Project` per distinct upstream project on a page of orders; the answer is unchanged."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from gateway.backend import models
from gateway.masking import MaskInternalErrors
from gateway.schema import build_schema
from gateway.schema.catalogue import Project
from gateway.schema.orders import Order, ProjectMemo
from tests.gateway.unit.schema_fakes import FakeUpstream, context_for, order, subaccount

QUERY = (
    "{ orders(first: 50) { edges { node { id projectAllocations { amountKg"
    " project { id name registryId creditIssuances { vintageYear } } } } } } }"
)


def _orders() -> list[dict[str, Any]]:
    # 12 orders x 3 allocations over 4 distinct projects.
    return [order(f"o{n}", "s0", [f"p{n % 4}", f"p{(n + 1) % 4}", f"p{(n + 2) % 4}"]) for n in range(12)]


def test_one_memo_shares_projects_and_converts_the_same_fields() -> None:
    orders = [models.Order.model_validate(o) for o in _orders()]
    memo: ProjectMemo = {}
    shared = [Order.from_backend(o, memo) for o in orders]
    plain = [Order.from_backend(o) for o in orders]
    assert memo == {}  # allocations are converted when first asked for
    projects = [a.project for o in shared for a in o.allocations()]
    assert sorted(memo) == ["p0", "p1", "p2", "p3"]
    assert len(projects) == 36 and len({id(p) for p in projects}) == 4
    assert all(memo[p.upstream_id] is p for p in projects)
    plain_projects = [a.project for o in plain for a in o.allocations()]
    assert len({id(p) for p in plain_projects}) == 36  # without a memo: one each, as before
    assert [vars(p) for p in projects] == [vars(p) for p in plain_projects]


async def test_orders_page_converts_each_distinct_project_once(monkeypatch: pytest.MonkeyPatch) -> None:
    upstream = FakeUpstream(orders=_orders(), subaccounts={"s0": subaccount("s0")})
    calls: list[str] = []
    convert = Project.from_backend.__func__  # type: ignore[attr-defined]

    def counting(cls: type[Project], project: models.Project) -> Project:
        calls.append(project.id)
        result: Project = convert(cls, project)
        return result

    monkeypatch.setattr(Project, "from_backend", classmethod(counting))
    async with httpx.AsyncClient(transport=upstream.transport()) as http:
        context = await context_for(upstream, http)
        result = await build_schema(extensions=[MaskInternalErrors]).execute(QUERY, context_value=context)
    assert result.errors is None and result.data is not None
    edges = result.data["orders"]["edges"]
    assert len(edges) == 12
    allocations = [a for e in edges for a in e["node"]["projectAllocations"]]
    assert len(allocations) == 36
    assert sorted(calls) == ["p0", "p1", "p2", "p3"]
    assert {a["project"]["creditIssuances"][0]["vintageYear"] for a in allocations} == {2020}
    assert upstream.count("GET", "/v1/projects/") == 4
