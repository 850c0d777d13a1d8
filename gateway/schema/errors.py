"""Errors in the schema: typed `userErrors` for expected mutation failures, coded GraphQL errors otherwise.

Mutations report expected failures (invalid input, not found, idempotency conflicts, forbidden) as data:
`userErrors { code field message }`, with `field` the GraphQL input path (`["input", "amountKg"]`).

Everything else a resolver raises that the gateway understands - a backend failure, an invalid id or
cursor, a refused subaccount - becomes a `GraphQLError` with a stable ``extensions.code`` (the backend
error's `code`) in `UpstreamErrorsExecutionContext`, one place for every field. The message is the
upstream's problem title/detail or a fixed sentence; never the upstream URL, a key or a traceback.
Exceptions the gateway does not understand are left to the app's masking extension.
"""

from __future__ import annotations

import enum
import logging
import re
from collections.abc import Awaitable, Mapping, Sequence
from typing import Any

import strawberry
from graphql import GraphQLError, GraphQLOutputType
from graphql.execution.collect_fields import FieldDetailsList
from graphql.pyutils import Path

from gateway.backend.errors import (
    BackendConnectionError,
    BackendError,
    BackendStatusError,
    BackendTimeoutError,
    BadRequestError,
    ConflictError,
    ForbiddenError,
    IdempotencyConflictError,
    IdempotencyKeyTooLongError,
    IdempotencyPayloadMismatchError,
    InvalidSubaccountError,
    NotFoundError,
    UnauthorizedError,
    UnprocessableEntityError,
)
from gateway.context import SubaccountNotAllowedError
from gateway.ids import InvalidIdError
from gateway.schema.acyclic import AcyclicExecutionContext

_log = logging.getLogger("gateway.schema")


@strawberry.enum(description="Why a mutation did not do what was asked.")
class UserErrorCode(enum.Enum):
    INVALID_INPUT = strawberry.enum_value(
        "INVALID_INPUT", description="An input value is invalid; `field` names it."
    )
    NOT_FOUND = strawberry.enum_value(
        "NOT_FOUND", description="An object the input names does not exist (or is not the caller's)."
    )
    FORBIDDEN = strawberry.enum_value(
        "FORBIDDEN",
        description="The caller may not do this, or the upstream refuses it (e.g. cancelling twice).",
    )
    INVALID_SUBACCOUNT = strawberry.enum_value(
        "INVALID_SUBACCOUNT", description="The subaccount is not one of the account's."
    )
    CONFLICT = strawberry.enum_value(
        "CONFLICT",
        description="The upstream refused because of the object's state (its HTTP 409).",
    )
    IDEMPOTENCY_CONFLICT = strawberry.enum_value(
        "IDEMPOTENCY_CONFLICT",
        description="A request with the same idempotency key is still in flight: retry later with that key.",
    )
    IDEMPOTENCY_KEY_REUSED = strawberry.enum_value(
        "IDEMPOTENCY_KEY_REUSED", description="The idempotency key was used before with different input."
    )
    PRODUCT_PLATFORM_NOT_CONFIGURED = strawberry.enum_value(
        "PRODUCT_PLATFORM_NOT_CONFIGURED",
        description="No product platform is configured for product offset records.",
    )
    ORDER_NOT_FULFILLED = strawberry.enum_value(
        "ORDER_NOT_FULFILLED",
        description="An order is not fulfilled yet, so it has no retirements to record.",
    )
    ORDER_NOT_IN_SUBACCOUNT = strawberry.enum_value(
        "ORDER_NOT_IN_SUBACCOUNT", description="An order does not belong to the requested subaccount."
    )


@strawberry.type(description="An expected failure of a mutation, with the input field it concerns.")
class UserError:
    code: UserErrorCode = strawberry.field(description="Why it failed (stable, for programs).")
    field: list[str] | None = strawberry.field(
        description='Path to the input field at fault, e.g. `["input", "amountKg"]`; null when the '
        "whole input is."
    )
    message: str = strawberry.field(description="Why it failed (for people).")


