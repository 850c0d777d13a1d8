"""The ``/graphql`` endpoint: strawberry's ASGI view made to follow the GraphQL-over-HTTP spec.

What strawberry 0.341 leaves to us, and this module adds:

- Media type negotiation: ``application/graphql-response+json`` when the client lists it in ``Accept``,
  ``application/json`` otherwise (also for ``*/*`` or no ``Accept``, as the spec recommends).
- Request errors (the document does not parse or validate, variables do not coerce) carry no ``data``
  key, get a stable ``extensions.code`` (``GRAPHQL_PARSE_FAILED``, ``GRAPHQL_VALIDATION_FAILED``,
  ``BAD_USER_INPUT``), and are answered ``400`` under ``application/graphql-response+json``. Under
  ``application/json`` they stay ``200`` because legacy clients expect that.
- Mutations over GET get ``405`` with ``Allow: POST`` (strawberry says ``400``).
- An ``operationName`` that is not a string (or null) makes the request malformed: ``400`` under either
  media type (strawberry passed it on).
- Errors strawberry raises as plain-text HTTP errors (bad JSON, missing query...) become GraphQL-shaped
  JSON bodies, and any unexpected exception becomes a generic ``500`` with no detail.
- JSON-array batching (`gateway.batching`): size limit, operations answered independently in order.
- orjson encoding, and the local GraphiQL page.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from functools import lru_cache, partial
from typing import Any, TypeGuard

import orjson
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import GraphQLError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.exceptions import MissingQueryError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.streaming import HTTPStreamTransport
from strawberry.schema.base import BaseSchema
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError
from strawberry.types.graphql import OperationType

from gateway.after_response import collect, run_queued
from gateway.batching import DEFAULT_MAX_BATCH_SIZE, check_batch, is_mutation, run_in_order
from gateway.headers import header
from gateway.masking import INTERNAL_ERROR_CODE, INTERNAL_ERROR_MESSAGE
from gateway.security.responses import error_body
from gateway.uploads import RequestShapeError, operations_from_form

logger = logging.getLogger(__name__)

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
JSON = "application/json"
EVENT_STREAM = "text/event-stream"

_HTTP_ERROR_CODES = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}

ContextGetter = Callable[[Request, Response], Awaitable[Any]]
ResultsHook = Callable[[Request, Sequence[ExecutionResult]], None]


# Both negotiations are pure functions of the header, asked three to five times per request, and clients
# send one of a handful of Accept values: each answer is kept (LRU, bounded) instead of re-parsed.
@lru_cache(maxsize=256)
def accepted_media_type(accept: str | None) -> str:
    """The response media type for an ``Accept`` header (GraphQL-over-HTTP content negotiation).

    ``application/graphql-response+json`` is chosen only when named explicitly with a quality at least as
    high as ``application/json``'s; wildcards and a missing header mean ``application/json``.
    """
    weights = _media_weights(accept or "")
    preferred = weights.get(GRAPHQL_RESPONSE_JSON, 0.0)
    if preferred > 0 and preferred >= weights.get(JSON, 0.0):
        return GRAPHQL_RESPONSE_JSON
    return JSON


@lru_cache(maxsize=256)
def prefers_event_stream(accept: str | None) -> bool:
    """True when ``Accept`` asks for GraphQL over SSE ahead of every JSON answer.

    Clients such as urql list ``text/event-stream`` after the JSON types on every query (they can read
    either); such a query is answered with JSON. SSE is chosen when ``text/event-stream`` has a higher
    quality than any JSON type, or the same quality and comes first - as graphql-sse and urql's
    subscriptions ask.
    """
    ranked = [
        (-quality, position, media)
        for position, (media, quality) in enumerate(_media_weights(accept or "").items())
        if quality > 0 and media in (EVENT_STREAM, JSON, GRAPHQL_RESPONSE_JSON, "application/graphql+json")
    ]
    return bool(ranked) and min(ranked)[2] == EVENT_STREAM


def is_event_stream_request(scope: Scope) -> bool:
    """Whether the request's ``Accept`` asks for GraphQL over SSE (`prefers_event_stream`)."""
    return prefers_event_stream(header(scope, b"accept"))


def _media_weights(accept: str) -> dict[str, float]:
    weights: dict[str, float] = {}
    for item in accept.split(","):
        media, *params = (part.strip() for part in item.split(";"))
        weights[media.lower()] = _quality(params)
    return weights


