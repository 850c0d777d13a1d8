"""A small Relay-shaped schema for unit tests of the guard, limits and cost (independent of the product)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import strawberry
from starlette.responses import Response
from strawberry.extensions import AddValidationRules

from gateway.auth.principal import ALL_SCOPES, Principal
from gateway.operation_limits.rules import limit_rules
from gateway.ratelimit import CostRateLimiter
from gateway.security.guard import GuardConfig, OperationGuard


@strawberry.type
class Subaccount:
    id: str
    name: str


@strawberry.type
class Allocation:
    id: str

    @strawberry.field
    def owner(self) -> Subaccount:
        return Subaccount(id="o", name="O")


@strawberry.type
class Detail:
    note: str


@strawberry.type
class Order:
    id: str
    details: list[Detail]  # plain data the parent already holds: costs nothing

    @strawberry.field
    def subaccount(self) -> Subaccount | None:
        return Subaccount(id="s", name="S")

    @strawberry.field
    def allocations(self) -> list[Allocation]:
        return [Allocation(id="a")]


@strawberry.type
class PageInfo:
    has_next_page: bool


@strawberry.type
class OrderEdge:
    node: Order
    cursor: str


@strawberry.type
class OrderConnection:
    edges: list[OrderEdge]
    page_info: PageInfo


def _order(number: int) -> Order:
    return Order(id=str(number), details=[Detail(note="n")])


@strawberry.input
class PlaceOrderInput:
    amount_kg: float
    subaccount_id: str | None = None


@strawberry.type
class Query:
    @strawberry.field
    def orders(
        self, first: int | None = None, last: int | None = None, subaccount_id: str | None = None
    ) -> OrderConnection:
        count = min(first or last or 0, 3)
        edges = [OrderEdge(node=_order(n), cursor=str(n)) for n in range(count)]
        return OrderConnection(edges=edges, page_info=PageInfo(has_next_page=False))

    @strawberry.field
    def order(self, id: str) -> Order | None:
        return _order(int(id)) if id.isdigit() else None

    @strawberry.field
    def portfolios(self) -> list[Subaccount]:
        return [Subaccount(id="p1", name="P1")]

    @strawberry.field
    def hello(self, name: str = "x") -> str:
        return name


@strawberry.type
class Mutation:
    @strawberry.mutation
    def place_order(self, input: PlaceOrderInput) -> Order:
        return _order(1)

    @strawberry.mutation
    def create_subaccount(self, name: str) -> Subaccount:
        return Subaccount(id="new", name=name)


@dataclass
class Ctx:
    principal: Principal = field(default_factory=lambda: Principal("test", ALL_SCOPES))
    response: Response = field(default_factory=Response)


def toy_schema(limiter: CostRateLimiter | None = None, **limits: Any) -> strawberry.Schema:
    config = GuardConfig(max_tokens=limits.pop("max_tokens", 2000), max_cost=limits.pop("max_cost", 2000))
    rules = limit_rules(
        max_depth=limits.get("max_depth", 12),
        max_aliases=limits.get("max_aliases", 30),
        max_root_fields=limits.get("max_root_fields", 10),
    )
    return strawberry.Schema(
        Query,
        Mutation,
        extensions=[
            lambda: AddValidationRules(rules),
            lambda: OperationGuard(config=config, limiter=limiter),
        ],
    )
