"""The backend client's one error tree, and the mapping from upstream responses to it.

Every failure of a call to the offsets REST API raises a subclass of `BackendError`::

    BackendError
    ├── BackendConnectionError              the request got no HTTP answer
    │   └── BackendTimeoutError             ... because a timeout expired
    ├── BackendDecodeError                  a 2xx answer that is not the documented JSON
    └── BackendStatusError                  a non-2xx answer (with its RFC 7807 problem details)
        ├── BadRequestError (400)
        │   ├── InvalidParametersError      .../errors/invalid-parameters
        │   ├── InvalidPaginationError      .../errors/invalid-pagination
        │   ├── InvalidSubaccountError      .../errors/invalid-subaccount
        │   └── IdempotencyKeyTooLongError  .../errors/idempotency-key-too-long
        ├── UnauthorizedError (401)
        ├── ForbiddenError (403)            .../errors/forbidden
        ├── NotFoundError (404)             .../errors/not-found
        ├── ConflictError (409)
        │   └── IdempotencyConflictError    .../errors/idempotency-concurrent-requests
        ├── UnprocessableEntityError (422)
        │   └── IdempotencyPayloadMismatchError  .../errors/idempotency-changed-payload
        ├── RateLimitedError (429)
        └── ServerError (5xx)

`error_from_response` picks the class from the problem `type` URI first (matched on its last path segment,
so a stand-in on another host maps the same way) and from the HTTP status second.

Each class has two class attributes for the layers above: `code`, the stable GraphQL error code, and
`http_status`, the status the gateway itself answers with when the failure must become an HTTP error.

Messages and reprs carry the method, the path (relative to the base URL, without query) and the problem's
title/detail - never the base URL, its userinfo, headers or the API key.
"""

from __future__ import annotations

import datetime
import email.utils
import time
from collections.abc import Mapping
from typing import Any, ClassVar

import httpx
import orjson

__all__ = [
    "BackendConnectionError",
    "BackendDecodeError",
    "BackendError",
    "BackendStatusError",
    "BadRequestError",
    "ConflictError",
    "ForbiddenError",
    "IdempotencyConflictError",
    "IdempotencyKeyTooLongError",
    "IdempotencyPayloadMismatchError",
    "InvalidPaginationError",
    "InvalidParametersError",
    "InvalidSubaccountError",
    "NotFoundError",
    "RateLimitedError",
    "ServerError",
    "UnauthorizedError",
    "UnprocessableEntityError",
    "error_from_response",
    "parse_retry_after",
]

# Headers an upstream or its proxies use to name the request; the first one present wins.
_REQUEST_ID_HEADERS = ("x-request-id", "request-id", "x-correlation-id", "x-amzn-requestid", "cf-ray")


