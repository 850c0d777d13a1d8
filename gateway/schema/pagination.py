"""Relay connections over the upstream's `limit` / `starting_after` / `ending_before` lists.

- `first`/`after` read `limit=first+1, starting_after=after`; `last`/`before` read
  `limit=last+1, ending_before=before`. The extra item is a look-ahead, because the upstream sends no
  `has_more`: getting it means another page exists. At the upstream's cap (100) the look-ahead cannot
  ride along, so a full page is followed by a one-item probe, and only if the client asks for it.
- `first` and `last` must be 0..100 (the upstream's own cap); with neither, the first 20 items come back
  (the upstream's default). A size of 0 makes no list call; its `hasNextPage`/`hasPreviousPage` probe
  one item, and only if asked. `after` goes with `first` and `before` with `last`; other mixes are rejected.
- `last` without `before` is rejected: the upstream lists newest first and cannot start at the oldest
  end, so "the last N" would cost a walk over the whole list. Page backwards from a cursor instead.
- Items stay newest first in both directions, as upstream. Cursors are opaque (see `gateway.ids`).
- `hasPreviousPage` is true after `after` and `hasNextPage` true before `before`: the cursor's own item
  lies on that side (the upstream rejects unknown cursors).
- A page holds exactly `size` items next to its cursor, fewer only at the end of the list it walks
  towards: `last: N, before: c` is the N items immediately newer than `c`, the newest ones included.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import strawberry

from gateway.ids import InvalidIdError, decode_cursor, encode_cursor
from gateway.schema.errors import GatewayInputError

T = TypeVar("T")
N = TypeVar("N")

UPSTREAM_MAX_LIMIT = 100
DEFAULT_PAGE_SIZE = 20
PAGING_HELP = (
    "Page forwards with `first`/`after` or backwards with `last`/`before` ("
    "`last` needs `before`); `first` or `last` is required, at most 100 per page."
)

Flag = Callable[[], Awaitable[bool]]
FetchPage = Callable[[int, str | None, str | None], Awaitable[Sequence[T]]]
"""fetch(limit, starting_after, ending_before) -> items, newest first."""


async def _true() -> bool:
    return True


async def _false() -> bool:
    return False


def _constant(value: bool) -> Flag:
    return _true if value else _false


@strawberry.type(description="Where a connection page sits in the whole list.")
class PageInfo:
    start_cursor: str | None = strawberry.field(
        description="Cursor of the page's first item (null on an empty page)."
    )
    end_cursor: str | None = strawberry.field(
        description="Cursor of the page's last item (null on an empty page)."
    )
    _has_next: strawberry.Private[Flag]
    _has_previous: strawberry.Private[Flag]

    @strawberry.field(description="Whether more items follow (older ones).")
    async def has_next_page(self) -> bool:
        return await self._has_next()

    @strawberry.field(description="Whether items precede this page (newer ones).")
    async def has_previous_page(self) -> bool:
        return await self._has_previous()


@strawberry.type(description="One item of a connection page with its cursor.")
class Edge(Generic[N]):
    cursor: str = strawberry.field(description="Opaque cursor of this item, for `after`/`before`.")
    node: N = strawberry.field(description="The item.")


@strawberry.type(description="One page of a list, newest first (Relay connection).")
class Connection(Generic[N]):
    edges: list[Edge[N]] = strawberry.field(description="The page's items with their cursors.")
    page_info: PageInfo = strawberry.field(description="Where the page sits in the whole list.")

    @strawberry.field(description="The page's nodes, without cursors.")
    def nodes(self) -> list[N]:
        return [edge.node for edge in self.edges]


@dataclass(frozen=True)
class PageRequest:
    """A validated page request: `size` items after `after`, or before `before` when `backwards`."""

    size: int
    cursor: str | None
    backwards: bool


def _check_size(name: str, value: int) -> int:
    if not 0 <= value <= UPSTREAM_MAX_LIMIT:
        raise GatewayInputError(f"`{name}` must be between 0 and {UPSTREAM_MAX_LIMIT}.", [name])
    return value


def _cursor(name: str, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return decode_cursor(value)
    except InvalidIdError:
        raise GatewayInputError(f"`{name}` is not a cursor of this connection.", [name]) from None


def page_request(first: int | None, after: str | None, last: int | None, before: str | None) -> PageRequest:
    """Validate Relay pagination arguments (see the module docstring for the rules)."""
    if last is not None or before is not None:
        if first is not None or after is not None:
            raise GatewayInputError(
                "Page forwards (`first`/`after`) or backwards (`last`/`before`), not both."
            )
        if before is None:
            raise GatewayInputError(
                "`last` needs `before`: the list is newest first and cannot be read from its oldest end; "
                "use `first` for the newest items.",
                ["before"],
            )
        size = DEFAULT_PAGE_SIZE if last is None else _check_size("last", last)
        return PageRequest(size, _cursor("before", before), True)
    size = DEFAULT_PAGE_SIZE if first is None else _check_size("first", first)
    return PageRequest(size, _cursor("after", after), False)


async def fetch_connection(
    request: PageRequest,
    fetch: FetchPage[T],
    id_of: Callable[[T], str],
    convert: Callable[[T], N],
) -> Connection[N]:
    """Fetch one page through `fetch` and wrap it as a connection of `convert(item)`."""
    if request.backwards:
        page, has_next, has_previous = await _backwards(request, fetch, id_of)
    else:
        page, has_next, has_previous = await _forwards(request, fetch, id_of)
    edges = [Edge(cursor=encode_cursor(id_of(item)), node=convert(item)) for item in page]
    info = PageInfo(
        start_cursor=edges[0].cursor if edges else None,
        end_cursor=edges[-1].cursor if edges else None,
        _has_next=has_next,
        _has_previous=has_previous,
    )
    return Connection(edges=edges, page_info=info)


async def _forwards(
    request: PageRequest, fetch: FetchPage[T], id_of: Callable[[T], str]
) -> tuple[list[T], Flag, Flag]:
    """`size` items after the cursor (+1 look-ahead): (page, hasNextPage, hasPreviousPage)."""
    limit = min(request.size + 1, UPSTREAM_MAX_LIMIT)
    items = list(await fetch(limit, request.cursor, None)) if request.size else []
    page = items[: request.size]
    more = _more(len(items), request, lambda: fetch(1, id_of(page[-1]) if page else request.cursor, None))
    return page, more, _constant(request.cursor is not None)


async def _backwards(
    request: PageRequest, fetch: FetchPage[T], id_of: Callable[[T], str]
) -> tuple[list[T], Flag, Flag]:
    """`size` items before the cursor (+1 look-ahead, the newest): (page, hasNextPage, hasPreviousPage)."""
    limit = min(request.size + 1, UPSTREAM_MAX_LIMIT)
    items = list(await fetch(limit, None, request.cursor)) if request.size else []
    # The look-ahead is the newest item, at the front; with fewer than `size` items left there is none.
    page = items[max(0, len(items) - request.size) :] if request.size else []
    more = _more(len(items), request, lambda: fetch(1, None, id_of(page[0]) if page else request.cursor))
    return page, _constant(True), more


def _more(received: int, request: PageRequest, probe: Callable[[], Awaitable[Sequence[object]]]) -> Flag:
    """Whether items lie beyond the page: known from the look-ahead, else (at the cap) a lazy probe."""
    if received > request.size:
        return _true
    if request.size and (received < request.size or request.size < UPSTREAM_MAX_LIMIT):
        return _false

    async def probed() -> bool:
        return len(await probe()) > 0

    return probed
