"""Check batch records before they are sent, reporting problems by their GraphQL input path.

The rules are the platform's (see `sandbox.products`: string lengths, finite non-negative quantities,
ISO 4217 codes, date-times with a UTC offset, absolute http(s) links, vintage end not before its start), so a
caller learns about a bad field from the gateway, with the path of the input field that holds it
(`["input", "batches", "0", "offsetProjects", "1", "offsetQuantity"]`), instead of a platform 400.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence, Sized
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from urllib.parse import urlsplit

from gateway.products.models import BatchRecord, ProjectRecord, currency_digits

__all__ = [
    "MAX_BATCHES",
    "FieldProblem",
    "camel",
    "check_batches",
    "check_count",
    "check_product_id",
    "wire_path_to_input",
]

MAX_BATCHES = 100
MAX_PROJECTS = 200
_LIMITS = {"comment": 2000, "offset_serial_number": 4096, "offset_provider_order_id": 4096}
_URL_FIELDS = ("certificate_link", "project_url", "offset_retirement_url")
_REQUIRED_TEXT = ("batch_number", "offset_unit", "offset_provider", "offset_quantity_unit")
_NUMBERS = ("offset_total", "offset_quantity", "offset_price")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


@dataclass(frozen=True)
class FieldProblem:
    """One invalid input field: its path, a stable code and a message."""

    field: tuple[str, ...]
    code: str
    message: str


def camel(name: str) -> str:
    """A snake_case Python field name as its GraphQL (camelCase) name."""
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def check_count(
    items: Sized, path: tuple[str, ...], maximum: int, empty: str, per: str
) -> list[FieldProblem]:
    """An input list that is empty (message `empty`) or longer than `maximum` ("at most N `per`")."""
    if not items:
        return [FieldProblem(path, "INVALID_INPUT", empty)]
    if len(items) > maximum:
        return [FieldProblem(path, "INVALID_INPUT", f"at most {maximum} {per}")]
    return []


def check_product_id(product_id: str) -> list[FieldProblem]:
    """Problems with a product id (non-empty, at most 128 characters, not a dot segment)."""
    if product_id in (".", ".."):
        # A URL path segment of "." or ".." is resolved away by URL normalisation, so the request would
        # reach another path of the platform (with the gateway's token) instead of this product's.
        return [FieldProblem(("input", "productId"), "INVALID_INPUT", "productId must not be '.' or '..'")]
    if 0 < len(product_id.strip()) <= 128:
        return []
    return [FieldProblem(("input", "productId"), "INVALID_INPUT", "productId must be 1 to 128 characters")]


def check_batches(batches: Sequence[BatchRecord]) -> list[FieldProblem]:
    """Every problem with `batches`, each with its path under `input.batches`."""
    too_few_or_many = check_count(
        batches, ("input", "batches"), MAX_BATCHES, "give at least one batch", "batches per call"
    )
    if too_few_or_many:
        return too_few_or_many
    problems: list[FieldProblem] = []
    for index, batch in enumerate(batches):
        problems.extend(_check_batch(batch, ("input", "batches", str(index))))
    return problems


def _check_batch(batch: BatchRecord, path: tuple[str, ...]) -> Iterator[FieldProblem]:
    yield from _check_fields(batch, path)
    if batch.offset_price_unit is not None and not _CURRENCY.match(batch.offset_price_unit):
        yield _problem((*path, "offsetPrice", "currencyCode"), "must be an ISO 4217 code such as USD")
    elif batch.offset_price is not None and batch.offset_price_unit is not None:
        yield from _check_price_decimals(batch.offset_price, batch.offset_price_unit, path)
    if len(batch.offset_projects) > MAX_PROJECTS:
        yield _problem((*path, "offsetProjects"), f"at most {MAX_PROJECTS} projects per batch")
    for index, project in enumerate(batch.offset_projects):
        yield from _check_project(project, (*path, "offsetProjects", str(index)))


def _check_price_decimals(price: float, currency: str, path: tuple[str, ...]) -> Iterator[FieldProblem]:
    places = currency_digits(currency)
    exponent = Decimal(repr(price)).normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -places:
        yield _problem(
            (*path, "offsetPrice", "amount"), f"must have at most {places} decimal places in {currency}"
        )


def _check_project(project: ProjectRecord, path: tuple[str, ...]) -> Iterator[FieldProblem]:
    yield from _check_fields(project, path)
    start, end = project.offset_vintage_start, project.offset_vintage_end
    if start and end and start.tzinfo and end.tzinfo and end < start:
        yield _problem((*path, "offsetVintageEnd"), "must not be before offsetVintageStart")


def _check_fields(record: BatchRecord | ProjectRecord, path: tuple[str, ...]) -> Iterator[FieldProblem]:
    for name, value in record:
        message = _field_message(name, value)
        if message:
            where = ("offsetPrice", "amount") if name == "offset_price" else (camel(name),)
            yield _problem(path + where, message)


def _field_message(name: str, value: object) -> str | None:
    if name in _NUMBERS and isinstance(value, float | int):
        return None if math.isfinite(value) and value >= 0 else "must be a finite, non-negative number"
    if isinstance(value, datetime):
        return None if value.tzinfo is not None else "must carry a UTC offset, e.g. 2024-05-01T00:00:00Z"
    if not isinstance(value, str):
        return None
    if name in _REQUIRED_TEXT and not value.strip():
        return "must not be empty"
    if len(value) > _LIMITS.get(name, 512):
        return f"must be at most {_LIMITS.get(name, 512)} characters"
    if name in _URL_FIELDS and not all(_is_url(part) for part in value.split(" ")):
        return "must be absolute http(s) URLs separated by single spaces"
    return None


def _is_url(text: str) -> bool:
    parts = urlsplit(text)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _problem(path: tuple[str, ...], message: str) -> FieldProblem:
    return FieldProblem(path, "INVALID_INPUT", f"{path[-1]} {message}")


_WIRE_SEGMENT = re.compile(r"\[(\d+)\]|\.?([A-Za-z]+)")
_WIRE_TO_INPUT = {
    "offsetProviderOrderID": "offsetProviderOrderId",
    "projectID": "projectId",
    "projectURL": "projectUrl",
}


def wire_path_to_input(wire_path: str, prefix: tuple[str, ...] = ("input", "batches")) -> tuple[str, ...]:
    """A platform error path (`[0].offsetProjects[1].offsetQuantity`) as a GraphQL input path."""
    parts: list[str] = []
    for index, name in _WIRE_SEGMENT.findall(wire_path):
        part = index or name
        part = _WIRE_TO_INPUT.get(part, part.replace("ID", "Id"))
        parts.append(part)
    return prefix + tuple(parts)
