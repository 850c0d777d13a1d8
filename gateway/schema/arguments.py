"""Documented argument types that several fields share: Relay paging, the subaccount, a period, an id."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry

from gateway.schema.scalars import DateTime

First = Annotated[
    int | None, strawberry.argument(description="Page forwards: this many items (0..100) after `after`.")
]
After = Annotated[
    str | None, strawberry.argument(description="Cursor (`endCursor` of a page) to read forwards from.")
]
Last = Annotated[
    int | None, strawberry.argument(description="Page backwards: this many items (0..100) before `before`.")
]
Before = Annotated[
    str | None, strawberry.argument(description="Cursor (`startCursor` of a page) to read backwards from.")
]
SubaccountIdArg = Annotated[
    strawberry.ID | None,
    strawberry.argument(
        description="Act within this subaccount (global or upstream id; default: the main account)."
    ),
]
From = Annotated[
    DateTime | None,
    strawberry.argument(name="from", description="Start of the period (default: when the account started)."),
]
To = Annotated[DateTime | None, strawberry.argument(description="End of the period (default: now).")]


def id_argument(what: str) -> Any:
    """The `id` argument of a field fetching one `what` (a global id of its type or a plain upstream id)."""
    return strawberry.argument(description=f"The {what}: its global `id` or its `upstreamId`.")


def input_argument(what: str) -> Any:
    """The `input` argument of a mutation."""
    return strawberry.argument(description=what)
