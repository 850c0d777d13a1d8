"""The backend client's HTTP layer: URLs, headers, timeouts, retries with backoff, and JSON decoding.

Everything that knows about HTTP lives here; `client.py` only names endpoints and validates payloads.
"""

from __future__ import annotations

import asyncio
import enum
import hashlib
import logging
import random
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass
from importlib import metadata
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote

import httpx
import orjson
from pydantic import SecretStr

from gateway.backend.errors import (
    BackendConnectionError,
    BackendDecodeError,
    BackendError,
    BackendStatusError,
    BackendTimeoutError,
    BadRequestError,
    IdempotencyConflictError,
    IdempotencyKeyTooLongError,
    InvalidSubaccountError,
    NotFoundError,
    UnauthorizedError,
    error_from_response,
)
from gateway.headers import is_printable_ascii

if TYPE_CHECKING:
    from gateway.backend.upstream import UpstreamResponse

logger = logging.getLogger("gateway.backend")

Sleep = Callable[[float], Awaitable[None]]
_USERINFO = re.compile(r"//[^/@\s]+@")
MAX_IDEMPOTENCY_KEY_LENGTH = 512  # the upstream's limit (reference section 5)
_NAMESPACED_KEY_PREFIX = "gw1-"
QueryValue = str | int | float | None


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry a call that may be retried.

    `max_attempts` counts the first try (1 = never retry). Between attempts the client waits a random time
    in `[0, min(max_delay, base_delay * 2**(n-1))]` ("full jitter", so many clients do not retry in lock
    step), or what the upstream's `Retry-After` asks for. A `Retry-After` above `max_retry_after` ends the
    retries: the caller gets the error (with its `retry_after`) rather than a retry the upstream asked us
    not to make yet.
    """

    max_attempts: int = 3
    base_delay: float = 0.25
    max_delay: float = 4.0
    max_retry_after: float = 10.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts counts the first try and must be at least 1")

    def backoff(self, attempt: int, rand: Callable[[], float] = random.random) -> float:
        """Full-jitter delay after failed attempt number `attempt` (1-based)."""
        ceiling: float = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        return ceiling * rand()

    def delay(
        self, attempt: int, retry_after: float | None, rand: Callable[[], float] = random.random
    ) -> float:
        """Delay before the next attempt: the server's `Retry-After` wins over our own backoff."""
        if retry_after is not None:
            return min(retry_after, self.max_retry_after)
        return self.backoff(attempt, rand)


class Retry(enum.Enum):
    """Which failures an endpoint may be retried on."""

    NEVER = "never"  # non-idempotent mutations without a key (checkout create, logo from URL)
    SAFE = "safe"  # reads, quotes, PUT and DELETE: repeating them changes nothing
    KEYED = "keyed"  # POSTs carrying an Idempotency-Key: the upstream performs them once


@dataclass(frozen=True)
class RequestEvent:
    """One attempt of one call, for metrics: no headers, no query, no body."""

    method: str
    route: str
    status: int | None
    attempt: int
    elapsed: float
    error: str | None = None


class AttemptSpan(Protocol):
    """A trace span of one attempt (`gateway.telemetry.tracing`): its ``traceparent`` rides on the request."""

    def inject(self, headers: MutableMapping[str, str]) -> None: ...

    def end(self, status: int | None, error: str | None) -> None: ...


#: Starts the span of one attempt from (method, route template, attempt number).
TraceAttempt = Callable[[str, str, int], AttemptSpan]


class DirectTransport(Protocol):
    """The pool under the httpx client, called without httpx's objects (`transport.AiohttpTransport`)."""

    async def fetch(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        content: bytes | None,
        timeouts: httpx.Timeout,
    ) -> UpstreamResponse: ...


@dataclass(frozen=True)
class RawResult:
    """A successful response as the client needs it."""

    status: int
    data: Any
    replayed: bool
    attempts: int


@dataclass(frozen=True)
class Call:
    """Everything one logical call needs; the HTTP layer may send it several times."""

    method: str
    route: str  # path template, e.g. "/orders/{id}": used in logs and metrics
    path: str  # the route with its (percent-encoded) parameters filled in
    retry: Retry
    api_key: str | None = None
    query: Mapping[str, QueryValue] | None = None
    json: Any = None
    content: bytes | None = None
    content_type: str | None = None
    subaccount_id: str | None = None
    idempotency_key: str | None = None  # the caller's key (what errors report, to retry with)
    idempotency_namespace: str | None = None  # its owner; see `upstream_idempotency_key`
    key_generated: bool = False
    request_id: str | None = None
    authenticated: bool = True  # False only for the health probe in pass-through mode
    timeout: httpx.Timeout | None = None


