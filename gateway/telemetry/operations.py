"""Per-operation telemetry: metrics, the GraphQL spans (operation, parse, validate, execute), one log line.

`OperationTelemetry` (a schema extension, one per operation) times the operation, counts its upstream
attempts and records it in the metrics; `TracedOperationTelemetry` (tracing on) also opens the
``graphql.operation`` span and its parse/validate/execute children. Tracing off, those hooks do not exist.
The cost is only known once every extension has reported (`gateway.security.guard` computes the actual
cost after execution), so the view calls `finish_operations` with the final results once the response is
sent: it records the metrics, puts the cost on the span, ends it, and writes the operation's line (logger
``gateway.operations``): type, name, outcome, duration, requested and actual cost, upstream attempts, error
codes and the caller's client name (``apollographql-client-name``/``-version``, as Apollo clients send
them). The hook itself only takes the time and keeps the record: observing it is off the response's path,
so the caller does not wait for the gateway's own bookkeeping (issue 8). The duration is the operation's,
taken when it ended. Subscriptions (SSE, WebSocket) have no such final result; they are finished when their
operation ends, without a cost.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from graphql import OperationType, get_operation_ast
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from strawberry.extensions import SchemaExtension

from gateway.after_response import after_response
from gateway.backend import RequestEvent
from gateway.headers import is_printable_ascii
from gateway.metrics import GatewayMetrics, ObservedOperation, observe_operation

if TYPE_CHECKING:
    from starlette.requests import Request
    from strawberry.types import ExecutionContext, ExecutionResult

    from gateway.telemetry.tracing import Tracing

logger = logging.getLogger("gateway.operations")

#: Where the running operation's record is kept on the request, until the view finishes it.
STATE_KEY = "gateway_operations"
_MAX_CLIENT_LENGTH = 64
_upstream_attempts: ContextVar[list[int] | None] = ContextVar("gateway_upstream_attempts", default=None)


def count_upstream_attempt(event: RequestEvent) -> None:
    """The backend client's ``on_request`` hook: one more attempt for the operation being run, if any.

    The counter is a list shared by reference: resolver tasks and loader batches copy the context of the
    operation that started them, so they all add to the same one.
    """
    attempts = _upstream_attempts.get()
    if attempts is not None:
        attempts[0] += 1


@dataclass
class OperationRecord:
    """One ended operation as its hook left it, observed when it is finished (`_finish`)."""

    context: ExecutionContext
    failure: Exception | None  # the exception a hook refused the operation with, if one did
    seconds: float
    upstream_attempts: int
    span: trace.Span | None
    metrics: GatewayMetrics | None


class OperationTelemetry(SchemaExtension):
    """Times, counts and (with `tracing`) traces one operation; `finish_operation` completes it."""

    def __init__(self, *, metrics: GatewayMetrics | None, tracing: Tracing | None) -> None:
        self.metrics, self.tracing = metrics, tracing

    def on_operation(self) -> Iterator[None]:  # no await in it: a plain generator is cheaper to run
        started = time.perf_counter()
        attempts = [0]
        counter = _upstream_attempts.set(attempts)
        span, token = self._start_operation_span()
        failure: Exception | None = None
        try:
            yield
        except Exception as exc:  # a hook refused the operation (limits, rate limit, guard)
            failure = exc
            raise
        finally:
            seconds = time.perf_counter() - started
            _upstream_attempts.reset(counter)
            if token is not None:
                otel_context.detach(token)
            context = self.execution_context
            record = OperationRecord(context, failure, seconds, attempts[0], span, self.metrics)
            after_response(self._keep, record)  # the view finishes it once the response is sent

    def _start_operation_span(self) -> tuple[trace.Span | None, Token[otel_context.Context] | None]:
        if self.tracing is None:
            return None, None
        span = self.tracing.start("graphql.operation", SpanKind.INTERNAL)
        return span, otel_context.attach(trace.set_span_in_context(span))

    def _keep(self, record: OperationRecord) -> None:
        scope = getattr(getattr(self.execution_context.context, "request", None), "scope", None)
        streamed = _is_subscription(record.context)  # SSE/WebSocket: no final result
        if streamed or not isinstance(scope, dict) or scope.get("type") != "http":
            _finish(record, None)  # nothing will call finish_operations
            return
        # The scope's state dict (what `request.state` wraps): a missing `State` attribute costs an exception.
        scope.setdefault("state", {}).setdefault(STATE_KEY, []).append(record)


class TracedOperationTelemetry(OperationTelemetry):
    """`OperationTelemetry` with spans for the parse, validate and execute steps."""

    def on_parse(self) -> Iterator[None]:
        yield from self._child("graphql.parse")

    def on_validate(self) -> Iterator[None]:
        yield from self._child("graphql.validate")

    def on_execute(self) -> Iterator[None]:
        yield from self._child("graphql.execute")

    def _child(self, name: str) -> Iterator[None]:
        assert self.tracing is not None
        with self.tracing.span(name):
            yield


def finish_operations(request: Request, results: Sequence[ExecutionResult]) -> None:
    """Complete the request's operations with their final `results`, in order (the view's hook, called once
    the response is sent); an operation left without one (the view failed after running it) has no cost."""
    pending: list[OperationRecord] | None = request.scope.get("state", {}).pop(STATE_KEY, None)
    if not pending:
        return
    for index, record in enumerate(pending):
        _finish(record, _cost(results[index].extensions) if index < len(results) else None)


def extension_factory(
    metrics: GatewayMetrics | None, tracing: Tracing | None
) -> Callable[[], SchemaExtension]:
    """A factory of the per-operation extension (strawberry builds one per operation)."""
    kind = OperationTelemetry if tracing is None else TracedOperationTelemetry
    return lambda: kind(metrics=metrics, tracing=tracing)


def _finish(record: OperationRecord, cost: Mapping[str, int] | None) -> None:
    observed = observe_operation(record.context, record.failure, record.seconds)
    if record.metrics is not None:
        record.metrics.operation(observed)
    if record.span is None and not logger.isEnabledFor(logging.INFO):
        return
    fields = _fields(record, observed, cost)
    if record.span is not None:
        _end_span(record.span, observed, fields)
    if logger.isEnabledFor(logging.INFO):
        logger.info(_message(observed, fields), extra={"fields": fields})


def _fields(
    record: OperationRecord, observed: ObservedOperation, cost: Mapping[str, int] | None
) -> dict[str, Any]:
    headers = _headers(record.context.context)
    return {
        "operation_type": observed.operation_type,
        "operation_name": observed.operation_name,
        "outcome": observed.outcome,
        "duration_ms": round(observed.seconds * 1000, 2),
        "cost_requested": (cost or {}).get("requested"),
        "cost_actual": (cost or {}).get("actual"),
        "upstream_calls": record.upstream_attempts,
        "error_codes": observed.codes,
        "client_name": _client_label(headers, "apollographql-client-name"),
        "client_version": _client_label(headers, "apollographql-client-version"),
    }


def _message(observed: ObservedOperation, fields: Mapping[str, Any]) -> str:
    name = f"{observed.operation_type} {observed.operation_name or '(anonymous)'}"
    cost = (
        f"cost {fields['cost_requested']}/{fields['cost_actual']}" if fields["cost_requested"] else "no cost"
    )
    codes = f" [{', '.join(observed.codes)}]" if observed.codes else ""
    client = f" client {fields['client_name']}" if fields["client_name"] else ""
    return (
        f"{name}: {observed.outcome}{codes} in {fields['duration_ms']:.1f}ms, {cost}, "
        f"{fields['upstream_calls']} upstream calls{client}"
    )


def _end_span(span: trace.Span, observed: ObservedOperation, fields: Mapping[str, Any]) -> None:
    span.update_name(f"{observed.operation_type} {observed.operation_name or ''}".strip())
    attributes = {
        "graphql.operation.type": observed.operation_type,
        "graphql.operation.name": observed.operation_name,
        "gateway.outcome": observed.outcome,
        "gateway.cost.requested": fields["cost_requested"],
        "gateway.cost.actual": fields["cost_actual"],
        "gateway.upstream_calls": fields["upstream_calls"],
        "gateway.error_codes": observed.codes or None,
        "graphql.client.name": fields["client_name"],
    }
    span.set_attributes({key: value for key, value in attributes.items() if value is not None})
    if observed.outcome != "success":
        span.set_status(Status(StatusCode.ERROR))
    span.end()


def _is_subscription(context: ExecutionContext) -> bool:
    document = context.graphql_document
    operation = None if document is None else get_operation_ast(document, context.operation_name)
    return operation is not None and operation.operation is OperationType.SUBSCRIPTION


def _cost(extensions: Mapping[str, Any] | None) -> Mapping[str, int] | None:
    cost = (extensions or {}).get("cost")
    return cost if isinstance(cost, dict) else None


def _headers(context: object) -> Mapping[str, str]:
    request = getattr(context, "request", None)
    return getattr(request, "headers", None) or {}


def _client_label(headers: Mapping[str, str], name: str) -> str | None:
    """A caller-sent client label, kept only when short and printable (it reaches logs and traces)."""
    value = headers.get(name)
    if not value or len(value) > _MAX_CLIENT_LENGTH or not is_printable_ascii(value):
        return None
    return value
