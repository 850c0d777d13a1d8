"""Every error code the gateway can emit, in ONE table: GraphQL ``extensions.code`` and ``userErrors.code``.

The errors themselves stay with the layer that raises them (`gateway.backend.errors` for upstream
failures, `gateway.auth.errors`, `gateway.operation_limits`, `gateway.security`, `gateway.persisted`,
`gateway.schema.errors` for `userErrors`), each with its own tree. This module is the catalogue a client
and the README read: the code, where it is reported, the gateway's HTTP status and what it means.
`tests/gateway/unit/test_error_codes.py` fails when a code literal in `gateway/` is missing here, when
`UserErrorCode` and this table disagree, and when the README's tables differ from `markdown_tables()`.

HTTP statuses follow GraphQL-over-HTTP: an error *of a field* (the resolver's upstream call failed) is part
of a partial result, so the response is ``200``; an error *of the request* (it never executed) is ``400``
under ``application/graphql-response+json`` and ``200`` under legacy ``application/json`` ("400 or 200"
below); a few refusals happen before GraphQL and have their own status.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import httpx

from gateway.backend.errors import BackendStatusError, error_from_response

__all__ = ["ERROR_CODES", "UPSTREAM_MAPPING", "CodeInfo", "ErrorCode", "markdown_tables"]


class ErrorCode(enum.StrEnum):
    """The stable codes; clients may switch on them. Each value is its name."""

    @staticmethod
    def _generate_next_value_(name: str, start: int, count: int, last_values: list[str]) -> str:
        return name

    GRAPHQL_PARSE_FAILED = enum.auto()
    GRAPHQL_VALIDATION_FAILED = enum.auto()
    BAD_USER_INPUT = enum.auto()
    BAD_REQUEST = enum.auto()
    METHOD_NOT_ALLOWED = enum.auto()
    UNAUTHENTICATED = enum.auto()
    FORBIDDEN = enum.auto()
    NOT_FOUND = enum.auto()
    CONFLICT = enum.auto()
    IDEMPOTENCY_CONFLICT = enum.auto()
    IDEMPOTENCY_KEY_REUSED = enum.auto()
    RATE_LIMITED = enum.auto()
    UPSTREAM_UNAVAILABLE = enum.auto()
    UPSTREAM_ERROR = enum.auto()
    INTERNAL_SERVER_ERROR = enum.auto()
    DEPTH_LIMIT_EXCEEDED = enum.auto()
    ALIAS_LIMIT_EXCEEDED = enum.auto()
    TOKEN_LIMIT_EXCEEDED = enum.auto()
    ROOT_FIELD_LIMIT_EXCEEDED = enum.auto()
    PAGE_SIZE_REQUIRED = enum.auto()
    PAGE_SIZE_EXCEEDED = enum.auto()
    MAX_COST_EXCEEDED = enum.auto()
    REQUEST_TOO_LARGE = enum.auto()
    REQUEST_TIMEOUT = enum.auto()
    CSRF_PREVENTED = enum.auto()
    OVERLOADED = enum.auto()
    PERSISTED_QUERY_NOT_FOUND = enum.auto()
    PERSISTED_QUERY_NOT_SUPPORTED = enum.auto()
    PERSISTED_QUERY_NOT_IN_LIST = enum.auto()
    PRODUCT_RECORD_PARTIAL = enum.auto()
    INVALID_INPUT = enum.auto()
    INVALID_SUBACCOUNT = enum.auto()
    PRODUCT_PLATFORM_NOT_CONFIGURED = enum.auto()
    ORDER_NOT_FULFILLED = enum.auto()
    ORDER_NOT_IN_SUBACCOUNT = enum.auto()
    SUBSCRIPTION_LIMIT_EXCEEDED = enum.auto()
    SUBSCRIPTION_OVERFLOW = enum.auto()


@dataclass(frozen=True)
class CodeInfo:
    """Where a code is reported (`errors`, `userErrors` or both), the gateway's HTTP status, the meaning."""

    where: str
    http: str
    meaning: str


_REQUEST = "400 or 200"
_FIELD = "200"
E, U, EU = "errors", "userErrors", "errors, userErrors"

