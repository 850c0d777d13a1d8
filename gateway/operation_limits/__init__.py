"""Operation limits: depth, aliases, tokens, root fields, page sizes and static cost, before execution."""

from gateway.operation_limits.errors import LimitExceededError

__all__ = ["LimitExceededError"]
