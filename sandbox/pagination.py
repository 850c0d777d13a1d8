"""Cursor pagination of the list endpoints (orders, subaccounts; reference section 7).

Lists are newest first. ``limit`` is 1..100 (default 20). ``starting_after=X`` gives the ``limit`` items
right after X in list order (older ones); ``ending_before=X`` the ``limit`` items right before X (the newer
ones nearest X), still newest first. Bounds are exclusive. Both cursors, or a cursor that is not an item of
the (scoped) list, is 400 ``invalid-pagination``; a bad ``limit`` is 400 ``invalid-parameters``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from starlette.datastructures import QueryParams

from sandbox.problems import invalid_field, invalid_pagination

T = TypeVar("T")

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


@dataclass(frozen=True, slots=True)
class Page:
    """The validated pagination parameters of a request."""

    limit: int = DEFAULT_LIMIT
    starting_after: str | None = None
    ending_before: str | None = None


def parse_page(query: QueryParams) -> Page:
    """Read ``limit``, ``starting_after`` and ``ending_before``, or raise a 400 problem."""
    starting_after = query.get("starting_after") or None
    ending_before = query.get("ending_before") or None
    if starting_after and ending_before:
        raise invalid_pagination("Only one of starting_after and ending_before can be specified")
    return Page(_parse_limit(query.get("limit")), starting_after, ending_before)


def _parse_limit(raw: str | None) -> int:
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    try:
        limit = int(raw)
    except ValueError:
        raise invalid_field("limit", "The value is not a valid integer.") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise invalid_field("limit", f"The field limit must be between 1 and {MAX_LIMIT}.")
    return limit


def paginate(newest_first: Sequence[T], page: Page, key: Callable[[T], str]) -> list[T]:
    """The page of `newest_first` that `page` asks for."""
    if page.starting_after is not None:
        start = _position(newest_first, page.starting_after, key) + 1
        return list(newest_first[start : start + page.limit])
    if page.ending_before is not None:
        end = _position(newest_first, page.ending_before, key)
        return list(newest_first[max(0, end - page.limit) : end])
    return list(newest_first[: page.limit])


def _position(items: Sequence[T], cursor: str, key: Callable[[T], str]) -> int:
    for index, item in enumerate(items):
        if key(item) == cursor:
            return index
    raise invalid_pagination(f"No item with id {cursor!r} in this list")
