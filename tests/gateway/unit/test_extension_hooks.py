"""The schema runs each extension hook that exists, in order, and skips extensions without that hook."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import strawberry
from strawberry.extensions import SchemaExtension

from gateway.schema import build_schema
from gateway.schema.extension_hooks import HookFilteringRunner

calls: list[str] = []


class Sync(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        calls.append("sync.operation.enter")
        yield
        calls.append("sync.operation.exit")

    def on_parse(self) -> Iterator[None]:
        calls.append("sync.parse")
        yield

    def get_results(self) -> dict[str, Any]:
        return {"sync": 1}


class Async(SchemaExtension):
    async def on_operation(self) -> AsyncIterator[None]:
        calls.append("async.operation.enter")
        yield
        calls.append("async.operation.exit")

    async def on_validate(self) -> AsyncIterator[None]:
        calls.append("async.validate")
        yield

    async def on_execute(self) -> AsyncIterator[None]:
        calls.append("async.execute")
        yield

    async def get_results(self) -> dict[str, Any]:
        return {"async": 2}


class Plain(SchemaExtension):
    def on_execute(self) -> None:  # type: ignore[override]  # a plain callable hook, strawberry allows it
        calls.append("plain.execute")


class Nothing(SchemaExtension):
    pass


async def test_every_existing_hook_runs_in_order_and_results_merge() -> None:
    calls.clear()
    schema: strawberry.Schema = build_schema([Sync, Nothing, Async, Plain])
    result = await schema.execute("{ __typename }")
    assert result.errors is None
    assert result.data == {"__typename": "Query"}
    assert result.extensions == {"sync": 1, "async": 2}
    assert calls == [
        "sync.operation.enter",
        "async.operation.enter",
        "sync.parse",
        "async.validate",
        "async.execute",
        "plain.execute",
        "async.operation.exit",
        "sync.operation.exit",
    ]


def test_stages_get_only_the_extensions_with_their_hook() -> None:
    extensions: list[SchemaExtension] = [Sync(), Nothing(), Async(), Plain()]
    runner = HookFilteringRunner(None, extensions)  # type: ignore[arg-type]
    assert [type(h.extension) for h in runner.operation().hooks] == [Sync, Async]
    assert [type(h.extension) for h in runner.parsing().hooks] == [Sync]
    assert [type(h.extension) for h in runner.validation().hooks] == [Async]
    assert [type(h.extension) for h in runner.executing().hooks] == [Async, Plain]
