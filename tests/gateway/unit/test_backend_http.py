"""The backend's HTTP layer: what is retried, how long it waits, one key across all attempts."""

from __future__ import annotations

import asyncio
import email.utils
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from gateway.backend import (
    BackendConnectionError,
    BackendDecodeError,
    BackendTimeoutError,
    BadRequestError,
    CallOptions,
    IdempotencyConflictError,
    InvalidParametersError,
    InvalidSubaccountError,
    NotFoundError,
    OffsetsClient,
    RateLimitedError,
    RequestEvent,
    RetryPolicy,
    ServerError,
    UnauthorizedError,
)
from gateway.backend import models as m
from gateway.backend._http import upstream_idempotency_key
from gateway.backend.upstream import UpstreamResponse

BASE = "https://api.example.test/v1"
KEY = "sk_live_dont_leak_me"
ORDER = {
    "id": "Gre28Fc35bt3",
    "order_number": "1-2",
    "created_on": "2022-08-01T18:00:00.000000Z",
    "amount_kg": 10,
    "state": "placed",
    "price_usd_cents": 20,
}
SUBACCOUNT = {"id": "5nubL0NS", "created_on": "2024-01-01T00:00:00Z", "name": "A"}
CONCURRENT = {
    "type": "https://api.cnaught.com/v1/errors/idempotency-concurrent-requests",
    "title": "Concurrent requests",
    "status": 409,
}
Step = httpx.Response | type[httpx.RequestError]


class Script:
    """A MockTransport handler that answers attempt n with steps[n] (the last step repeats)."""

    def __init__(self, *steps: Step) -> None:
        self.steps = list(steps)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        step = self.steps[min(len(self.requests), len(self.steps)) - 1]
        if isinstance(step, httpx.Response):
            return step
        raise step(f"failed talking to {request.url} with {request.headers.get('authorization')}")

    def header(self, name: str) -> list[str | None]:
        return [r.headers.get(name) for r in self.requests]


class DirectScript:
    """The script behind `AiohttpTransport.fetch`'s interface: the client's path without httpx's objects.

    The request it records is rebuilt from what `fetch` was given, so both paths are checked alike.
    """

    def __init__(self, script: Script) -> None:
        self.script = script

    async def fetch(
        self, method: str, url: str, headers: Any, content: bytes | None, timeouts: httpx.Timeout
    ) -> UpstreamResponse:
        extensions = {"timeout": timeouts.as_dict()}
        request = httpx.Request(method, url, headers=headers, content=content, extensions=extensions)
        response = self.script(request)
        body = response.read()  # decoded as `fetch` decodes: a lying Content-Encoding raises here
        headers = CIMultiDictProxy(CIMultiDict(response.headers.multi_items()))
        return UpstreamResponse(response.status_code, response.reason_phrase, headers, body)


class Sleeps(list[float]):
    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


def ok(body: Any, status: int = 200, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


def fail(status: int, body: Any = None, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=body or {"title": "boom", "status": status}, headers=headers)


POLICY = RetryPolicy(max_attempts=4, base_delay=1.0, max_delay=3.0, max_retry_after=20.0)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def events() -> list[RequestEvent]:
    return []


@pytest.fixture
async def http() -> AsyncIterator[list[httpx.AsyncClient]]:
    opened: list[httpx.AsyncClient] = []
    yield opened
    for client in opened:
        await client.aclose()


@pytest.fixture(params=["httpx", "direct"])
def make(
    request: pytest.FixtureRequest, http: list[httpx.AsyncClient], sleeps: Sleeps, events: list[RequestEvent]
) -> Any:
    """An `OffsetsClient` over a script, sending through httpx or straight to the pool (`direct`)."""

    def build(script: Script, policy: RetryPolicy = POLICY, **kwargs: Any) -> OffsetsClient:
        client = httpx.AsyncClient(transport=httpx.MockTransport(script))
        http.append(client)
        direct = DirectScript(script) if request.param == "direct" else None
        return OffsetsClient(
            client,
            direct=direct,
            base_url=BASE,
            api_key=KEY,
            retry=policy,
            sleep=sleeps,
            rand=lambda: 1.0,
            on_request=events.append,
            **kwargs,
        )

    return build


# --- reads --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "first",
    [
        fail(500),
        fail(502),
        fail(503),
        fail(504),
        fail(429),
        httpx.ConnectError,
        httpx.ReadTimeout,
        httpx.ReadError,
    ],
    ids=lambda s: str(getattr(s, "status_code", None) or s.__name__),
)
async def test_reads_are_retried_on_transient_failures(first: Step, make: Any, sleeps: Sleeps) -> None:
    script = Script(first, ok(ORDER))
    order = await make(script).get_order("Gre28Fc35bt3")
    assert order.id == "Gre28Fc35bt3"
    assert len(script.requests) == 2
    assert sleeps == [1.0]  # full jitter with rand=1: base_delay * 2**0