class BackendError(Exception):
    """Base class of every failure of the backend client."""

    code: ClassVar[str] = "UPSTREAM_ERROR"
    http_status: ClassVar[int] = 502

    def __init__(self, message: str, *, method: str | None = None, path: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.method = method
        self.path = path
        # Set on failures of calls that carried an Idempotency-Key: the outcome may be unknown, and
        # retrying with this key is the safe way to learn it.
        self.idempotency_key: str | None = None

    def __str__(self) -> str:
        where = f" ({self.method} {self.path})" if self.method and self.path else ""
        return f"{self.message}{where}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


class BackendConnectionError(BackendError):
    """The upstream could not be reached, or the connection broke before a response arrived."""

    code = "UPSTREAM_UNAVAILABLE"
    http_status = 503


class BackendTimeoutError(BackendConnectionError):
    """A connect, write, read or pool timeout expired."""

    http_status = 504


class BackendDecodeError(BackendError):
    """A successful response whose body is not the JSON the contract documents."""

    code = "UPSTREAM_ERROR"
    http_status = 502


class BackendStatusError(BackendError):
    """The upstream answered with a non-2xx status; carries the problem details it sent."""

    code = "UPSTREAM_ERROR"
    http_status = 502

    def __init__(
        self,
        *,
        status: int,
        title: str | None = None,
        detail: str | None = None,
        problem_type: str | None = None,
        errors: Mapping[str, list[str]] | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        self.status = status
        self.title = title
        self.detail = detail
        self.problem_type = problem_type
        self.errors: dict[str, list[str]] = dict(errors or {})
        self.request_id = request_id
        self.retry_after = retry_after
        super().__init__(_status_message(status, title, detail), method=method, path=path)


def _status_message(status: int, title: str | None, detail: str | None) -> str:
    text = title or "Upstream error"
    if detail and detail != title:
        text = f"{text}: {detail}"
    return f"{text} [HTTP {status}]"


class BadRequestError(BackendStatusError):
    """400: the upstream rejected the request's input."""

    code = "BAD_USER_INPUT"
    http_status = 400


class InvalidParametersError(BadRequestError):
    """400 invalid-parameters: body or query validation failed; `errors` maps fields to messages."""


class InvalidPaginationError(BadRequestError):
    """400 invalid-pagination: both cursors given, or an unknown cursor id."""


class InvalidSubaccountError(BadRequestError):
    """400 invalid-subaccount: `X-Subaccount-Id` names no subaccount of the caller."""


class IdempotencyKeyTooLongError(BadRequestError):
    """400 idempotency-key-too-long: the key exceeds 512 characters."""


class UnauthorizedError(BackendStatusError):
    """401: missing or invalid API key."""

    code = "UNAUTHENTICATED"
    http_status = 401


class ForbiddenError(BackendStatusError):
    """403: the account may not do this (e.g. subaccounts not enabled, portfolio not available)."""

    code = "FORBIDDEN"
    http_status = 403


class NotFoundError(BackendStatusError):
    """404: no such order, subaccount, portfolio, project, category or checkout session."""

    code = "NOT_FOUND"
    http_status = 404


class ConflictError(BackendStatusError):
    """409 with no known problem type: the resource's state forbids the operation."""

    code = "CONFLICT"
    http_status = 409


class IdempotencyConflictError(ConflictError):
    """409 idempotency-concurrent-requests: a request with the same key is still being processed."""

    code = "IDEMPOTENCY_CONFLICT"


class UnprocessableEntityError(BackendStatusError):
    """422 with no known problem type."""

    code = "BAD_USER_INPUT"
    http_status = 422


class IdempotencyPayloadMismatchError(UnprocessableEntityError):
    """422 idempotency-changed-payload: the key was used before with a different body."""

    code = "IDEMPOTENCY_KEY_REUSED"


class RateLimitedError(BackendStatusError):
    """429: too many requests; `retry_after` says how long the upstream asked to wait."""

    code = "RATE_LIMITED"
    http_status = 429


class ServerError(BackendStatusError):
    """5xx: the upstream failed."""

    code = "UPSTREAM_ERROR"
    http_status = 502


_BY_PROBLEM_SLUG: dict[str, type[BackendStatusError]] = {
    "invalid-parameters": InvalidParametersError,
    "invalid-pagination": InvalidPaginationError,
    "invalid-subaccount": InvalidSubaccountError,
    "idempotency-key-too-long": IdempotencyKeyTooLongError,
    "unauthorized": UnauthorizedError,
    "forbidden": ForbiddenError,
    "not-found": NotFoundError,
    "idempotency-concurrent-requests": IdempotencyConflictError,
    "idempotency-changed-payload": IdempotencyPayloadMismatchError,
    "rate-limited": RateLimitedError,
    "too-many-requests": RateLimitedError,
}

_BY_STATUS: dict[int, type[BackendStatusError]] = {
    400: BadRequestError,
    401: UnauthorizedError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitedError,
}


def error_class_for(status: int, problem_type: str | None) -> type[BackendStatusError]:
    """The exception class for a problem `type` URI (first) or an HTTP status (second)."""
    if problem_type:
        slug = problem_type.rstrip("/").rsplit("/", 1)[-1].lower()
        if slug in _BY_PROBLEM_SLUG:
            return _BY_PROBLEM_SLUG[slug]
    if status >= 500:
        return ServerError
    return _BY_STATUS.get(status, BackendStatusError)


def error_from_response(
    response: httpx.Response, *, method: str | None = None, path: str | None = None
) -> BackendStatusError:
    """Build the exception for a non-2xx response, reading its problem+json body when there is one."""
    problem = _problem_body(response)
    problem_type = _str_or_none(problem.get("type"))
    cls = error_class_for(response.status_code, problem_type)
    return cls(
        status=response.status_code,
        title=_str_or_none(problem.get("title")) or response.reason_phrase or None,
        detail=_str_or_none(problem.get("detail")),
        problem_type=problem_type,
        errors=_errors_map(problem.get("errors")),
        request_id=_request_id(response, problem),
        retry_after=parse_retry_after(response.headers.get("retry-after")),
        method=method,
        path=path,
    )


def _problem_body(response: httpx.Response) -> dict[str, Any]:
    """The response's JSON object, or {} when the body is empty, not JSON, or not an object."""
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return {}
    return body if isinstance(body, dict) else {}


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _errors_map(value: object) -> dict[str, list[str]]:
    """Normalise the ValidationProblemDetails `errors` member to `{field: [message, ...]}`."""
    if not isinstance(value, dict):
        return {}
    result: dict[str, list[str]] = {}
    for field, messages in value.items():
        if isinstance(messages, str):
            result[str(field)] = [messages]
        elif isinstance(messages, list):
            result[str(field)] = [str(m) for m in messages]
    return result


def _request_id(response: httpx.Response, problem: dict[str, Any]) -> str | None:
    for header in _REQUEST_ID_HEADERS:
        value: str | None = response.headers.get(header)
        if value:
            return value
    # ASP.NET Core (which the upstream appears to run on) puts a traceId into problem details.
    return _str_or_none(problem.get("traceId")) or _str_or_none(problem.get("request_id"))


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or HTTP-date); None if absent or invalid."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        return _seconds_until_http_date(value, time.time() if now is None else now)
    return max(seconds, 0.0) if seconds == seconds else None  # NaN is not a delay


def _seconds_until_http_date(value: str, now: float) -> float | None:
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # "-0000" means UTC in RFC 5322 dates
        when = when.replace(tzinfo=datetime.UTC)
    return max(when.timestamp() - now, 0.0)