def _quality(params: list[str]) -> float:
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                return float(value)
            except ValueError:
                return 0.0
    return 1.0


def is_request_error(result: ExecutionResult) -> bool:
    """True when the operation never started executing: parse, validation or variable coercion errors.

    Strawberry marks parse and validation failures as `PreExecutionError`; graphql-core reports variable
    coercion failures as a result without data whose errors have no field path (field errors always do).
    """
    if isinstance(result, PreExecutionError):
        return True
    errors = result.errors or []
    return result.data is None and bool(errors) and all(e.path is None for e in errors)


def request_error_code(result: ExecutionResult, message: str) -> str:
    """The stable code of a request error: the document failed to parse or validate, or a variable."""
    if not isinstance(result, PreExecutionError):
        return "BAD_USER_INPUT"  # variable coercion: the variables, not the document, are wrong
    return "GRAPHQL_PARSE_FAILED" if message.startswith("Syntax Error") else "GRAPHQL_VALIDATION_FAILED"


def _add_request_error_codes(response_data: GraphQLHTTPResponse, result: ExecutionResult) -> None:
    for error in response_data.get("errors") or []:
        if isinstance(error, dict):
            extensions = error.setdefault("extensions", {})
            extensions.setdefault("code", request_error_code(result, str(error.get("message", ""))))


def _is_internal(errors: list[GraphQLError] | None) -> bool:
    return any((e.extensions or {}).get("code") == INTERNAL_ERROR_CODE for e in errors or ())


class _SubResponse(Response):
    """Strawberry's per-request sub-response, also carrying the negotiated media type."""

    def __init__(self, media_type: str) -> None:
        super().__init__()
        self.status_code = None  # type: ignore[assignment]  # "not set by a resolver"
        del self.headers["content-length"]
        self.media_type = media_type