ERROR_CODES: dict[ErrorCode, CodeInfo] = {
    ErrorCode.GRAPHQL_PARSE_FAILED: CodeInfo(E, _REQUEST, "the document does not parse"),
    ErrorCode.GRAPHQL_VALIDATION_FAILED: CodeInfo(E, _REQUEST, "the document does not fit the schema"),
    ErrorCode.BAD_USER_INPUT: CodeInfo(
        E,
        f"{_REQUEST} (variables), {_FIELD} (arguments)",
        "variables do not coerce; a bad id, cursor or argument",
    ),
    ErrorCode.BAD_REQUEST: CodeInfo(
        E,
        f"400; {_REQUEST} (operation not chosen)",
        "not a GraphQL request (body not a JSON object, no query, bad persisted-query extension); several "
        "operations and no `operationName`, or one naming no operation (nothing runs)",
    ),
    ErrorCode.METHOD_NOT_ALLOWED: CodeInfo(E, "405", "a mutation over GET, or a method other than GET/POST"),
    ErrorCode.UNAUTHENTICATED: CodeInfo(
        E, "401", "missing or bad credential (the gateway's, or in pass-through the upstream's verdict)"
    ),
    ErrorCode.FORBIDDEN: CodeInfo(
        EU,
        f"{_REQUEST} (missing scope), {_FIELD} (upstream 403)",
        "the credential may not do this, or the upstream refuses it (e.g. cancel an order twice)",
    ),
    ErrorCode.NOT_FOUND: CodeInfo(
        EU, f"{_FIELD}, {_REQUEST} (another tenant's subaccount)", "no such object, or not the caller's"
    ),
    ErrorCode.CONFLICT: CodeInfo(EU, _FIELD, "the upstream answered 409: the object's state forbids this"),
    ErrorCode.IDEMPOTENCY_CONFLICT: CodeInfo(EU, _FIELD, "a request with this idempotency key is in flight"),
    ErrorCode.IDEMPOTENCY_KEY_REUSED: CodeInfo(EU, _FIELD, "the idempotency key was used with another input"),
    ErrorCode.RATE_LIMITED: CodeInfo(
        E, f"429 (gateway budget), {_FIELD} (upstream 429)", "over the cost budget; `retryAfter` seconds"
    ),
    ErrorCode.UPSTREAM_UNAVAILABLE: CodeInfo(
        E, _FIELD, "the offsets API did not answer (connection, timeout)"
    ),
    ErrorCode.UPSTREAM_ERROR: CodeInfo(E, _FIELD, "the offsets API failed (5xx) or answered unexpectedly"),
    ErrorCode.INTERNAL_SERVER_ERROR: CodeInfo(
        E, f"{_FIELD}, 500 (outside execution)", "a gateway bug; details only in the gateway's log"
    ),
    ErrorCode.DEPTH_LIMIT_EXCEEDED: CodeInfo(E, _REQUEST, "deeper than `GATEWAY_MAX_DEPTH`"),
    ErrorCode.ALIAS_LIMIT_EXCEEDED: CodeInfo(E, _REQUEST, "more aliases than `GATEWAY_MAX_ALIASES`"),
    ErrorCode.TOKEN_LIMIT_EXCEEDED: CodeInfo(E, _REQUEST, "more tokens than `GATEWAY_MAX_TOKENS`"),
    ErrorCode.ROOT_FIELD_LIMIT_EXCEEDED: CodeInfo(
        E, _REQUEST, "more root fields than `GATEWAY_MAX_ROOT_FIELDS`"
    ),
    ErrorCode.PAGE_SIZE_REQUIRED: CodeInfo(E, _REQUEST, "a connection without `first` or `last`"),
    ErrorCode.PAGE_SIZE_EXCEEDED: CodeInfo(E, _REQUEST, "`first`/`last` outside 0..`GATEWAY_MAX_PAGE_SIZE`"),
    ErrorCode.MAX_COST_EXCEEDED: CodeInfo(E, _REQUEST, "static cost above `GATEWAY_MAX_COST`"),
    ErrorCode.REQUEST_TOO_LARGE: CodeInfo(E, "413", "body above `GATEWAY_MAX_BODY_BYTES`/`_UPLOAD_BYTES`"),
    ErrorCode.REQUEST_TIMEOUT: CodeInfo(E, "504", "the request took longer than `GATEWAY_REQUEST_TIMEOUT`"),
    ErrorCode.CSRF_PREVENTED: CodeInfo(E, "400", "a simple (CSRF-able) request without a preflight header"),
    ErrorCode.OVERLOADED: CodeInfo(
        E, "503", "the worker is at `GATEWAY_MAX_IN_FLIGHT`; retry after `Retry-After` seconds"
    ),
    ErrorCode.PERSISTED_QUERY_NOT_FOUND: CodeInfo(E, "200", "APQ: hash unknown, send hash and query"),
    ErrorCode.PERSISTED_QUERY_NOT_SUPPORTED: CodeInfo(E, "200", "APQ is switched off (`GATEWAY_APQ`)"),
    ErrorCode.PERSISTED_QUERY_NOT_IN_LIST: CodeInfo(E, "400", "not in the trusted-documents manifest"),
    ErrorCode.PRODUCT_RECORD_PARTIAL: CodeInfo(
        E, _FIELD, "the product platform holds only some batches after a lost answer"
    ),
    ErrorCode.INVALID_INPUT: CodeInfo(U, _FIELD, "an input field is invalid; `field` is its path"),
    ErrorCode.INVALID_SUBACCOUNT: CodeInfo(U, _FIELD, "the upstream refuses the subaccount"),
    ErrorCode.PRODUCT_PLATFORM_NOT_CONFIGURED: CodeInfo(U, _FIELD, "no product platform is configured"),
    ErrorCode.ORDER_NOT_FULFILLED: CodeInfo(U, _FIELD, "the order is not fulfilled yet"),
    ErrorCode.ORDER_NOT_IN_SUBACCOUNT: CodeInfo(U, _FIELD, "the order belongs to another subaccount"),
    ErrorCode.SUBSCRIPTION_LIMIT_EXCEEDED: CodeInfo(
        E, "- (WebSocket `error`, SSE event)", "over `GATEWAY_SUBSCRIPTION_MAX_PER_*` subscriptions"
    ),
    ErrorCode.SUBSCRIPTION_OVERFLOW: CodeInfo(
        E, "- (last event)", "a slow subscriber's queue filled up: subscribe again"
    ),
}