async def test_quotes_are_post_but_retried_like_reads(make: Any) -> None:
    script = Script(fail(503), ok({"amount_kg": 1, "price_usd_cents": 2}))
    await make(script).quote_flight(m.FlightQuoteParams(distance_km=5))
    assert len(script.requests) == 2


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
async def test_client_errors_are_not_retried(status: int, make: Any) -> None:
    script = Script(fail(status), ok(ORDER))
    with pytest.raises(Exception, match=str(status)):
        await make(script).get_order("x")
    assert len(script.requests) == 1


async def test_retries_stop_after_max_attempts(make: Any, sleeps: Sleeps, events: list[RequestEvent]) -> None:
    script = Script(fail(503))
    with pytest.raises(ServerError) as info:
        await make(script).list_orders()
    assert info.value.status == 503
    assert len(script.requests) == 4
    assert sleeps == [1.0, 2.0, 3.0]  # doubling, capped at max_delay
    assert [(e.attempt, e.status) for e in events] == [(1, 503), (2, 503), (3, 503), (4, 503)]


async def test_exhausted_timeouts_raise_the_timeout_error(make: Any) -> None:
    script = Script(httpx.ConnectTimeout)
    with pytest.raises(BackendTimeoutError) as info:
        await make(script).list_portfolios()
    assert isinstance(info.value, BackendConnectionError)
    assert len(script.requests) == 4


async def test_one_attempt_policy_never_retries(make: Any) -> None:
    script = Script(fail(503), ok(ORDER))
    with pytest.raises(ServerError):
        await make(script, RetryPolicy(max_attempts=1)).get_order("x")
    assert len(script.requests) == 1


# --- Retry-After -------------------------------------------------------------------------------------------


async def test_retry_after_seconds_is_honoured(make: Any, sleeps: Sleeps) -> None:
    script = Script(fail(429, **{"Retry-After": "7"}), ok(ORDER))
    await make(script).get_order("x")
    assert sleeps == [7.0]


async def test_retry_after_beyond_the_cap_ends_the_retries(make: Any, sleeps: Sleeps) -> None:
    script = Script(fail(503, **{"Retry-After": "3600"}), ok(ORDER))
    with pytest.raises(ServerError) as info:
        await make(script).get_order("x")
    assert info.value.retry_after == 3600.0
    assert len(script.requests) == 1 and sleeps == []


async def test_retry_after_at_the_cap_is_waited_for(make: Any, sleeps: Sleeps) -> None:
    script = Script(fail(503, **{"Retry-After": "20"}), ok(ORDER))
    await make(script).get_order("x")
    assert sleeps == [20.0]


async def test_retry_after_http_date_is_honoured(make: Any, sleeps: Sleeps) -> None:
    when = email.utils.formatdate(time.time() + 12, usegmt=True)
    script = Script(fail(429, **{"Retry-After": when}), ok(ORDER))
    await make(script).get_order("x")
    assert len(sleeps) == 1 and 9.0 <= sleeps[0] <= 12.0


async def test_exhausted_rate_limit_keeps_retry_after_for_the_caller(make: Any) -> None:
    script = Script(fail(429, **{"Retry-After": "2"}))
    with pytest.raises(RateLimitedError) as info:
        await make(script).get_order("x")
    assert info.value.retry_after == 2.0


# --- keyed mutations ---------------------------------------------------------------------------------------


async def test_keyed_post_reuses_one_generated_key_on_every_attempt(make: Any) -> None:
    # The first response is lost after the upstream created the order; the retry is answered as a replay.
    script = Script(fail(502), httpx.ReadTimeout, ok(ORDER, 201, **{"X-Idempotent-Replay": "true"}))
    result = await make(script).create_order(m.CreateOrderParams(amount_kg=10))

    keys = script.header("idempotency-key")
    assert len(keys) == 3 and len(set(keys)) == 1 and keys[0]
    assert len({r.content for r in script.requests}) == 1
    # The replay is of our own lost attempt: for the caller this call did the work, once.
    assert result.replayed is False and result.attempts == 3


async def test_caller_key_is_used_on_every_attempt_and_replay_reported(make: Any) -> None:
    script = Script(httpx.ConnectError, ok(ORDER, 200, **{"X-Idempotent-Replay": "true"}))
    result = await make(script).cancel_order("Gre28Fc35bt3", opts=CallOptions(idempotency_key="caller-key"))
    assert script.header("idempotency-key") == ["caller-key", "caller-key"]
    assert result.replayed is True


