"""The schema logs only unexpected errors, whatever runs it (no logging config from the CLI needed)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import strawberry

from gateway.masking import MaskInternalErrors
from gateway.schema import build_schema
from tests.gateway.unit.schema_fakes import KEY, FakeUpstream, context_for, order


@pytest.fixture(scope="module")
def schema() -> strawberry.Schema:
    return build_schema(extensions=[MaskInternalErrors])


class BrokenUpstream(FakeUpstream):
    """Fails with a bug-like exception (a library error quoting the key) on `/orders/broken`."""

    def _handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/orders/broken"):
            raise RuntimeError(f"library bug while holding {KEY}")
        return super()._handle(request)


@pytest.fixture
async def run(schema: strawberry.Schema) -> AsyncIterator[Any]:
    upstream = BrokenUpstream(orders=[order("o1", None, [])])
    async with httpx.AsyncClient(transport=upstream.transport()) as http:

        async def execute(query: str, variables: dict[str, Any] | None = None) -> Any:
            context = await context_for(upstream, http)
            return await schema.execute(query, variable_values=variables, context_value=context)

        yield execute


@pytest.mark.parametrize(
    ("query", "variables", "code"),
    [
        ("{ orderz { id } }", None, "GRAPHQL_VALIDATION_FAILED"),
        ("{ orders(first: 1 { id } }", None, "GRAPHQL_PARSE_FAILED"),
        ("query($n: Int!) { orders(first: $n) { edges { cursor } } }", {"n": "abc"}, "BAD_USER_INPUT"),
        ('{ order(id: "missing") { id } }', None, "NOT_FOUND"),
        ('{ node(id: "!!!") { id } }', None, "BAD_USER_INPUT"),
    ],
)
async def test_client_errors_are_not_logged(
    run: Any, caplog: pytest.LogCaptureFixture, query: str, variables: Any, code: str
) -> None:
    with caplog.at_level(logging.DEBUG):
        result = await run(query, variables)
    assert result.errors
    assert [r for r in caplog.records if r.name.startswith("strawberry")] == []


async def test_unexpected_errors_are_logged_once_and_masked(
    run: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        result = await run('{ order(id: "broken") { id } }')
    assert [e.message for e in result.errors] == ["Internal server error"]
    logged = [r for r in caplog.records if r.name == "strawberry.execution"]
    assert len(logged) == 1 and logged[0].levelno == logging.ERROR
    assert logged[0].exc_info is not None  # the traceback is ours to read, not the client's
