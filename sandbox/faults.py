"""Fault injection: sandbox-only latency, error statuses, dropped connections and lost responses on demand.

Resilience tests and benchmarks need an upstream that misbehaves exactly when told to. A `FaultRule` says
which requests it hits (a route template such as ``"POST /v1/orders"``, which must be one of the app's routes
as the request log names them, or a path prefix and optional method; neither = every API request) and what
happens to them:

* ``latency_ms``: wait before handling (combines with any of the below, or alone);
* ``status``: answer 500/502/503, or 429 with ``Retry-After``, *without* running the endpoint;
* ``drop_connection``: close the TCP connection without sending a byte (the client sees a transport error);
* ``fail_after_processing``: run the endpoint fully (the order *is* created), then throw its response away
  and answer ``status`` (502 by default) or drop the connection - the case idempotency keys exist for.

``error_rate`` (0..1) is the chance a matching request is hit; ``times`` caps how many requests the rule hits.
The first matching rule that hits wins. Requests under ``/_sandbox/`` are never faulted, so tests can always
clear faults and drive the lifecycle.

In-process: ``app.state.faults.set([...])`` / ``.add(...)`` / ``.clear()``; over HTTP (admin only):
``GET/PUT/POST/DELETE /_sandbox/faults``.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Literal, Self

import httpx
import orjson
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox.requestlog import (
    DROPPED_KEY,
    FAULT_KEY,
    RAW_RECEIVE_KEY,
    RECORD_KEY,
    relative_path,
    route_templates,
)

_ROUTE_RE = re.compile(r"^([A-Z]+) (/\S*)$")
_PARAM_RE = re.compile(r"\{[^}/]+\}")
_EXEMPT_PREFIX = "/_sandbox/"
INVALID_PARAMETERS = "https://api.cnaught.com/v1/errors/invalid-parameters"
_DISCONNECT_WAIT = 5.0  # seconds; connection_lost normally runs on the very next event-loop turn


class FaultRule(BaseModel):
    """One fault: which requests it hits and what it does to them (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    route: str | None = Field(default=None, description='Route template, e.g. "POST /v1/orders/{id}/cancel".')
    path_prefix: str | None = Field(default=None, pattern=r"^/")
    method: str | None = Field(default=None, pattern=r"^[A-Za-z]+$")
    latency_ms: float = Field(default=0, ge=0, le=60_000)
    status: Literal[500, 502, 503, 429] | None = None
    retry_after: int | None = Field(default=None, ge=0, le=86_400)
    error_rate: float = Field(default=1.0, ge=0, le=1)
    drop_connection: bool = False
    fail_after_processing: bool = False
    times: int | None = Field(default=None, ge=1)

    @field_validator("route")
    @classmethod
    def _known_route(cls, route: str | None, info: ValidationInfo) -> str | None:
        # A typo ("POST /v1/order") would be accepted and never fire: refuse it when the routes are known.
        known: frozenset[str] | None = (info.context or {}).get("routes")
        if route is not None and known is not None and _ROUTE_RE.match(route) and route not in known:
            raise ValueError(
                f"no route {route!r} in this sandbox (e.g. {min(known)!r}; see GET /v1/openapi.json)"
            )
        return route

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.route is not None and not _ROUTE_RE.match(self.route):
            raise ValueError('route must look like "POST /v1/orders" (upper-case method, one space, path)')
        if self.route is not None and (self.path_prefix is not None or self.method is not None):
            raise ValueError("give either route, or path_prefix and/or method, not both")
        if self.drop_connection and self.status is not None:
            raise ValueError("drop_connection and status are exclusive: a dropped connection has no status")
        if self.retry_after is not None and self.status not in (429, 503):
            raise ValueError("retry_after needs status 429 or 503")
        if not (self.latency_ms or self.status or self.drop_connection or self.fail_after_processing):
            raise ValueError(
                "a rule needs an effect: latency_ms, status, drop_connection or fail_after_processing"
            )
        return self

    def compiled(self) -> tuple[str | None, re.Pattern[str]]:
        """The (method, path regex) this rule matches; route parameters match one path segment."""
        if self.route is not None:
            method, template = self.route.split(" ", 1)
            literal = _PARAM_RE.split(template)
            return method, re.compile("[^/]+".join(re.escape(part) for part in literal) + "$")
        prefix = re.escape(self.path_prefix or "/")
        return (self.method.upper() if self.method else None), re.compile(prefix)

    def describe(self) -> str:
        """A short label for the request log, e.g. ``"status 503"`` or ``"fail_after_processing: drop"``."""
        if self.fail_after_processing:
            return "fail_after_processing: " + (
                "drop" if self.drop_connection else f"status {self.status or 502}"
            )
        if self.drop_connection:
            return "drop_connection"
        if self.status is not None:
            return f"status {self.status}"
        return f"latency {self.latency_ms:g}ms"


_RULES = TypeAdapter(list[FaultRule])


@dataclass(slots=True)
class _ActiveRule:
    rule: FaultRule
    method: str | None
    path: re.Pattern[str]
    remaining: int | None
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.remaining == 0:
            return False
        return (self.method is None or self.method == method) and self.path.match(path) is not None

    def to_json(self) -> dict[str, Any]:
        return {**self.rule.model_dump(exclude_none=True), "remaining": self.remaining, "hits": self.hits}


def _activate(rule: FaultRule) -> _ActiveRule:
    method, path = rule.compiled()
    return _ActiveRule(rule=rule, method=method, path=path, remaining=rule.times)


class Faults:
    """The live fault rules of one sandbox app; safe to change from the test thread while uvicorn serves."""

    def __init__(self, *, seed: int | None = None, routes: Iterable[BaseRoute] | None = None) -> None:
        # The app's faultable route templates (never /_sandbox/); None = rules' routes are not checked.
        self._routes = None if routes is None else self._faultable(routes)
        self._lock = threading.Lock()
        self._rules: list[_ActiveRule] = []
        self._random = random.Random(seed)

    @staticmethod
    def _faultable(routes: Iterable[BaseRoute]) -> frozenset[str]:
        return frozenset(
            t for t in route_templates(routes) if not t.split(" ", 1)[1].startswith(_EXEMPT_PREFIX)
        )

    def parse(self, rules: Iterable[FaultRule | Mapping[str, Any]]) -> list[FaultRule]:
        """Validate rules given as dicts (raises `pydantic.ValidationError`); routes must be the app's."""
        data = [r.model_dump() if isinstance(r, FaultRule) else r for r in rules]
        return _RULES.validate_python(data, context={"routes": self._routes})

    def set(self, rules: Iterable[FaultRule | Mapping[str, Any]]) -> None:
        """Replace every rule (validated first: on error nothing changes)."""
        active = [_activate(rule) for rule in self.parse(rules)]
        with self._lock:
            self._rules = active

    def add(self, rule: FaultRule | Mapping[str, Any]) -> None:
        """Append one rule after the existing ones."""
        (parsed,) = self.parse([rule])
        with self._lock:
            self._rules = [*self._rules, _activate(parsed)]

    def clear(self) -> None:
        """Remove every rule: the sandbox behaves normally again."""
        with self._lock:
            self._rules = []

    def snapshot(self) -> list[dict[str, Any]]:
        """The rules as JSON, each with how many more requests it may hit (`remaining`) and its `hits`."""
        with self._lock:
            return [active.to_json() for active in self._rules]

    def __bool__(self) -> bool:
        return bool(self._rules)

    def pick(self, method: str, path: str) -> FaultRule | None:
        """The rule that hits this request, if any (consumes one of its `times`)."""
        with self._lock:
            for active in self._rules:
                if active.matches(method, path) and self._random.random() < active.rule.error_rate:
                    active.hits += 1
                    if active.remaining is not None:
                        active.remaining -= 1
                    return active.rule
        return None


def _problem_bytes(status: int, title: str, detail: str) -> bytes:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    return orjson.dumps(body)


async def _send_fault_status(rule: FaultRule, send: Send) -> None:
    status = rule.status or 502
    body = _problem_bytes(status, HTTPStatus(status).phrase, "Injected by the sandbox fault API.")
    headers = [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode())]
    if rule.retry_after is not None or status == 429:
        headers.append(
            (b"retry-after", str(rule.retry_after if rule.retry_after is not None else 1).encode())
        )
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class _BodyTrackingReceive:
    """`receive`, remembering whether the request has been read to its end (by the endpoint or by us)."""

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self.complete = False

    async def __call__(self) -> Message:
        message = await self._receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            self.complete = True
        return message

    async def drain(self) -> None:
        """Read whatever is left of the request body."""
        while not self.complete:
            await self()


