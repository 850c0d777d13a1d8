"""RFC 7807 problem details, the only error format of the offsets API (reference section 4).

Every error the sandbox answers is a `ProblemError` rendered as ``application/problem+json`` with the exact
``type`` URIs and titles the reference lists. The error tree::

    ProblemError (status, type, title, detail, errors)
      raised through the factory functions below, one per documented problem type

Choices where the reference says [?]:
- 401 has no documented type: it is ``about:blank`` with title "Unauthorized" (RFC 7807's meaning of a
  problem that is just its HTTP status).
- Keys inside ``errors`` are the request's own snake_case field names (``notification_config.url`` for
  nested fields, ``body`` for an unreadable body, ``Content-Type`` / ``Idempotency-Key`` for headers).
- Unknown routes answer 404 ``not-found``; a wrong method 405 ``about:blank``; an unexpected failure 500
  ``about:blank`` "Internal Server Error" without any detail.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route

ERRORS_BASE = "https://api.cnaught.com/v1/errors/"
PROBLEM_MEDIA_TYPE = "application/problem+json"


class ProblemError(Exception):
    """An API error that becomes a problem+json response."""

    def __init__(
        self,
        status: int,
        type_: str,
        title: str,
        *,
        detail: str | None = None,
        errors: dict[str, list[str]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(title)
        self.status = status
        self.type = type_
        self.title = title
        self.detail = detail
        self.errors = errors
        self.headers = headers

    def body(self) -> dict[str, Any]:
        """The problem document."""
        doc: dict[str, Any] = {"type": self.type, "title": self.title, "status": self.status}
        if self.detail is not None:
            doc["detail"] = self.detail
        if self.errors is not None:
            doc["errors"] = self.errors
        return doc


def problem_response(error: ProblemError) -> Response:
    """`error` as an ``application/problem+json`` response."""
    return Response(
        orjson.dumps(error.body()),
        status_code=error.status,
        headers=error.headers,
        media_type=PROBLEM_MEDIA_TYPE,
    )


def invalid_parameters(errors: dict[str, list[str]], detail: str | None = None) -> ProblemError:
    """400: the body or query did not validate."""
    return ProblemError(
        400,
        ERRORS_BASE + "invalid-parameters",
        "Your request parameters didn't validate",
        detail=detail,
        errors=errors,
    )


def invalid_field(field: str, message: str) -> ProblemError:
    """400 ``invalid-parameters`` about one field."""
    return invalid_parameters({field: [message]})


def invalid_pagination(detail: str) -> ProblemError:
    """400: both cursors given, or a cursor that names no item of the list."""
    return ProblemError(
        400, ERRORS_BASE + "invalid-pagination", "Invalid pagination parameters", detail=detail
    )


def invalid_subaccount(subaccount_id: str) -> ProblemError:
    """400: ``X-Subaccount-Id`` is not a subaccount of the caller."""
    return ProblemError(
        400,
        ERRORS_BASE + "invalid-subaccount",
        "Invalid subaccount",
        detail=f"Subaccount {subaccount_id!r} does not exist or does not belong to this account",
    )


def idempotency_key_too_long() -> ProblemError:
    """400: ``Idempotency-Key`` longer than 512 characters."""
    return ProblemError(
        400,
        ERRORS_BASE + "idempotency-key-too-long",
        "Idempotency key too long",
        detail="The Idempotency-Key header must be at most 512 characters long",
    )


def unauthorized() -> ProblemError:
    """401: missing or unknown API key."""
    return ProblemError(401, "about:blank", "Unauthorized", headers={"WWW-Authenticate": "Bearer"})


def forbidden(detail: str) -> ProblemError:
    """403: the account may not do this."""
    return ProblemError(403, ERRORS_BASE + "forbidden", "Forbidden", detail=detail)


def not_found(what: str) -> ProblemError:
    """404: e.g. ``not_found("order")`` -> title "Could not find order"."""
    return ProblemError(404, ERRORS_BASE + "not-found", f"Could not find {what}")


def idempotency_concurrent() -> ProblemError:
    """409: a request with the same key is still being processed."""
    return ProblemError(
        409,
        ERRORS_BASE + "idempotency-concurrent-requests",
        "Another request with the same idempotency key is currently being processed",
    )


def idempotency_changed_payload() -> ProblemError:
    """422: the key was used before with a different payload."""
    return ProblemError(
        422,
        ERRORS_BASE + "idempotency-changed-payload",
        "Previous request submitted with same idempotency key had different payload",
    )


async def handle_problem(request: Request, exc: Exception) -> Response:
    """Starlette exception handler for `ProblemError`."""
    assert isinstance(exc, ProblemError)
    return problem_response(exc)


async def handle_client_disconnect(request: Request, exc: Exception) -> Response:
    """The client went away before its body arrived (e.g. a gateway that gave up on a slow answer).

    Nobody is left to read an answer, and it is not a sandbox fault: answer quietly instead of letting it
    reach the server-error handler, whose traceback would fill the log with noise.
    """
    return Response(status_code=400)


async def handle_http_exception(request: Request, exc: Exception) -> Response:
    """Starlette's own 404/405 (unknown route, wrong method) as problems."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return problem_response(not_found("resource"))
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        allowed = {m.strip() for m in headers.get("Allow", "").split(",") if m.strip()}
        headers["Allow"] = ", ".join(sorted(allowed | _allowed_methods(request)))
    return problem_response(ProblemError(exc.status_code, "about:blank", exc.detail, headers=headers))


def _allowed_methods(request: Request) -> set[str]:
    # Starlette answers 405 from the first route whose path matched, so its Allow header names only that
    # route's methods (GET on /v1/orders, not POST); RFC 9110 wants every method the resource supports.
    methods: set[str] = set()
    for route in request.app.router.routes:
        if isinstance(route, Route) and route.methods and route.matches(request.scope)[0] is not Match.NONE:
            methods |= route.methods
    return methods


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    """A bug: answer a bare 500 problem, never a stack trace."""
    return problem_response(ProblemError(500, "about:blank", "Internal Server Error"))