def fill_route(route: str, **params: str) -> str:
    """Fill a path template with ids, percent-encoding each so an id can never change the path."""
    encoded = {}
    for name, value in params.items():
        if not value or value in {".", ".."}:
            # No upstream id is empty or a dot segment; sending one would address another resource.
            raise NotFoundError(status=404, title="Not found", detail=f"invalid {name}", path=route)
        encoded[name] = quote(value, safe="")
    return route.format(**encoded)


def upstream_idempotency_key(key: str, namespace: str | None) -> str:
    """The `Idempotency-Key` the upstream receives for a caller's `key`.

    Callers sharing the gateway's upstream account would otherwise share one key space upstream: one could
    learn which keys another has used (a reuse with other input is refused) and block another's next order
    by taking its key first. So the key is confined to its owner: ``gw1-`` + SHA-256 of the namespace and the
    key (72 characters, well under the upstream's 512), the same for every retry by that owner, never the
    same for two owners. Without a namespace (pass-through: the caller's own account) the key goes as is.
    """
    if namespace is None:
        return key
    digest = hashlib.sha256(f"{len(namespace)}:{namespace}:{key}".encode()).hexdigest()
    return _NAMESPACED_KEY_PREFIX + digest


def new_idempotency_key() -> str:
    return str(uuid.uuid4())


def _user_agent() -> str:
    try:
        version = metadata.version("offsets-gateway")
    except metadata.PackageNotFoundError:
        version = "0"
    return f"offsets-gateway/{version}"


def _strip_userinfo(base_url: str) -> str:
    """Drop `user:pass@` from the base URL: the upstream authenticates by bearer key, and httpx would turn
    userinfo into a Basic Authorization header that replaces the bearer one."""
    url = httpx.URL(base_url)
    if url.scheme not in {"http", "https"} or not url.host:
        raise ValueError("the upstream base URL must be an absolute http(s) URL")
    if url.userinfo:
        logger.warning("ignoring credentials embedded in the upstream URL; use the API key setting")
        url = url.copy_with(username=None, password=None)
    return str(url).rstrip("/")


def _secret(value: str | SecretStr | None) -> str | None:
    return value.get_secret_value() if isinstance(value, SecretStr) else value


