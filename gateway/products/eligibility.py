"""Which orders may back a product batch: found, fulfilled, and the caller's subaccount's own.

Every order id is checked before anything is sent, and every refusal is reported (not just the first), each
at its input path (`["input", "orderIds", "<index>"]`), so the caller can fix the whole batch in one go.
An order of another subaccount is refused even when the account-level key can read it: a batch evidences
one supplier's purchases, and a subaccount-bound caller must never cite another tenant's orders.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from gateway.backend.errors import NotFoundError
from gateway.backend.models import Order, OrderState
from gateway.products.validation import FieldProblem, check_count

__all__ = ["MAX_ORDERS", "check_order_ids", "eligible_orders"]

MAX_ORDERS = 100


def check_order_ids(order_ids: Sequence[str]) -> list[FieldProblem]:
    """Problems with the list itself: empty, too long, or naming an order twice."""
    too_few_or_many = check_count(
        order_ids, ("input", "orderIds"), MAX_ORDERS, "give at least one order id", "orders per batch"
    )
    if too_few_or_many:
        return too_few_or_many
    seen: set[str] = set()
    problems = []
    for index, order_id in enumerate(order_ids):
        if order_id in seen:
            problems.append(_problem(index, "INVALID_INPUT", f"order {order_id} is listed twice"))
        seen.add(order_id)
    return problems


async def eligible_orders(
    load: Callable[[str], Awaitable[Order]], order_ids: Sequence[str], subaccount_id: str | None
) -> tuple[list[Order], list[FieldProblem]]:
    """Load the orders (concurrently) and return them with every reason one of them cannot be used."""
    loaded = await asyncio.gather(*(load(order_id) for order_id in order_ids), return_exceptions=True)
    orders: list[Order] = []
    problems: list[FieldProblem] = []
    for index, (order_id, result) in enumerate(zip(order_ids, loaded, strict=True)):
        if isinstance(result, NotFoundError):
            problems.append(_problem(index, "NOT_FOUND", f"order {order_id} was not found"))
        elif isinstance(result, BaseException):
            raise result
        else:
            problems.extend(_refusals(index, result, subaccount_id))
            orders.append(result)
    return orders, problems


def _refusals(index: int, order: Order, subaccount_id: str | None) -> list[FieldProblem]:
    problems = []
    if order.subaccount_id != subaccount_id:
        owner = "the main account" if subaccount_id is None else f"subaccount {subaccount_id}"
        problems.append(
            _problem(index, "ORDER_NOT_IN_SUBACCOUNT", f"order {order.id} does not belong to {owner}")
        )
    if order.state is not OrderState.FULFILLED:
        problems.append(
            _problem(index, "ORDER_NOT_FULFILLED", f"order {order.id} is {order.state.value}, not fulfilled")
        )
    return problems


def _problem(index: int, code: str, message: str) -> FieldProblem:
    return FieldProblem(("input", "orderIds", str(index)), code, message)