async def test_keyed_retry_waits_out_our_own_in_flight_attempt(make: Any, sleeps: Sleeps) -> None:
    script = Script(httpx.ReadTimeout, fail(409, CONCURRENT, **{"Retry-After": "1"}), ok(SUBACCOUNT, 201))
    result = await make(script).create_subaccount(m.CreateSubaccountParams(name="A"))
    assert result.data.id == "5nubL0NS"
    assert len(script.requests) == 3 and len(set(script.header("idempotency-key"))) == 1
    assert sleeps == [1.0, 1.0]


async def test_concurrent_key_on_first_attempt_is_the_callers_conflict(make: Any) -> None:
    script = Script(fail(409, CONCURRENT), ok(ORDER, 201))
    with pytest.raises(IdempotencyConflictError):
        await make(script).create_order(
            m.CreateOrderParams(amount_kg=1), opts=CallOptions(idempotency_key="k")
        )
    assert len(script.requests) == 1


async def test_keyed_post_is_not_retried_on_validation_errors(make: Any) -> None:
    problem = {"type": "https://api.cnaught.com/v1/errors/invalid-parameters", "status": 400, "title": "bad"}
    script = Script(fail(400, problem), ok(ORDER, 201))
    with pytest.raises(InvalidParametersError):
        await make(script).create_order(m.CreateOrderParams(amount_kg=-1))
    assert len(script.requests) == 1


# --- unkeyed mutations ----------------------------------------------------------------------------------


@pytest.mark.parametrize("failure", [fail(503), fail(429), httpx.ReadTimeout, httpx.ConnectError])
async def test_checkout_create_is_never_retried(failure: Step, make: Any) -> None:
    script = Script(failure, ok({}, 201))
    params = m.CreateCheckoutSessionParams(
        amount_kg=50, success_url="https://a.test", cancel_url="https://b.test"
    )
    with pytest.raises(Exception):  # noqa: B017 - the class varies with the failure; the count is the point
        await make(script).create_checkout_session(params)
    assert len(script.requests) == 1


async def test_logo_from_url_is_not_retried(make: Any) -> None:
    script = Script(fail(502), ok(SUBACCOUNT))
    with pytest.raises(ServerError):
        await make(script).set_subaccount_logo_url("5nubL0NS", "https://img.test/a.png")
    assert len(script.requests) == 1


async def test_put_and_delete_are_retried(make: Any) -> None:
    script = Script(fail(503), ok(SUBACCOUNT))
    await make(script).update_subaccount("5nubL0NS", m.UpdateSubaccountParams(name="B"))
    assert [r.method for r in script.requests] == ["PUT", "PUT"]

    script = Script(httpx.ConnectError, httpx.Response(204))
    await make(script).delete_subaccount("5nubL0NS")
    assert [r.method for r in script.requests] == ["DELETE", "DELETE"]
    assert "idempotency-key" not in script.requests[0].headers


# --- backoff, concurrency, secrecy ------------------------------------------------------------------------


@pytest.mark.parametrize(("attempt", "ceiling"), [(1, 0.5), (2, 1.0), (3, 2.0), (4, 2.0), (30, 2.0)])
def test_backoff_is_full_jitter_under_a_doubling_capped_ceiling(attempt: int, ceiling: float) -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=2.0)
    assert policy.backoff(attempt, lambda: 1.0) == ceiling
    assert policy.backoff(attempt, lambda: 0.0) == 0.0
    assert policy.backoff(attempt, lambda: 0.5) == ceiling / 2


async def test_max_concurrency_bounds_requests_in_flight(http: list[httpx.AsyncClient]) -> None:
    in_flight = peak = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        for _ in range(5):
            await asyncio.sleep(0)
        in_flight -= 1
        return ok(ORDER)

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    http.append(client)
    offsets = OffsetsClient(client, base_url=BASE, api_key=KEY, max_concurrency=2)
    await asyncio.gather(*(offsets.get_order(str(i)) for i in range(8)))
    assert peak == 2


async def test_no_secret_in_errors_or_logs(make: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="gateway.backend")
    script = Script(httpx.ConnectError)
    client = make(script)
    with pytest.raises(BackendConnectionError) as info:
        await client.get_order("x", opts=CallOptions(api_key="sk_caller_secret"))

    assert script.requests[0].headers["authorization"] == "Bearer sk_caller_secret"
    for text in (str(info.value), repr(info.value), caplog.text):
        assert "sk_caller_secret" not in text and KEY not in text and "api.example.test" not in text
    assert KEY not in repr(client)
    assert "GET /orders/{id}" in caplog.text


