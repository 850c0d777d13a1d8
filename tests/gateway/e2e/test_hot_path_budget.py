"""A regression guard on the hot path that does not time anything: per request of the two headline queries
(`order(id)` and the dashboard of bench/peers), the asyncio tasks the gateway's event loop creates and the
upstream calls the sandbox receives must not grow above the figures measured when the budget was set.

Tasks are what made the dashboard cost: each one is an allocation, a scheduling round and a callback, and
graphql-core creates one per awaitable list item. Counting them (and upstream calls) is deterministic, so
this fails on a change that adds per-field asyncio work or a fetch, without reading a clock. Speed itself
is measured by `python bench/peers/run.py`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import httpx
import pytest

from gateway.app import create_app
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
    "order": {"tasks": 4, "upstream": 1},  # was 5: the one-key batch ran in a task of its own
    "dashboard": {"tasks": 15, "upstream": 10},  # was 364: one task per awaited list item
}


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
    counter: TaskCounter, sandbox: SandboxServer, http: httpx.Client, body: dict[str, Any], times: int = 5
) -> tuple[float, float]:
    http.post("/graphql", json=body).raise_for_status()  # warm: connections open, caches filled
    counter.created = 0
    sandbox.request_log.clear()
    for _ in range(times):
        response = http.post("/graphql", json=body)
        assert response.status_code == 200 and "errors" not in response.json(), response.text
    return counter.created / times, sandbox.request_log.count(path_prefix="/v1/") / times


def test_headline_queries_create_no_more_tasks_or_upstream_calls_than_measured(
    sandbox: SandboxServer,
) -> None:
    order_id = _seed(sandbox)
    # The catalogue cache off, as in the benchmark: every query pays for its project calls.
    counter = TaskCounter(create_app(gateway_settings(sandbox, catalogue_cache_ttl=0)))
    with serve(counter) as url, httpx.Client(base_url=url, timeout=30) as http:
        seen = {
            "order": _per_request(counter, sandbox, http, {"query": ORDER, "variables": {"id": order_id}}),
            "dashboard": _per_request(
                counter, sandbox, http, {"query": DASHBOARD, "variables": {"first": 50}}
            ),
        }
    for name, (tasks, upstream) in seen.items():
        assert tasks <= BUDGET[name]["tasks"], f"{name}: {tasks} tasks per request"
        assert upstream <= BUDGET[name]["upstream"], f"{name}: {upstream} upstream calls per request"
    # The dashboard's upstream calls are the REST minimum: 1 list + 5 subaccounts + 4 distinct projects.
    assert seen["dashboard"][1] == 10
    assert seen["order"][1] == 1
