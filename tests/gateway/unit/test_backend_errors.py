"""The backend error tree: each problem type and status maps to a class, GraphQL code and status."""

from __future__ import annotations

import httpx
import pytest

from gateway.backend import errors as e

P = "https://api.cnaught.com/v1/errors/"

# (problem type slug, status) -> (class, GraphQL code, class http_status); the README's tables are checked
# against gateway/error_codes.py in test_error_codes.py.
BY_TYPE = [
    ("invalid-parameters", 400, e.InvalidParametersError, "BAD_USER_INPUT", 400),
    ("invalid-pagination", 400, e.InvalidPaginationError, "BAD_USER_INPUT", 400),
    ("invalid-subaccount", 400, e.InvalidSubaccountError, "BAD_USER_INPUT", 400),
    ("idempotency-key-too-long", 400, e.IdempotencyKeyTooLongError, "BAD_USER_INPUT", 400),
    ("forbidden", 403, e.ForbiddenError, "FORBIDDEN", 403),
    ("not-found", 404, e.NotFoundError, "NOT_FOUND", 404),
    ("idempotency-concurrent-requests", 409, e.IdempotencyConflictError, "IDEMPOTENCY_CONFLICT", 409),
    ("idempotency-changed-payload", 422, e.IdempotencyPayloadMismatchError, "IDEMPOTENCY_KEY_REUSED", 422),
]
BY_STATUS = [
    (400, e.BadRequestError, "BAD_USER_INPUT", 400),
    (401, e.UnauthorizedError, "UNAUTHENTICATED", 401),
    (403, e.ForbiddenError, "FORBIDDEN", 403),
    (404, e.NotFoundError, "NOT_FOUND", 404),
    (405, e.BackendStatusError, "UPSTREAM_ERROR", 502),
    (409, e.ConflictError, "CONFLICT", 409),
    (422, e.UnprocessableEntityError, "BAD_USER_INPUT", 422),
    (429, e.RateLimitedError, "RATE_LIMITED", 429),
    (500, e.ServerError, "UPSTREAM_ERROR", 502),
    (502, e.ServerError, "UPSTREAM_ERROR", 502),
    (503, e.ServerError, "UPSTREAM_ERROR", 502),
    (504, e.ServerError, "UPSTREAM_ERROR", 502),
]


def problem(http_status: int, **body: object) -> httpx.Response:
    body.setdefault("status", http_status)
    return httpx.Response(http_status, json=body, headers={"content-type": "application/problem+json"})


@pytest.mark.parametrize(("slug", "status", "cls", "code", "http_status"), BY_TYPE)
def test_problem_type_picks_the_class(
    slug: str, status: int, cls: type[e.BackendStatusError], code: str, http_status: int
) -> None:
    err = e.error_from_response(problem(status, type=P + slug, title="t"))
    assert type(err) is cls
    assert (err.code, err.http_status, err.status, err.problem_type) == (code, http_status, status, P + slug)


@pytest.mark.parametrize(("status", "cls", "code", "http_status"), BY_STATUS)
def test_status_picks_the_class_when_there_is_no_known_type(
    status: int, cls: type[e.BackendStatusError], code: str, http_status: int
) -> None:
    for response in (problem(status, title="x"), httpx.Response(status, text="<html>gateway</html>")):
        err = e.error_from_response(response)
        assert type(err) is cls
        assert (err.code, err.http_status, err.status) == (code, http_status, status)


def test_type_wins_over_status_and_matches_any_host() -> None:
    err = e.error_from_response(problem(400, type="http://127.0.0.1:8001/v1/errors/not-found", title="gone"))
    assert isinstance(err, e.NotFoundError)
    unknown = e.error_from_response(problem(409, type=P + "order-already-cancelled", title="no"))
    assert type(unknown) is e.ConflictError


def test_transport_failures_have_codes() -> None:
    assert (e.BackendConnectionError.code, e.BackendConnectionError.http_status) == (
        "UPSTREAM_UNAVAILABLE",
        503,
    )
    assert (e.BackendTimeoutError.code, e.BackendTimeoutError.http_status) == ("UPSTREAM_UNAVAILABLE", 504)
    assert (e.BackendDecodeError.code, e.BackendDecodeError.http_status) == ("UPSTREAM_ERROR", 502)


def test_the_tree_has_the_documented_shape() -> None:
    assert issubclass(e.BackendTimeoutError, e.BackendConnectionError)
    assert issubclass(e.BackendConnectionError, e.BackendError)
    assert issubclass(e.BackendDecodeError, e.BackendError)
    for _, _, cls, _, _ in BY_TYPE:
        assert issubclass(cls, e.BackendStatusError)
    assert issubclass(e.IdempotencyConflictError, e.ConflictError)
    assert issubclass(e.IdempotencyPayloadMismatchError, e.UnprocessableEntityError)
    assert issubclass(e.InvalidParametersError, e.BadRequestError)


def test_problem_details_are_carried() -> None:
    response = httpx.Response(
        400,
        json={
            "type": P + "invalid-parameters",
            "title": "Your request parameters didn't validate",
            "status": 400,
            "detail": "see errors",
            "errors": {"amount_kg": ["must be positive"], "Metadata": "too long", "weird": 3},
        },
        headers={"x-request-id": "abc123", "retry-after": "5"},
    )
    err = e.error_from_response(response, method="POST", path="/orders")
    assert err.title == "Your request parameters didn't validate"
    assert err.detail == "see errors"
    assert err.errors == {"amount_kg": ["must be positive"], "Metadata": ["too long"]}
    assert (err.request_id, err.retry_after) == ("abc123", 5.0)
    assert str(err) == "Your request parameters didn't validate: see errors [HTTP 400] (POST /orders)"


def test_request_id_falls_back_to_the_problem_trace_id() -> None:
    err = e.error_from_response(problem(500, title="x", traceId="00-abc-01"))
    assert err.request_id == "00-abc-01"


def test_non_json_error_uses_the_reason_phrase() -> None:
    err = e.error_from_response(httpx.Response(502, content=b"\x00\xffnot json"))
    assert (err.title, err.detail, err.errors, err.problem_type) == ("Bad Gateway", None, {}, None)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        (" 1.5 ", 1.5),
        ("-3", 0.0),
        ("Wed, 21 Oct 2015 07:28:10 GMT", 10.0),
        ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),
        ("soon", None),
        ("nan", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(header: str | None, seconds: float | None) -> None:
    now = 1445412480.0  # Wed, 21 Oct 2015 07:28:00 GMT
    assert e.parse_retry_after(header, now=now) == seconds


def test_messages_never_carry_secrets_from_the_body_context() -> None:
    # Only title, detail, method and path reach the message; headers (where keys live) never do.
    response = httpx.Response(
        401,
        json={"title": "Unauthorized", "status": 401},
        request=httpx.Request(
            "GET", "https://u:pw@api.test/v1/orders", headers={"Authorization": "Bearer sk_x"}
        ),
    )
    err = e.error_from_response(response, method="GET", path="/orders")
    for text in (str(err), repr(err), str(err.args)):
        assert "sk_x" not in text and "pw" not in text and "api.test" not in text
