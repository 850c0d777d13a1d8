"""A regression guard on the hot path that does not time anything: per request of the two headline queries
(`order(id)` and the dashboard of bench/peers), the asyncio tasks the gateway's event loop creates, the
upstream calls the sandbox receives, and the fields resolved off the executor's short path (resolvers
called, and fields left to graphql-core's own per-field execution) must not grow above the figures
measured when the budget was set.

Tasks are what made the dashboard cost: each one is an allocation, a scheduling round and a callback, and
graphql-core creates one per awaitable list item. Counting them (and upstream calls) is deterministic, so
this fails on a change that adds per-field asyncio work or a fetch, without reading a clock. The field counts
catch a change that quietly takes the dashboard off `FastFieldsExecutionContext`'s short path (a basic
field given a resolver, a shared project no longer reused). Speed itself is measured by
`python bench/peers/run.py`. The gateway objects a request leaves in reference cycles must stay at none:
anything in a cycle outlives its request until the cyclic garbage collector runs, and every collection of
the older generations walks all such leftovers (a dashboard left ~3,000 objects; the collector took ~1.0 of
its ~9 ms of CPU).
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from gateway.app import create_app
from gateway.schema.execution import FastFieldsExecutionContext
from tests.gateway.e2e.conftest import SandboxServer, gateway_settings
from tests.servers import serve

pytestmark = pytest.mark.e2e

ORDER = (
    "query Order($id: ID!) { order(id: $id) { upstreamId orderNumber createdOn amountKg price { amount }"
    " state subaccountUpstreamId certificatePublicUrl } }"
)
DASHBOARD = (
    "query Dashboard($first: Int!) { orders(first: $first) { edges { node { subaccount { name }"
    " projectAllocations { project { creditIssuances { vintageYear } } } } } } }"
)

# Measured per request when the budget was set (see bench/README.md); lower them when the code gets leaner.
BUDGET = {
    "order": {"tasks": 3, "upstream": 1, "resolved": 1, "graphql_core": 0, "cyclic_garbage": 0},
    # Was 364 tasks (one per awaited list item) and ~1,040 fields through graphql-core; resolved: `orders`,
    # 50 `subaccount`s, 50 `projectAllocations` (converted when selected; no `Info` is built for them) and
    # one `creditIssuances` per distinct project (the other 196 reuse its answer).
    "dashboard": {"tasks": 13, "upstream": 10, "resolved": 105, "graphql_core": 0, "cyclic_garbage": 0},
}


class FieldCounter:
    """Counts, on the executor, resolver calls (`_execute_step`) and fields graphql-core resolves itself."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.resolved = self.graphql_core = 0
        step, field = FastFieldsExecutionContext._execute_step, FastFieldsExecutionContext.execute_field

        def counted_step(executor: Any, *args: Any) -> Any:
            self.resolved += 1
            return step(executor, *args)

        def counted_field(executor: Any, *args: Any) -> Any:
            self.graphql_core += 1
            return field(executor, *args)

        monkeypatch.setattr(FastFieldsExecutionContext, "_execute_step", counted_step)
        monkeypatch.setattr(FastFieldsExecutionContext, "execute_field", counted_field)


class TaskCounter:
    """ASGI wrapper: installs a task factory on the server's loop that counts every task created."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.created = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        loop = asyncio.get_running_loop()
        if loop.get_task_factory() is None:
            loop.set_task_factory(self._factory)
        await self.app(scope, receive, send)

    def _factory(self, loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any], **kwargs: Any) -> Any:
        self.created += 1
        return asyncio.Task(coro, loop=loop, **kwargs)


class GarbageCounter:
    """Counts the gateway's objects (instances of its classes, and its classes) that requests left
    unreachable but in reference cycles: what only the cyclic garbage collector would free."""

    def __init__(self) -> None:
        self.found = 0

    @contextmanager
    def counting(self) -> Iterator[None]:
        gc.collect()
        gc.disable()
        try:
            yield
            gc.set_debug(gc.DEBUG_SAVEALL)  # the unreachable objects go to gc.garbage instead of away
            gc.collect()
            self.found = sum(1 for item in gc.garbage if _is_gateways(item))
        finally:
            gc.set_debug(0)
            gc.garbage.clear()
            gc.enable()
            gc.collect()


def _is_gateways(item: object) -> bool:
    module = item.__module__ if isinstance(item, type) else type(item).__module__
    return module.startswith("gateway.")


def _seed(sandbox: SandboxServer, orders: int = 50, subaccounts: int = 5) -> str:
    http = sandbox.http
    ids = [
        http.post("/v1/subaccounts", json={"name": f"Budget {n}"}).json()["id"] for n in range(subaccounts)
    ]
    for n in range(orders):
        headers = {"X-Subaccount-Id": ids[n % subaccounts]}
        http.post("/v1/orders", json={"amount_kg": 5 + n}, headers=headers).raise_for_status()
    listed = http.get("/v1/orders", params={"limit": 1}).json()["data"]
    return str(listed[0]["id"])


def _per_request(
    counters: tuple[TaskCounter, FieldCounter, GarbageCounter],
    sandbox: SandboxServer,
    http: httpx.Client,
    body: dict[str, Any],
    times: int = 5,
) -> dict[str, float]:
    tasks, fields, garbage = counters
    http.post("/graphql", json=body).raise_for_status()  # warm: connections open, caches filled
    tasks.created = fields.resolved = fields.graphql_core = 0
    sandbox.request_log.clear()
    with garbage.counting():
        for _ in range(times):
            response = http.post("/graphql", json=body)
            assert response.status_code == 200 and "errors" not in response.json(), response.text
    return {
        "tasks": tasks.created / times,
        "upstream": sandbox.request_log.count(path_prefix="/v1/") / times,
        "resolved": fields.resolved / times,
        "graphql_core": fields.graphql_core / times,
        "cyclic_garbage": garbage.found / times,
    }


def test_headline_queries_create_no_more_tasks_or_upstream_calls_than_measured(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    order_id = _seed(sandbox)
    # The catalogue cache off, as in the benchmark: every query pays for its project calls.
    counter = TaskCounter(create_app(gateway_settings(sandbox, catalogue_cache_ttl=0)))
    counters = (counter, FieldCounter(monkeypatch), GarbageCounter())
    with serve(counter) as url, httpx.Client(base_url=url, timeout=30) as http:
        seen = {
            "order": _per_request(counters, sandbox, http, {"query": ORDER, "variables": {"id": order_id}}),
            "dashboard": _per_request(
                counters, sandbox, http, {"query": DASHBOARD, "variables": {"first": 50}}
            ),
        }
    for name, counts in seen.items():
        for what, count in counts.items():
            assert count <= BUDGET[name][what], f"{name}: {count} {what} per request"
    # The dashboard's upstream calls are the REST minimum: 1 list + 5 subaccounts + 4 distinct projects.
    assert seen["dashboard"]["upstream"] == 10
    assert seen["order"]["upstream"] == 1