class GatewayGraphQL(GraphQL[Any, None]):
    """The gateway's GraphQL view. `context_getter(request, response)` builds each request's context;
    `on_results(request, results)` hears the request's operations' final results once its response is sent
    (telemetry: metrics, cost, log line - off the response's path)."""

    def __init__(
        self,
        schema: BaseSchema,
        *,
        context_getter: ContextGetter,
        graphiql_html: str | None,
        on_results: ResultsHook | None = None,
        max_batch_size: int = DEFAULT_MAX_BATCH_SIZE,
    ) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if graphiql_html else None,
            allow_queries_via_get=True,
            multipart_uploads_enabled=True,
        )
        self._context_getter = context_getter
        self._on_results = on_results
        self._graphiql_html = graphiql_html or ""
        self._max_batch_size = max_batch_size

    def _get_stream_transport_from_headers(self, headers: Mapping[str, str]) -> HTTPStreamTransport | None:
        # Strawberry streams whenever Accept merely names text/event-stream; negotiate instead.
        accept = next((value for key, value in headers.items() if key.lower() == "accept"), None)
        if not prefers_event_stream(accept):
            return None
        return super()._get_stream_transport_from_headers(headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope, receive)
        # The request's metrics wait until its response is sent (`after_response`); a stream's (SSE) are
        # recorded as they happen.
        streamed = is_event_stream_request(scope)
        collecting = None if streamed else collect()
        try:
            response = await self._respond(request, streamed)
            await response(scope, receive, send)
        finally:
            await request.close()  # closes uploaded files spooled to disk by a multipart request
            if collecting is not None:
                run_queued(*collecting)
            if self._on_results is not None:
                self._on_results(request, request.scope.get("state", {}).get(_RESULTS_KEY, ()))

    async def _respond(self, request: Request, streamed: bool) -> Response:
        media_type = accepted_media_type(header(request.scope, b"accept"))
        try:
            if not streamed and await _is_single_json_post(request):
                return await self._run_single_json_post(request)
            return await self.run(request)
        except HTTPException as exc:
            return self._http_error(exc, media_type)
        except (RequestShapeError, StarletteHTTPException) as exc:
            # Bad request shapes (`gateway.uploads`) and starlette's own 4xx while reading the body.
            status = exc.status_code if isinstance(exc, StarletteHTTPException) else 400
            return self._http_error(HTTPException(status, _shape_message(exc)), media_type)
        except Exception:
            # Unexpected failures outside execution (e.g. while building the context): log the cause here,
            # tell the client nothing about it.
            logger.exception("unhandled error while serving a GraphQL request")
            body = error_body(INTERNAL_ERROR_CODE, INTERNAL_ERROR_MESSAGE)
            return Response(body, status_code=500, media_type=media_type)

    async def _run_single_json_post(self, request: Request) -> Response:
        """One operation POSTed as a JSON object: nearly every request, answered as `run` would answer it.

        strawberry's `run` serves every transport (WebSocket, GET, multipart, SSE, batches); for this one it
        still builds a request adapter, parses ``Content-Type`` with the e-mail parser, matches ``Accept``
        against each streaming transport and checks the result against runtime protocols. The same hooks
        run here in the same order - sub-response, context, body, execution, `process_result`,
        `create_response` - with the same errors; only the dispatch is skipped.
        """
        sub_response = await self.get_sub_response(request)
        context = await self.get_context(request, sub_response)
        request_data = _single_request_data(self.parse_json(await request.body()))
        result = await self._execute_post(request_data, context)
        response_data = await self.process_result(request, result)
        if result.errors:
            self._handle_errors(result.errors, response_data)
        return self.create_response(response_data=response_data, sub_response=sub_response)

    async def _execute_post(self, data: GraphQLRequestData, context: Any) -> ExecutionResult:
        try:
            return await self.schema.execute(
                data.query,
                root_value=None,  # the view's `RootValue` type is None: no `get_root_value` to ask
                variable_values=data.variables,
                context_value=context,
                operation_name=data.operation_name,
                allowed_operation_types=_POST_OPERATION_TYPES,
                operation_extensions=data.extensions,
            )
        except CannotGetOperationTypeError as exc:
            raise HTTPException(400, exc.as_http_error_reason()) from exc
        except InvalidOperationTypeError as exc:
            raise HTTPException(400, exc.as_http_error_reason("POST")) from exc
        except MissingQueryError as exc:
            raise HTTPException(400, "No GraphQL query found in the request") from exc

    def _http_error(self, exc: HTTPException, media_type: str) -> Response:
        status, headers = exc.status_code, {}
        if status == 405:
            headers["allow"] = "GET, POST"
        if isinstance(exc.__cause__, InvalidOperationTypeError):
            # A mutation over GET: only POST may change state, so say which method would work.
            status, headers = 405, {"allow": "POST"}
        code = _HTTP_ERROR_CODES.get(status, "BAD_REQUEST")
        body = error_body(code, exc.reason)
        return Response(body, status_code=status, media_type=media_type, headers=headers)

    def _validate_batch_request(self, request_data: Sequence[object], protocol: Any) -> None:
        # Replaces strawberry's check (which reads the schema's batching config and lets non-object items
        # through to a crash): size limit from GATEWAY_MAX_BATCH_SIZE, objects only.
        check_batch(request_data, self._max_batch_size)

    async def execute_operation(  # type: ignore[override]
        self, request: Request, request_adapter: Any, request_data: Any, **kwargs: Any
    ) -> Any:
        if not isinstance(request_data, list):
            return await super().execute_operation(request, request_adapter, request_data, **kwargs)
        # One context (so one set of loaders) for the whole batch: strawberry built it once per request. The
        # operations' requested costs add up against one maximum (`OperationGuard`).
        if hasattr(kwargs.get("context"), "requested_cost"):
            kwargs["context"].requested_cost = 0
        operations = [
            partial(self._execute_batched, request, request_adapter, data, kwargs) for data in request_data
        ]
        mutating = [is_mutation(data.query, data.operation_name) for data in request_data]
        return await run_in_order(operations, mutating)

    async def _execute_batched(
        self, request: Request, request_adapter: Any, data: GraphQLRequestData, kwargs: dict[str, Any]
    ) -> ExecutionResult:
        """One operation of a batch; what strawberry raises as an HTTP error fails only this operation."""
        try:
            return await self.execute_single(
                request=request, request_adapter=request_adapter, request_data=data, **kwargs
            )
        except HTTPException as exc:
            code = (
                "METHOD_NOT_ALLOWED"
                if isinstance(exc.__cause__, InvalidOperationTypeError)
                else "BAD_REQUEST"
            )
            return PreExecutionError(data=None, errors=[GraphQLError(exc.reason, extensions={"code": code})])

    async def parse_multipart(self, request: AsyncHTTPRequestAdapter) -> dict[str, str]:
        # Strawberry's version lets a malformed form escape as a 500 (a missing boundary, a `map` that is
        # a list, `operations` sent as a file): `gateway.uploads` checks every part of the shape first.
        operations: dict[str, str] = await operations_from_form(request.get_form_data, self.parse_json)
        return operations

    async def get_context(self, request: Any, response: Any) -> Any:
        return await self._context_getter(request, response)

    async def get_sub_response(self, request: Any) -> Response:
        sub_response = _SubResponse(accepted_media_type(header(request.scope, b"accept")))
        request.state.graphql_sub_response = sub_response
        return sub_response

    async def render_graphql_ide(self, request: Request) -> Response:
        return HTMLResponse(self._graphiql_html)

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    def decode_json(self, data: str | bytes) -> object:
        # orjson refuses nesting deeper than 1024 with a JSONDecodeError (a 400 from `parse_json`); the
        # stdlib decoder strawberry uses raised RecursionError on `[[[[...` bodies, a 500.
        return orjson.loads(data)

    async def parse_http_body(self, request: Any) -> GraphQLRequestData | list[GraphQLRequestData]:
        # Strawberry checks the types of `query`, `variables` and `extensions` but lets any JSON value
        # through as `operationName`; a malformed request is a 400 whatever media type was asked for.
        data = await super().parse_http_body(request)
        for item in data if isinstance(data, list) else [data]:
            _check_operation_name(item.operation_name)
        return data

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        response_data = await super().process_result(request, result)
        # The scope's state dict itself (what `request.state` wraps): a missing attribute of `State` is
        # found missing by an exception.
        request.scope.setdefault("state", {}).setdefault(_RESULTS_KEY, []).append(result)
        if is_request_error(result):
            # The GraphQL spec: no `data` entry when execution never started.
            response_data.pop("data", None)
            _add_request_error_codes(response_data, result)
            self._mark_request_error(request, result)
        return response_data

    def _mark_request_error(self, request: Request, result: ExecutionResult) -> None:
        sub_response = request.state.graphql_sub_response
        if _is_internal(result.errors):
            sub_response.status_code = 500
        elif sub_response.media_type == GRAPHQL_RESPONSE_JSON and not sub_response.status_code:
            # A status set before execution (429 from the rate limiter) says more than a generic 400.
            sub_response.status_code = 400

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        media_type = sub_response.media_type if _is_sub_response(sub_response) else JSON
        response = Response(self.encode_json(response_data), status_code=200, media_type=media_type)
        response.headers.raw.extend(sub_response.headers.raw)
        response.background = sub_response.background
        # A batch is 200 whatever its operations' statuses were: each entry carries its own errors.
        if sub_response.status_code and not isinstance(response_data, list):
            response.status_code = sub_response.status_code
        return response


