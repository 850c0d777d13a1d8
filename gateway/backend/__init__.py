"""Typed async client for the offsets REST API (CNaught v1).

`OffsetsClient` has one method per endpoint; payloads are the pydantic models of `models`; failures raise the
tree of `errors`. The HTTP details (auth, retries, idempotency keys, timeouts) live in the private `_http`.
"""

from gateway.backend import errors, models
from gateway.backend._http import RequestEvent, RetryPolicy
from gateway.backend.client import CallOptions, OffsetsClient, Result
from gateway.backend.errors import (
    BackendConnectionError,
    BackendDecodeError,
    BackendError,
    BackendStatusError,
    BackendTimeoutError,
    BadRequestError,
    ConflictError,
    ForbiddenError,
    IdempotencyConflictError,
    IdempotencyKeyTooLongError,
    IdempotencyPayloadMismatchError,
    InvalidPaginationError,
    InvalidParametersError,
    InvalidSubaccountError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    UnauthorizedError,
    UnprocessableEntityError,
)

__all__ = [
    "BackendConnectionError",
    "BackendDecodeError",
    "BackendError",
    "BackendStatusError",
    "BackendTimeoutError",
    "BadRequestError",
    "CallOptions",
    "ConflictError",
    "ForbiddenError",
    "IdempotencyConflictError",
    "IdempotencyKeyTooLongError",
    "IdempotencyPayloadMismatchError",
    "InvalidPaginationError",
    "InvalidParametersError",
    "InvalidSubaccountError",
    "NotFoundError",
    "OffsetsClient",
    "RateLimitedError",
    "RequestEvent",
    "Result",
    "RetryPolicy",
    "ServerError",
    "UnauthorizedError",
    "UnprocessableEntityError",
    "errors",
    "models",
]
