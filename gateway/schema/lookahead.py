"""Lookahead: does the operation select a nested field path under the field being resolved?

A list resolver uses it to fetch what its items link to in one wave before returning (see
`orders.prefetch_links`), so the nested fields find their data in hand and resolve synchronously - no
asyncio task per list item. Fragments are followed; a selection under ``@skip``/``@include`` that leaves
it out does not count, so nothing is fetched that the response will not hold.
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterable, Sequence
from typing import Any, TypeAlias, TypeVar

from strawberry.types.nodes import SelectedField, Selection

from gateway.context import GatewayInfo

T = TypeVar("T")
#: What a resolver returns that answers synchronously when its data is in hand, else an awaitable (its
#: GraphQL type is then given with ``strawberry.field(graphql_type=...)``).
MaybeAwaitable: TypeAlias = T | Awaitable[T]


def selects(info: GatewayInfo, path: Sequence[str]) -> bool:
    """True when the current field selects `path` (GraphQL field names, e.g. ``("edges", "node", "x")``)."""
    return any(_under(field.selections, path) for field in info.selected_fields if _included(field))


def _under(selections: Iterable[Selection], path: Sequence[str]) -> bool:
    if not path:
        return True
    for selection in selections:
        if not _included(selection):
            continue
        if isinstance(selection, SelectedField):
            if selection.name == path[0] and _under(selection.selections, path[1:]):
                return True
        elif _under(selection.selections, path):  # an inline fragment or a fragment spread
            return True
    return False


def _included(selection: Any) -> bool:
    directives = getattr(selection, "directives", None) or {}
    skip = directives.get("skip", {}).get("if") is True
    include = directives.get("include", {}).get("if", True) is not False
    return include and not skip