async def test_status_error_carries_request_id_and_path(make: Any) -> None:
    problem = {
        "type": "https://api.cnaught.com/v1/errors/not-found",
        "title": "Could not find order",
        "status": 404,
    }
    script = Script(fail(404, problem, **{"x-request-id": "req-42"}))
    with pytest.raises(NotFoundError) as info:
        await make(script).get_order("nope")
    err = info.value
    assert (err.status, err.request_id, err.method, err.path) == (404, "req-42", "GET", "/orders/nope")
    assert str(err) == "Could not find order [HTTP 404] (GET /orders/nope)"


async def test_failed_keyed_call_tells_the_caller_its_key(make: Any) -> None:
    script = Script(httpx.ReadTimeout)
    with pytest.raises(BackendTimeoutError) as info:
        await make(script).create_order(m.CreateOrderParams(amount_kg=1))
    assert info.value.idempotency_key == script.requests[0].headers["idempotency-key"]

    script = Script(fail(503))
    with pytest.raises(ServerError) as failed_read:
        await make(script).get_order("x")
    assert failed_read.value.idempotency_key is None


@pytest.mark.parametrize(
    ("opts", "error"),
    [
        (CallOptions(api_key="sk_\u00e9"), UnauthorizedError),
        (CallOptions(api_key="sk_x\r\nX-Evil: 1"), UnauthorizedError),
        (CallOptions(subaccount_id="5nub\nL0NS"), InvalidSubaccountError),
        (CallOptions(idempotency_key="\u043a\u043b\u044e\u0447"), BadRequestError),
        (CallOptions(idempotency_key="a\rb"), BadRequestError),
    ],
)
async def test_unsendable_header_values_fail_locally_without_retry(
    opts: CallOptions, error: type[Exception], make: Any
) -> None:
    script = Script(ok(ORDER, 201))
    with pytest.raises(error) as info:
        await make(script).create_order(m.CreateOrderParams(amount_kg=1), opts=opts)
    assert script.requests == []
    assert "sk_" not in str(info.value)


async def test_connection_errors_describe_the_cause_without_secrets(make: Any) -> None:
    script = Script(httpx.ConnectError)
    with pytest.raises(BackendConnectionError) as info:
        await make(script, RetryPolicy(max_attempts=1)).list_portfolios()
    assert "ConnectError" in str(info.value) and "<upstream>" in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


async def test_a_failing_metrics_hook_does_not_fail_the_call(http: list[httpx.AsyncClient]) -> None:
    def broken(event: RequestEvent) -> None:
        raise RuntimeError("metrics down")

    client = httpx.AsyncClient(transport=httpx.MockTransport(Script(ok(ORDER))))
    http.append(client)
    order = await OffsetsClient(client, base_url=BASE, api_key=KEY, on_request=broken).get_order("x")
    assert order.id == ORDER["id"]


def test_retry_policy_needs_at_least_one_attempt() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        RetryPolicy(max_attempts=0)


async def test_undecodable_body_is_a_decode_error_not_retried(make: Any) -> None:
    lying = httpx.Response(
        200, stream=httpx.ByteStream(b"not gzip at all"), headers={"Content-Encoding": "gzip"}
    )
    script = Script(lying)
    with pytest.raises(BackendDecodeError):
        await make(script).get_order("x")
    assert len(script.requests) == 1


async def test_other_request_errors_are_connection_errors(make: Any) -> None:
    script = Script(httpx.TooManyRedirects)
    with pytest.raises(BackendConnectionError):
        await make(script, RetryPolicy(max_attempts=1)).get_order("x")


@pytest.mark.parametrize("url", ["api.example.test/v1", "ftp://api.example.test/v1", "/v1"])
async def test_base_url_must_be_absolute_http(url: str) -> None:
    async with httpx.AsyncClient() as client:
        with pytest.raises(ValueError, match="absolute http"):
            OffsetsClient(client, base_url=url, api_key=KEY)


def test_idempotency_keys_are_confined_to_their_namespace() -> None:
    key = upstream_idempotency_key("order-1", '["client:a", null]')
    assert key == upstream_idempotency_key("order-1", '["client:a", null]')  # every retry: the same key
    assert key.startswith("gw1-") and len(key) == 68
    others = {
        upstream_idempotency_key("order-1", '["client:b", null]'),
        upstream_idempotency_key("order-1", '["client:a", "sub1"]'),
        upstream_idempotency_key("order-2", '["client:a", null]'),
        # The namespace is length-prefixed, so moving characters between it and the key changes the digest.
        upstream_idempotency_key('1", null]order-1', '["client:a", null]'[:-8]),
    }
    assert key not in others and len(others) == 4
    assert upstream_idempotency_key("order-1", None) == "order-1"  # pass-through: the caller's own account