async def _drop_connection(scope: Scope, receive: _BodyTrackingReceive) -> None:
    """Close the client's TCP connection without a response, once the whole request has arrived.

    uvicorn answers 500 to an app that fails before responding, so the only way to show the client a real
    dropped connection is to close uvicorn's transport (its request cycle, the owner of `receive`, holds it).
    The body is read first: a socket closed with request bytes still unread (or arriving late, e.g. the
    client's second write on a loaded machine) makes the kernel answer with a reset, and the client would see
    "connection reset" instead of "server disconnected", at random. Reading it also lets the request log
    record what the client sent. In-process (httpx.ASGITransport, TestClient) there is no socket: raise the
    error httpx would raise.
    """
    raw_receive = scope.get(RAW_RECEIVE_KEY, receive)
    cycle = getattr(raw_receive, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise httpx.RemoteProtocolError("Server disconnected without sending a response (sandbox fault).")
    await receive.drain()
    record = scope.get(RECORD_KEY)
    if record is not None:
        record()  # the client may look at the request log as soon as it sees the connection go
    transport.close()
    # Wait for connection_lost (uvicorn then reports a disconnect), so uvicorn knows the client is gone and
    # does not try to answer 500; bounded in case the server never reports it.
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(_DISCONNECT_WAIT):
            while (await raw_receive())["type"] != "http.disconnect":
                pass


class FaultMiddleware:
    """Pure ASGI middleware applying the app's `Faults`; costs one truthiness check when no rule is set."""

    def __init__(self, app: ASGIApp, faults: Faults) -> None:
        self.app = app
        self.faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.faults or scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = relative_path(scope["path"], scope.get("root_path", ""))
        rule = None if path.startswith(_EXEMPT_PREFIX) else self.faults.pick(scope["method"], path)
        if rule is None:
            await self.app(scope, receive, send)
            return
        scope[FAULT_KEY] = rule.describe()
        if rule.latency_ms:
            await asyncio.sleep(rule.latency_ms / 1000)
        await self._apply(rule, scope, _BodyTrackingReceive(receive), send)

    async def _apply(self, rule: FaultRule, scope: Scope, receive: _BodyTrackingReceive, send: Send) -> None:
        if rule.fail_after_processing:
            await self._run_discarding_response(scope, receive)
        if rule.drop_connection:
            scope[DROPPED_KEY] = True
            await _drop_connection(scope, receive)
        elif rule.status is not None or rule.fail_after_processing:
            await _send_fault_status(rule, send)
        else:
            await self.app(scope, receive, send)

    async def _run_discarding_response(self, scope: Scope, receive: Receive) -> None:
        """Run the endpoint to completion (side effects happen) and throw its response away."""
        statuses: list[int] = []

        async def discard(message: Message) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])

        await self.app(scope, receive, discard)
        if statuses:
            scope[FAULT_KEY] = f"{scope[FAULT_KEY]} (endpoint answered {statuses[0]})"


