"""A tiny in-memory offsets API behind `httpx.MockTransport`, for loader and schema unit tests.

It records every request (`FakeUpstream.requests`) so tests can count upstream calls, and can answer any
path with a canned error (`FakeUpstream.fail(path, status, body)`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import SecretStr

from gateway.backend import OffsetsClient, RetryPolicy
from gateway.config import Settings
from gateway.context import GatewayContext, build_context
from gateway.loaders import CatalogueCache

BASE = "https://api.example.test/v1"
KEY = "sk_unit_schema"


def project(pid: str, **extra: Any) -> dict[str, Any]:
    return {"id": pid, "name": f"Project {pid}", "type": "Reforestation", "un_sdg_goals": [13], **extra}


def order(oid: str, subaccount: str | None, projects: list[str], state: str = "fulfilled") -> dict[str, Any]:
    return {
        "id": oid,
        "order_number": f"n-{oid}",
        "created_on": "2024-05-01T10:00:00.000000Z",
        "amount_kg": 10.0,
        "state": state,
        "price_usd_cents": 20,
        "subaccount_id": subaccount,
        "project_allocations": [
            {"project": project(p), "amount_kg": 10.0 / len(projects), "retirements": []} for p in projects
        ],
    }


def subaccount(sid: str) -> dict[str, Any]:
    return {
        "id": sid,
        "created_on": "2024-01-01T00:00:00Z",
        "name": f"Sub {sid}",
        "default_portfolio_id": "pf1",
    }


def category(cid: str, projects: list[str]) -> dict[str, Any]:
    return {"id": cid, "name": f"Category {cid}", "projects": [project(p) for p in projects]}


def portfolio(pid: str) -> dict[str, Any]:
    return {
        "id": pid,
        "name": f"Portfolio {pid}",
        "api_price_per_kg_usd_cents": 2,
        "checkout_price_per_kg_usd_cents": 2,
        "category_allocations": [
            {"allocated_fraction": 0.5, "category": category("c1", ["p1"])},
            {"allocated_fraction": 0.5, "category": category("c2", ["p2", "p3"])},
        ],
    }


@dataclass
class FakeUpstream:
    """In-memory data plus request recording; `transport()` serves it."""

    orders: list[dict[str, Any]] = field(default_factory=list)  # newest first
    subaccounts: dict[str, dict[str, Any]] = field(default_factory=dict)
    portfolios: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)
    failures: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)

    def fail(self, path: str, status: int, body: dict[str, Any]) -> None:
        self.failures[path] = (status, body)

    def count(self, method: str, prefix: str) -> int:
        return sum(1 for r in self.requests if r.method == method and r.url.path.startswith(prefix))

    def paths(self) -> list[str]:
        return [f"{r.method} {r.url.path.removeprefix('/v1')}" for r in self.requests]

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self._handle)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path.removeprefix("/v1")
        if path in self.failures:
            status, body = self.failures[path]
            return httpx.Response(status, json=body, headers={"content-type": "application/problem+json"})
        parts = path.strip("/").split("/")
        return self._route(request, parts)

    def _route(self, request: httpx.Request, parts: list[str]) -> httpx.Response:
        if parts == ["orders"] and request.method == "GET":
            return httpx.Response(200, json={"data": self._page(request)})
        if parts == ["orders"] and request.method == "POST":
            return self._create_order(request)
        if len(parts) == 2:
            found = self._lookup(parts[0], parts[1])
            return httpx.Response(200, json=found) if found else _not_found()
        if parts == ["portfolios"]:
            return httpx.Response(
                200, json={"data": [{"id": p["id"], "name": p["name"]} for p in self.portfolios.values()]}
            )
        return _not_found()

    def _lookup(self, kind: str, key: str) -> dict[str, Any] | None:
        if kind == "orders":
            return next((o for o in self.orders if o["id"] == key), None)
        if kind == "subaccounts":
            return self.subaccounts.get(key)
        if kind == "projects":
            return project(key, credit_issuances=[{"vintage_year": 2020, "total_amount": 5}])
        if kind == "project-categories":
            return category(key, ["p1"])
        if kind == "portfolios":
            return self.portfolios.get(key)
        return None

    def _page(self, request: httpx.Request) -> list[dict[str, Any]]:
        items = [o for o in self.orders if _matches(o, request.headers.get("x-subaccount-id"))]
        ids = [o["id"] for o in items]
        limit = int(request.url.params.get("limit", "20"))
        after, before = request.url.params.get("starting_after"), request.url.params.get("ending_before")
        if after:
            return items[ids.index(after) + 1 :][:limit]
        if before:
            end = ids.index(before)
            return items[max(0, end - limit) : end]
        return items[:limit]

    def _create_order(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        created = order(f"new{len(self.orders)}", request.headers.get("x-subaccount-id"), [], state="placed")
        created["amount_kg"] = body.get("amount_kg", 1.0)
        self.orders.insert(0, created)
        return httpx.Response(201, json=created)


def _matches(item: dict[str, Any], subaccount_id: str | None) -> bool:
    return subaccount_id is None or item.get("subaccount_id") == subaccount_id


def _not_found() -> httpx.Response:
    problem = {
        "type": "https://api.cnaught.com/v1/errors/not-found",
        "title": "Could not find it",
        "status": 404,
    }
    return httpx.Response(404, json=problem)


def settings(**fields: Any) -> Settings:
    return Settings(upstream_url=BASE, upstream_api_key=SecretStr(KEY), **fields)


def client(upstream: FakeUpstream, http: httpx.AsyncClient) -> OffsetsClient:
    return OffsetsClient(http, base_url=BASE, api_key=KEY, retry=RetryPolicy(max_attempts=1))


async def context_for(
    upstream: FakeUpstream, http: httpx.AsyncClient, *, cache: CatalogueCache | None = None, **fields: Any
) -> GatewayContext:
    return await build_context(
        None, None, client=client(upstream, http), settings=settings(**fields), catalogue_cache=cache
    )


def ids(items: Iterator[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in items]
