"""The operation-limit error: a GraphQLError carrying a stable `extensions.code`.

Codes: TOKEN_LIMIT_EXCEEDED, DEPTH_LIMIT_EXCEEDED, ALIAS_LIMIT_EXCEEDED, ROOT_FIELD_LIMIT_EXCEEDED,
PAGE_SIZE_REQUIRED, PAGE_SIZE_EXCEEDED, MAX_COST_EXCEEDED.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError, Node


class LimitExceededError(GraphQLError):
    """An operation asks for more than the gateway allows."""

    def __init__(self, code: str, message: str, nodes: Node | list[Node] | None = None, **extra: Any) -> None:
        super().__init__(message, nodes, extensions={"code": code, **extra})
