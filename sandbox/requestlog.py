"""Request log: a pure ASGI middleware that records every request the sandbox receives.

Tests prove batching and retries by counting what the upstream saw, so the log must be exact and readable
from another thread (the test thread) while uvicorn serves in its own thread. It also sits on the benchmark's
hot path, so recording is a few attribute reads and one locked append; nothing is parsed or serialised until
someone asks.

Each `RequestRecord` holds what the client sent and the status it got back *as the client saw it*: an injected
fault (see `sandbox.faults`) shows up as its fault status, or `status=None` when the connection was dropped.
A request is in the log before its client sees the end of the response (or of the connection), so a client
can read the log as soon as it has its answer.
The route is the matched Starlette route template (``"GET /v1/orders/{id}"``); when a fault answered before
the router ran, the template is resolved by matching the app's routes, so faulted requests still count per
route.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import Counter, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Match, Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Scope keys shared with `sandbox.faults` (ASGI allows namespaced extension keys in the scope).
RAW_RECEIVE_KEY = "sandbox.raw_receive"
FAULT_KEY = "sandbox.fault"
DROPPED_KEY = "sandbox.dropped"
RECORD_KEY = "sandbox.record"  # writes the request's record now (before a fault drops the connection)

_REDACTED_HEADERS = frozenset({"authorization", "proxy-authorization"})
# Admin traffic is not part of what "the sandbox received" from a client under test.
_UNLOGGED_PREFIXES = ("/_sandbox/requests", "/_sandbox/stats", "/_sandbox/faults")
DEFAULT_MAX_ENTRIES = 20_000


def key_fingerprint(api_key: str) -> str:
    """The short, non-reversible tag the log shows instead of an API key (compare, never recover)."""
    return hashlib.sha256(api_key.encode()).hexdigest()[:12]


def redact_authorization(value: str) -> str:
    """Replace the credential of an Authorization value by its fingerprint, keeping the scheme."""
    scheme, _, credential = value.partition(" ")
    if not credential:
        return f"[redacted sha256:{key_fingerprint(scheme)}]"
    return f"{scheme} [redacted sha256:{key_fingerprint(credential.strip())}]"


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One request as the sandbox received it, and the status its client saw (None: no response).

    `headers` is decoded from the raw ASGI headers on each read (not on the hot path), lower-case, with
    Authorization values replaced by a fingerprint of the credential.
    """

    method: str
    path: str
    query: str
    route: str | None
    status: int | None
    raw_headers: Sequence[tuple[bytes, bytes]] = field(repr=False)
    body: bytes
    fault: str | None = None
    received_at: float = field(default=0.0, compare=False)

    @property
    def headers(self) -> dict[str, str]:
        """Lower-case header names to values, Authorization redacted."""
        return _headers(self.raw_headers)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (body as UTF-8 text, undecodable bytes replaced)."""
        return {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "route": self.route,
            "status": self.status,
            "headers": self.headers,
            "body": self.body.decode("utf-8", errors="replace"),
            "fault": self.fault,
            "received_at": self.received_at,
        }


def _matches(record: RequestRecord, method: str | None, route: str | None, path_prefix: str | None) -> bool:
    if method is not None and record.method != method.upper():
        return False
    if route is not None and record.route != route:
        return False
    return path_prefix is None or record.path.startswith(path_prefix)


class RequestLog:
    """Thread-safe log of the requests the sandbox received, newest last.

    Keeps the last `max_entries` records (the benchmark would otherwise grow it without bound); `dropped`
    says how many older ones were discarded, so a test can tell the log is no longer complete.
    """

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        self._lock = threading.Lock()
        self._entries: deque[RequestRecord] = deque(maxlen=max_entries)
        self._total = 0

    def append(self, record: RequestRecord) -> None:
        """Record one request (called by the middleware)."""
        with self._lock:
            self._entries.append(record)
            self._total += 1

    @property
    def entries(self) -> list[RequestRecord]:
        """A snapshot of the records, oldest first."""
        with self._lock:
            return list(self._entries)

    @property
    def dropped(self) -> int:
        """How many records fell out of the bounded log since the last `clear()`."""
        with self._lock:
            return self._total - len(self._entries)

    def clear(self) -> None:
        """Forget every record."""
        with self._lock:
            self._entries.clear()
            self._total = 0

    def filter(
        self, method: str | None = None, route: str | None = None, path_prefix: str | None = None
    ) -> list[RequestRecord]:
        """The records matching every given criterion (method is case-insensitive; route is exact)."""
        return [r for r in self.entries if _matches(r, method, route, path_prefix)]

    def count(
        self, method: str | None = None, route: str | None = None, path_prefix: str | None = None
    ) -> int:
        """How many records match every given criterion, e.g. ``count(route="GET /v1/orders/{id}")``."""
        return len(self.filter(method, route, path_prefix))

    def stats(self) -> dict[str, Any]:
        """Counts per route template and per status (unmatched requests count under ``"(unmatched)"``)."""
        entries = self.entries
        routes = Counter(r.route or "(unmatched)" for r in entries)
        statuses = Counter("dropped" if r.status is None else str(r.status) for r in entries)
        return {
            "total": len(entries),
            "dropped": self.dropped,
            "routes": dict(routes),
            "statuses": dict(statuses),
        }


def _route_template(route: BaseRoute, prefix: str) -> str | None:
    path = getattr(route, "path", None)
    if path is None:
        return None
    if isinstance(route, Mount):
        return f"{prefix}{{path}}"
    return f"{prefix}{path}"


def route_templates(routes: Iterable[BaseRoute], prefix: str = "") -> frozenset[str]:
    """Every ``"METHOD /template"`` label the log can give a request to these routes (into mounts)."""
    labels: set[str] = set()
    for route in routes:
        if isinstance(route, Mount):
            labels |= route_templates(route.routes, prefix + route.path)
        elif isinstance(route, Route) and route.methods:
            labels |= {f"{method} {prefix}{route.path}" for method in route.methods}
    return frozenset(labels)


def relative_path(path: str, base: str) -> str:
    """`path` seen from inside the app mounted at `base` (the root_path when the request reached us)."""
    return path[len(base) :] if base and path.startswith(base) else path


def resolve_route(routes: Iterable[BaseRoute], scope: Scope, prefix: str = "") -> str | None:
    """Match `scope` against `routes` (descending into mounts) the way the router would; the template path."""
    partial: str | None = None
    for route in routes:
        match, child = route.matches(scope)
        if match is Match.NONE:
            continue
        if isinstance(route, Mount) and route.routes:
            inner = resolve_route(route.routes, {**scope, **child}, prefix + route.path)
            if inner is not None:
                return inner
            continue
        template = _route_template(route, prefix)
        if match is Match.FULL:
            return template
        partial = partial or template
    return partial


def _template_from_scope(scope: Scope, route: BaseRoute | None, base: str) -> str | None:
    if route is not None:
        # Inside a Mount the router has extended root_path by the mount's matched path.
        return _route_template(route, relative_path(scope.get("root_path", ""), base))
    routes = getattr(scope.get("app"), "routes", None)
    if routes is None:
        return None
    return resolve_route(routes, {**scope, "root_path": base, "path_params": {}})


def _route_label(
    scope: Scope, route: BaseRoute | None, base: str, cache: dict[tuple[str, int, str], str | None]
) -> str | None:
    """``"GET /v1/orders/{id}"`` for the route the router matched; cached, as it is asked per request."""
    if route is None:  # unmatched, or a fault answered before routing: resolve (rare, uncached)
        template = _template_from_scope(scope, None, base)
        return None if template is None else f"{scope['method']} {template}"
    key = (scope["method"], id(route), scope.get("root_path", ""))
    try:
        return cache[key]
    except KeyError:
        template = _template_from_scope(scope, route, base)
        label = cache[key] = None if template is None else f"{scope['method']} {template}"
        return label


def _headers(raw: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name_b, value_b in raw:
        name = name_b.decode("latin-1").lower()
        value = value_b.decode("latin-1")
        headers[name] = redact_authorization(value) if name in _REDACTED_HEADERS else value
    return headers


class RequestLogMiddleware:
    """Pure ASGI middleware recording each HTTP request into a `RequestLog`.

    Put it outside `FaultMiddleware` so the log shows what the client really got back.
    """

    def __init__(self, app: ASGIApp, log: RequestLog) -> None:
        self.app = app
        self.log = log
        # Route objects live as long as the app, so their ids are stable keys.
        self._labels: dict[tuple[str, int, str], str | None] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        base: str = scope.get("root_path", "")
        if scope["type"] != "http" or relative_path(scope["path"], base).startswith(_UNLOGGED_PREFIXES):
            await self.app(scope, receive, send)
            return
        # When this app is mounted in another (the gateway mounts the sandbox), the outer router has
        # already put its Mount in scope["route"]; only a route our own router matched counts.
        outer_route = scope.get("route")
        scope.setdefault(RAW_RECEIVE_KEY, receive)
        chunks: list[bytes] = []
        status: list[int] = []

        async def recording_receive() -> Message:
            message = await receive()
            body = message.get("body")
            if body:
                chunks.append(body)
            return message

        recorded = False

        def record() -> None:
            # Once, and *before* the client can see the outcome (the response's last chunk, a dropped
            # connection, the 500 the error middleware sends): recording after the response went out let a
            # test thread read the log before the request was in it, now and then on a busy machine.
            nonlocal recorded
            if not recorded:
                recorded = True
                route = scope.get("route")
                matched = None if route is outer_route else route
                self._record(scope, base, matched, status[0] if status else None, b"".join(chunks))

        async def recording_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                record()
            await send(message)

        scope[RECORD_KEY] = record
        try:
            await self.app(scope, recording_receive, recording_send)
        except BaseException:
            # ServerErrorMiddleware (outside us) turns the exception into a 500 when nothing was sent yet;
            # a dropped connection (in-process, it is an exception too) answers nothing.
            if not scope.get(DROPPED_KEY):
                status.append(500)
            raise
        finally:
            record()

    def _record(
        self, scope: Scope, base: str, route: BaseRoute | None, status: int | None, body: bytes
    ) -> None:
        record = RequestRecord(
            method=scope["method"],
            path=relative_path(scope["path"], base),
            query=scope["query_string"].decode("latin-1"),
            route=_route_label(scope, route, base, self._labels),
            status=status,
            raw_headers=scope["headers"],
            body=body,
            fault=scope.get(FAULT_KEY),
            received_at=time.time(),
        )
        self.log.append(record)


def _log_of(request: Request) -> RequestLog:
    log: RequestLog = request.app.state.request_log
    return log


def _criteria(request: Request) -> dict[str, str | None]:
    params = request.query_params
    return {
        "method": params.get("method"),
        "route": params.get("route"),
        "path_prefix": params.get("path_prefix"),
    }


async def list_requests(request: Request) -> Response:
    """``GET /_sandbox/requests[?method=&route=&path_prefix=]``: the recorded requests, oldest first."""
    records = _log_of(request).filter(**_criteria(request))
    return JSONResponse({"data": [r.to_json() for r in records]})


async def clear_requests(request: Request) -> Response:
    """``DELETE /_sandbox/requests``: forget every record."""
    _log_of(request).clear()
    return Response(status_code=204)


async def request_stats(request: Request) -> Response:
    """``GET /_sandbox/stats``: request counts per route template and per status."""
    return JSONResponse(_log_of(request).stats())


def request_log_routes() -> list[Route]:
    """The admin routes over the request log (mount them only when the admin API is enabled)."""
    return [
        Route("/_sandbox/requests", list_requests, methods=["GET"]),
        Route("/_sandbox/requests", clear_requests, methods=["DELETE"]),
        Route("/_sandbox/stats", request_stats, methods=["GET"]),
    ]