class GatewayInputError(Exception):
    """An argument the gateway itself rejects before calling upstream (bad pagination, bad id, ...)."""

    code = "BAD_USER_INPUT"

    def __init__(self, message: str, field: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def input_error(message: str, *field: str) -> UserError:
    """A gateway-side INVALID_INPUT user error for `input.<field...>`."""
    return UserError(
        code=UserErrorCode.INVALID_INPUT, field=["input", *field] if field else None, message=message
    )


# --- upstream validation keys -> GraphQL input paths -------------------------------------------------

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def _camel(segment: str) -> str:
    """`amount_kg`, `AmountKg` and `amountKg` all become `amountKg`."""
    snake = _CAMEL_BOUNDARY.sub("_", segment).lower()
    head, *rest = [part for part in snake.split("_") if part] or [""]
    return head + "".join(part.capitalize() for part in rest)


def input_path(
    upstream_key: str, renames: Mapping[str, str] | None = None, root: Sequence[str] = ("input",)
) -> list[str] | None:
    """The GraphQL input path for an upstream `errors` key (None for whole-body errors like ``$``).

    `renames` maps upstream names (snake_case, dotted for nested keys) to input field names where they
    differ, e.g. ``{"notification_config.url": "callbackUrl"}``.
    """
    key = upstream_key.strip().removeprefix("$.").removeprefix("$")
    if not key:
        return None
    snake_key = ".".join(_CAMEL_BOUNDARY.sub("_", part).lower() for part in key.split("."))
    renamed = (renames or {}).get(snake_key)
    if renamed is not None:
        return [*root, renamed]
    return [*root, *(_camel(part) for part in snake_key.split(".") if part)]


# --- backend exceptions -> user errors ---------------------------------------------------------------

_USER_ERROR_CODES: tuple[tuple[type[Exception], UserErrorCode], ...] = (
    (InvalidSubaccountError, UserErrorCode.INVALID_SUBACCOUNT),
    (BadRequestError, UserErrorCode.INVALID_INPUT),
    (IdempotencyPayloadMismatchError, UserErrorCode.IDEMPOTENCY_KEY_REUSED),
    (UnprocessableEntityError, UserErrorCode.INVALID_INPUT),
    (IdempotencyConflictError, UserErrorCode.IDEMPOTENCY_CONFLICT),
    (ConflictError, UserErrorCode.CONFLICT),
    (NotFoundError, UserErrorCode.NOT_FOUND),
    (ForbiddenError, UserErrorCode.FORBIDDEN),
    (SubaccountNotAllowedError, UserErrorCode.NOT_FOUND),
    (InvalidIdError, UserErrorCode.INVALID_INPUT),
    (GatewayInputError, UserErrorCode.INVALID_INPUT),
)


def user_errors_from(exc: Exception, renames: Mapping[str, str] | None = None) -> list[UserError] | None:
    """The user errors describing an expected mutation failure; None when `exc` is unexpected."""
    code = next((code for cls, code in _USER_ERROR_CODES if isinstance(exc, cls)), None)
    if code is None:
        return None
    if isinstance(exc, BackendStatusError) and exc.errors:
        return [
            UserError(code=code, field=input_path(key, renames), message=message)
            for key, messages in exc.errors.items()
            for message in messages
        ]
    field = exc.field if isinstance(exc, GatewayInputError | InvalidIdError) else None
    if isinstance(exc, IdempotencyKeyTooLongError):
        field = ["input", "idempotencyKey"]
    return [UserError(code=code, field=field, message=safe_message(exc))]


# --- backend exceptions -> GraphQL errors ------------------------------------------------------------


def safe_message(exc: Exception) -> str:
    """A client-safe message: problem title/detail, or a fixed sentence; never URLs or keys."""
    if isinstance(exc, BackendTimeoutError):
        return "The offsets API did not answer in time."
    if isinstance(exc, BackendConnectionError):
        return "The offsets API could not be reached."
    if isinstance(exc, BackendStatusError):
        text = exc.title or "The offsets API rejected the request"
        return f"{text}: {exc.detail}" if exc.detail and exc.detail != exc.title else text
    if isinstance(exc, BackendError):
        return "The offsets API sent an unexpected answer."
    if isinstance(exc, GatewayInputError):
        return exc.message
    return str(exc)


def _extensions(exc: Exception, field_root: Sequence[str]) -> dict[str, Any]:
    extensions: dict[str, Any] = {"code": getattr(exc, "code", "BAD_USER_INPUT")}
    if isinstance(exc, BackendStatusError):
        extensions["upstreamStatus"] = exc.status
        if exc.request_id:
            extensions["upstreamRequestId"] = exc.request_id
        if exc.errors:
            extensions["fields"] = [
                {"field": input_path(key, root=field_root), "message": message}
                for key, messages in exc.errors.items()
                for message in messages
            ]
        if exc.retry_after is not None:
            extensions["retryAfter"] = exc.retry_after
    if isinstance(exc, GatewayInputError | InvalidIdError) and exc.field:
        extensions["field"] = exc.field
    return extensions


UPSTREAM_ERROR_TYPES = (BackendError, GatewayInputError, InvalidIdError, SubaccountNotAllowedError)
"""The exceptions the gateway understands and turns into user errors or coded GraphQL errors."""
_CODED = UPSTREAM_ERROR_TYPES


def to_graphql_error(exc: Exception, field_root: Sequence[str] = ("input",)) -> GraphQLError:
    """The client-facing GraphQL error for an exception the gateway understands.

    Upstream validation messages go to ``extensions.fields`` as ``{field, message}``, `field` being the
    argument path under `field_root` (e.g. ``["input", "flight", "distanceKm"]``).
    """
    return GraphQLError(safe_message(exc), extensions=_extensions(exc, field_root))


class UpstreamErrorsExecutionContext(AcyclicExecutionContext):
    """graphql-core's execution, turning understood exceptions into coded GraphQL errors (see module doc).

    The translation happens where graphql-core handles any field's error, so it costs nothing on the
    fields that succeed (a schema extension's `resolve` hook would wrap every field's resolver).
    """

    def handle_field_error(
        self,
        raw_error: Exception,
        return_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        path: Path,
    ) -> None:
        if isinstance(raw_error, _CODED):
            error = _field_error(raw_error, self.context_value)
            error.__cause__ = raw_error
            raw_error = error
        super().handle_field_error(raw_error, return_type, field_details_list, path)


async def translated(result: Awaitable[Any], context: Any = None) -> Any:
    """Await `result`, turning an understood exception into a coded GraphQL error."""
    try:
        return await result
    except _CODED as exc:
        raise _field_error(exc, context) from exc


def _field_error(exc: Exception, context: Any) -> GraphQLError:
    if isinstance(exc, UnauthorizedError):
        if _is_pass_through(context):
            _unauthenticated_caller(context, exc)
        else:
            return _gateway_key_refused(exc)
    return to_graphql_error(exc)


def _is_pass_through(context: Any) -> bool:
    return bool(getattr(getattr(context, "principal", None), "api_key", None))


def _gateway_key_refused(exc: UnauthorizedError) -> GraphQLError:
    """The upstream refused the gateway's own key: an operator's problem, not the caller's credential.

    Answering UNAUTHENTICATED would tell a frontend to sign its user in again; UPSTREAM_ERROR says the
    gateway cannot serve this right now, and the log line tells the operator which setting to fix.
    """
    _log.error("the offsets API refused the gateway's configured key (GATEWAY_UPSTREAM_API_KEY)")
    extensions: dict[str, Any] = {"code": "UPSTREAM_ERROR", "upstreamStatus": exc.status}
    if exc.request_id:
        extensions["upstreamRequestId"] = exc.request_id
    return GraphQLError("The offsets API refused the gateway's credentials.", extensions=extensions)


def _unauthenticated_caller(context: Any, exc: UnauthorizedError) -> None:
    """In pass-through mode an upstream 401 judges the caller's own key: answer HTTP 401, as for any bad
    credential."""
    response = getattr(context, "response", None)
    if response is not None:
        response.status_code = exc.http_status
        response.headers["www-authenticate"] = 'Bearer realm="offsets-gateway"'  # as the auth middleware's