def _json(data: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")


def _invalid_rules(error: ValidationError | ValueError) -> Response:
    errors: dict[str, list[str]] = {}
    if isinstance(error, ValidationError):
        for item in error.errors(include_url=False, include_input=False):
            field = ".".join(str(part) for part in item["loc"]) or "rules"
            errors.setdefault(field, []).append(item["msg"])
    else:
        errors["rules"] = [str(error)]
    body = {"type": INVALID_PARAMETERS, "title": "Your request parameters didn't validate", "status": 400}
    return Response(orjson.dumps({**body, "errors": errors}), 400, media_type="application/problem+json")


def _faults_of(request: Request) -> Faults:
    faults: Faults = request.app.state.faults
    return faults


async def _body_rules(request: Request) -> list[Any]:
    try:
        data = orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        raise ValueError("the body must be JSON: a list of fault rules") from exc
    if isinstance(data, Mapping) and "rules" in data:
        data = data["rules"]
    if not isinstance(data, list):
        raise ValueError('the body must be a list of fault rules (or {"rules": [...]})')
    return data


async def get_faults(request: Request) -> Response:
    """``GET /_sandbox/faults``: the live rules with their remaining counts."""
    return _json({"data": _faults_of(request).snapshot()})


async def put_faults(request: Request) -> Response:
    """``PUT /_sandbox/faults``: replace every rule; 400 problem+json (nothing changed) if one is invalid."""
    try:
        _faults_of(request).set(await _body_rules(request))
    except (ValidationError, ValueError) as exc:
        return _invalid_rules(exc)
    return await get_faults(request)


async def post_fault(request: Request) -> Response:
    """``POST /_sandbox/faults``: append one rule (a JSON object)."""
    try:
        data = orjson.loads(await request.body())
        if not isinstance(data, Mapping):
            raise ValueError("the body must be one fault rule (a JSON object)")
        _faults_of(request).add(data)
    except orjson.JSONDecodeError:
        return _invalid_rules(ValueError("the body must be one fault rule (a JSON object)"))
    except (ValidationError, ValueError) as exc:
        return _invalid_rules(exc)
    return _json({"data": _faults_of(request).snapshot()}, status=201)


async def delete_faults(request: Request) -> Response:
    """``DELETE /_sandbox/faults``: remove every rule."""
    _faults_of(request).clear()
    return Response(status_code=204)


def fault_routes() -> list[Route]:
    """The admin routes of the fault API (mount them only when the admin API is enabled)."""
    return [
        Route("/_sandbox/faults", get_faults, methods=["GET"]),
        Route("/_sandbox/faults", put_faults, methods=["PUT"]),
        Route("/_sandbox/faults", post_fault, methods=["POST"]),
        Route("/_sandbox/faults", delete_faults, methods=["DELETE"]),
    ]