class HttpTransport:
    """Sends `Call`s to the upstream with auth, timeouts and retries; raises the `errors` tree.

    direct: the pool the `http` client sends through, when it can be called without httpx's objects
    (the app's `transport.AiohttpTransport`). Calls then go to it directly, with the headers the client
    would have added (its defaults, e.g. ``Accept-Encoding``, as they were when this object was made),
    the call's timeout or the client's, no redirects and no auth or cookies, as through the client;
    without it (tests' mock and in-process transports, the embedded sandbox) they go through `http`.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        api_key: str | SecretStr | None,
        retry: RetryPolicy,
        timeout: httpx.Timeout | None = None,
        max_concurrency: int | None = None,
        on_request: Callable[[RequestEvent], None] | None = None,
        trace_attempt: TraceAttempt | None = None,
        sleep: Sleep = asyncio.sleep,
        rand: Callable[[], float] = random.random,
        direct: DirectTransport | None = None,
    ) -> None:
        self._http = http
        self._direct = direct
        self._client_headers = dict(http.headers.items())  # lower-case names
        self._trace_attempt = trace_attempt
        self._base_url = _strip_userinfo(base_url)
        self._api_key = _secret(api_key)
        self.retry = retry
        self._timeout = timeout
        self._limit = asyncio.Semaphore(max_concurrency) if max_concurrency else None
        self._on_request = on_request
        self._sleep = sleep
        self._rand = rand
        self._user_agent = _user_agent()

    @property
    def has_api_key(self) -> bool:
        return bool(self._api_key)

    def __repr__(self) -> str:
        return f"HttpTransport(base_url={self._base_url!r})"

    async def send(self, call: Call) -> RawResult:
        """Send `call`, retrying as its `Retry` mode and the policy allow; return the decoded 2xx response."""
        _check_headers(call, call.api_key or self._api_key)
        try:
            return await self._send_with_retries(call)
        except BackendError as exc:
            # A keyed mutation that failed may still have happened upstream; the key lets the caller
            # retry it (or read the outcome) without ever doing it twice.
            exc.idempotency_key = call.idempotency_key
            raise

    async def _send_with_retries(self, call: Call) -> RawResult:
        attempt = 1
        while True:
            try:
                response = await self._attempt(call, attempt)
                if response.is_success:
                    return self._result(call, response, attempt)
                raise error_from_response(response, method=call.method, path=call.path)
            except BackendError as exc:
                if not self._should_retry(call, exc, attempt):
                    raise
                delay = self.retry.delay(attempt, _retry_after(exc), self._rand)
                logger.info(
                    "retrying %s %s in %.2fs after %s", call.method, call.route, delay, type(exc).__name__
                )
                await self._sleep(delay)
                attempt += 1

    def _should_retry(self, call: Call, exc: BackendError, attempt: int) -> bool:
        if attempt >= self.retry.max_attempts or call.retry is Retry.NEVER:
            return False
        if isinstance(exc, BackendDecodeError):
            return False
        retry_after = _retry_after(exc)
        if retry_after is not None and retry_after > self.retry.max_retry_after:
            return False  # the upstream asks for a longer pause than we may wait: retrying early is rude
        if isinstance(exc, IdempotencyConflictError):
            # Only our own earlier attempt can hold our key when we are retrying: it is still in flight
            # upstream, so wait for it and then get its replayed result. On the first attempt the key
            # belongs to a concurrent caller request, which the caller must hear about.
            return call.retry is Retry.KEYED and attempt > 1
        if isinstance(exc, BackendStatusError):
            return exc.status == 429 or exc.status >= 500
        return isinstance(exc, BackendConnectionError)

    async def _attempt(self, call: Call, attempt: int) -> httpx.Response | UpstreamResponse:
        started = time.perf_counter()
        status: int | None = None
        error: str | None = None
        span = self._trace_attempt(call.method, call.route, attempt) if self._trace_attempt else None
        try:
            if self._limit is None:
                response = await self._exchange(call, span)
            else:
                async with self._limit:
                    response = await self._exchange(call, span)
            status = response.status_code
            return response
        except httpx.TimeoutException as exc:
            error = type(exc).__name__
            message = f"upstream timed out ({self._describe(exc, call)})"
            raise BackendTimeoutError(message, method=call.method, path=call.path) from None
        except httpx.DecodingError as exc:  # a body whose Content-Encoding lies
            error = type(exc).__name__
            message = f"upstream sent an undecodable body ({self._describe(exc, call)})"
            raise BackendDecodeError(message, method=call.method, path=call.path) from None
        except httpx.RequestError as exc:
            error = type(exc).__name__
            message = f"could not reach upstream ({self._describe(exc, call)})"
            raise BackendConnectionError(message, method=call.method, path=call.path) from None
        finally:
            if span is not None:
                span.end(status, error)
            self._report(call, attempt, status, time.perf_counter() - started, error)

    def _describe(self, exc: httpx.RequestError, call: Call) -> str:
        """The transport error's class and text, minus anything secret. The original exception is not
        chained: it holds the request, headers and all."""
        text = str(exc)
        for secret in (call.api_key, self._api_key):
            if secret:
                text = text.replace(secret, "***")
        text = _USERINFO.sub("//***@", text.replace(self._base_url, "<upstream>"))[:200]
        return f"{type(exc).__name__}: {text}" if text else type(exc).__name__

    async def _exchange(self, call: Call, span: AttemptSpan | None) -> httpx.Response | UpstreamResponse:
        if self._direct is None:
            request = self._build(call)
            if span is not None:
                span.inject(request.headers)
            # auth=None: this layer owns the Authorization header, whatever the shared client's default.
            return await self._http.send(request, auth=None)
        headers = self._client_headers.copy()
        for name, value in self._headers(call).items():
            headers[name.lower()] = value
        if span is not None:
            span.inject(headers)
        timeout = call.timeout or self._timeout or self._http.timeout
        return await self._direct.fetch(call.method, self._url(call), headers, self._content(call), timeout)

    def _url(self, call: Call) -> str:
        url = self._base_url + call.path
        params = _params(call)
        # As `build_request` merges them: httpx's query encoding, the same on both paths.
        return str(httpx.URL(url).copy_merge_params(params)) if params else url

    def _build(self, call: Call) -> httpx.Request:
        timeout = call.timeout or self._timeout
        return self._http.build_request(
            call.method,
            self._base_url + call.path,
            params=_params(call) or None,
            content=self._content(call),
            headers=self._headers(call),
            timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
        )

    @staticmethod
    def _content(call: Call) -> bytes | None:
        return orjson.dumps(call.json) if call.json is not None else call.content

    def _headers(self, call: Call) -> dict[str, str]:
        headers = {"Accept": "application/json", "User-Agent": self._user_agent}
        api_key = call.api_key or self._api_key
        if call.authenticated and api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        if call.json is not None:
            headers["Content-Type"] = "application/json"
        elif call.content_type is not None:
            headers["Content-Type"] = call.content_type
        if call.subaccount_id is not None:
            headers["X-Subaccount-Id"] = call.subaccount_id
        if call.idempotency_key is not None:
            headers["Idempotency-Key"] = upstream_idempotency_key(
                call.idempotency_key, call.idempotency_namespace
            )
        # A correlation aid only: an unusable id is left off rather than failing the call.
        if call.request_id is not None and _is_header_safe(call.request_id):
            headers["X-Request-Id"] = call.request_id
        return headers

    def _result(self, call: Call, response: httpx.Response | UpstreamResponse, attempts: int) -> RawResult:
        replayed = response.headers.get("x-idempotent-replay", "").strip().lower() == "true"
        # A replay of a key this client made up for the call can only be of our own lost earlier attempt:
        # for the caller the action happened now, once.
        replayed = replayed and not call.key_generated
        return RawResult(response.status_code, self._decode(call, response), replayed, attempts)

    @staticmethod
    def _decode(call: Call, response: httpx.Response | UpstreamResponse) -> Any:
        if response.status_code == 204 or not response.content:
            return None
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError as exc:
            raise BackendDecodeError(
                "upstream sent a body that is not JSON", method=call.method, path=call.path
            ) from exc

    def _report(
        self, call: Call, attempt: int, status: int | None, elapsed: float, error: str | None
    ) -> None:
        logger.debug(
            "%s %s -> %s (attempt %d, %.3fs)",
            call.method,
            call.route,
            status if status is not None else error,
            attempt,
            elapsed,
        )
        if self._on_request is None:
            return
        try:
            self._on_request(RequestEvent(call.method, call.route, status, attempt, elapsed, error))
        except Exception:  # a broken metrics hook must not fail the call it observes
            logger.exception("on_request hook failed for %s %s", call.method, call.route)


def _params(call: Call) -> dict[str, QueryValue]:
    return {k: v for k, v in (call.query or {}).items() if v is not None}


def _check_headers(call: Call, api_key: str | None) -> None:
    """Reject header values before sending. Without a key the upstream could only answer 401; a value with
    non-ASCII or control characters would fail inside httpx as a protocol error, which must not look like
    (and be retried as) a connection failure."""
    if call.authenticated and not _is_header_safe(api_key):
        raise UnauthorizedError(
            status=401, title="Unauthorized", detail="no usable API key", method=call.method, path=call.path
        )
    if call.subaccount_id is not None and not _is_header_safe(call.subaccount_id):
        raise InvalidSubaccountError(
            status=400, title="Invalid subaccount id", method=call.method, path=call.path
        )
    if call.idempotency_key is not None and not _is_header_safe(call.idempotency_key):
        raise BadRequestError(
            status=400,
            title="Invalid idempotency key",
            detail="use printable ASCII characters only",
            method=call.method,
            path=call.path,
        )
    if call.idempotency_key is not None and len(call.idempotency_key) > MAX_IDEMPOTENCY_KEY_LENGTH:
        # The upstream's own limit, checked here because a namespaced key reaches it as a short digest.
        raise IdempotencyKeyTooLongError(
            status=400,
            title="Idempotency key too long",
            detail=f"use at most {MAX_IDEMPOTENCY_KEY_LENGTH} characters",
            method=call.method,
            path=call.path,
        )


def _is_header_safe(value: str | None) -> bool:
    return bool(value) and is_printable_ascii(value or "")


def _retry_after(exc: BackendError) -> float | None:
    return exc.retry_after if isinstance(exc, BackendStatusError) else None