_POST_OPERATION_TYPES = frozenset(OperationType.from_http("POST"))
#: Where the request's final results wait for `on_results`.
_RESULTS_KEY = "graphql_results"


async def _is_single_json_post(request: Request) -> bool:
    """A POST of one JSON object (no batch); the caller has checked that it asks for no stream."""
    scope = request.scope
    if scope["method"] != "POST":
        return False
    if (header(scope, b"content-type") or "").partition(";")[0].strip().lower() != JSON:
        return False
    return (await request.body()).lstrip()[:1] == b"{"  # starlette keeps the body for a second read


def _single_request_data(data: Any) -> GraphQLRequestData:
    """The operation in a JSON object body, checked as strawberry's `parse_http_body` and ours check it."""
    query, variables = data.get("query"), data.get("variables")
    extensions, operation_name = data.get("extensions"), data.get("operationName")
    if not isinstance(query, str | None):
        raise HTTPException(400, "The GraphQL operation's `query` must be a string or null, if provided.")
    if not isinstance(variables, dict | None):
        raise HTTPException(
            400, "The GraphQL operation's `variables` must be an object or null, if provided."
        )
    if not isinstance(extensions, dict | None):
        raise HTTPException(
            400, "The GraphQL operation's `extensions` must be an object or null, if provided."
        )
    _check_operation_name(operation_name)
    return GraphQLRequestData(
        query=query,
        variables=variables,
        operation_name=operation_name,
        extensions=extensions,
        protocol="http",
    )


def _check_operation_name(operation_name: object) -> None:
    if not isinstance(operation_name, str | None):
        raise HTTPException(400, "`operationName` must be a string or null, if provided")


def _shape_message(exc: RequestShapeError | StarletteHTTPException) -> str:
    if isinstance(exc, StarletteHTTPException):
        return f"the request could not be read: {exc.detail}"
    return str(exc)


def _is_sub_response(response: Response) -> TypeGuard[_SubResponse]:
    return isinstance(response, _SubResponse)