#: (upstream problem type slug or "-", upstream status) for each row of the README's upstream table.
UPSTREAM_MAPPING: tuple[tuple[str, int], ...] = (
    ("invalid-parameters", 400),
    ("invalid-pagination", 400),
    ("invalid-subaccount", 400),
    ("idempotency-key-too-long", 400),
    ("-", 400),
    ("-", 401),
    ("forbidden", 403),
    ("not-found", 404),
    ("-", 409),
    ("idempotency-concurrent-requests", 409),
    ("-", 422),
    ("idempotency-changed-payload", 422),
    ("-", 429),
    ("-", 500),
    ("-", 503),
)


def upstream_error(slug: str, status: int) -> BackendStatusError:
    """The backend error the client raises for an upstream problem of this type and status."""
    body: dict[str, object] = {"title": "t", "status": status}
    if slug != "-":
        body["type"] = f"https://api.cnaught.com/v1/errors/{slug}"
    response = httpx.Response(status, json=body, headers={"content-type": "application/problem+json"})
    error = error_from_response(response, method="GET", path="/x")
    if not isinstance(error, BackendStatusError):  # pragma: no cover - every status >= 400 maps to one
        raise TypeError(f"{status} did not map to a status error")
    return error


def _upstream_rows() -> list[str]:
    from gateway.schema.errors import user_errors_from

    rows = []
    for slug, status in UPSTREAM_MAPPING:
        error = upstream_error(slug, status)
        user_errors = user_errors_from(error)
        user_code = user_errors[0].code.value if user_errors else "- (in `errors`)"
        code, http = f"`{error.code}`", _FIELD
        if error.code == ErrorCode.UNAUTHENTICATED:
            # Whose key the upstream refused decides who is told (gateway.schema.errors._field_error).
            code = "`UNAUTHENTICATED` (pass-through) / `UPSTREAM_ERROR` (the gateway's own key)"
            http = "401 (pass-through), 200"
        kind = f"`{slug}`" if slug != "-" else "any other"
        rows.append(f"| {status} | {kind} | {code} | {user_code} | {http} |")
    return rows


def markdown_tables() -> str:
    """The README's two error tables (upstream mapping, then every code), generated from the code."""
    upstream = [
        "| Upstream status | Problem type | `errors[].extensions.code` | Mutation `userErrors.code` "
        "| Gateway HTTP |",
        "|---|---|---|---|---|",
        *_upstream_rows(),
    ]
    codes = [
        "| Code | Reported in | Gateway HTTP | Meaning |",
        "|---|---|---|---|",
        *(
            f"| `{code}` | {info.where} | {info.http} | {info.meaning} |"
            for code, info in ERROR_CODES.items()
        ),
    ]
    return "\n".join([*upstream, "", *codes]) + "\n"
