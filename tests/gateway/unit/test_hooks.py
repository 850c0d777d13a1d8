"""`LeanExtensionsRunner` runs extension hooks exactly as strawberry's own runner does."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
import strawberry
from strawberry.extensions import SchemaExtension
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.types import ExecutionContext

from gateway.schema import build_schema
from gateway.schema.hooks import LeanExtensionsRunner

Log = list[str]
STAGES = ("operation", "parsing", "validation", "executing")


class Boom(Exception):
    pass


class Other(Exception):
    pass


def recording(name: str, log: Log, behaviour: str = "") -> type[SchemaExtension]:
    """Extensions of every hook kind; `behaviour` says what the hook does with an exception."""

    class Generator(SchemaExtension):
        def on_operation(self) -> Iterator[None]:
            log.append(f"{name}:op:in")
            if behaviour == "fail-before":
                raise Other(name)
            try:
                yield
            except Boom:
                log.append(f"{name}:op:saw")
                if behaviour == "swallow":
                    return
                if behaviour == "replace":
                    raise Other(name) from None
                raise
            log.append(f"{name}:op:out")

    class AsyncGenerator(SchemaExtension):
        async def on_parse(self) -> AsyncIterator[None]:
            log.append(f"{name}:parse:in")
            try:
                yield
            except Boom:
                log.append(f"{name}:parse:saw")
                if behaviour == "swallow":
                    return
                raise
            finally:
                log.append(f"{name}:parse:finally")

    class Plain(SchemaExtension):
        def on_validate(self) -> None:  # type: ignore[override]
            log.append(f"{name}:validate")

        async def on_execute(self) -> None:  # type: ignore[override]
            log.append(f"{name}:execute")

        def get_results(self) -> dict[str, Any]:
            return {name: "sync"}

    class Results(SchemaExtension):
        async def get_results(self) -> dict[str, Any]:
            return {f"{name}-async": 1}

    kinds = {"gen": Generator, "agen": AsyncGenerator, "plain": Plain, "results": Results}
    return kinds[name.split("-")[0]]


def _context() -> ExecutionContext:
    schema = build_schema()
    return ExecutionContext(query="{ __typename }", schema=schema, allowed_operations=())


async def _run(
    runner_class: type[SchemaExtensionsRunner],
    specs: list[tuple[str, str]],
    raise_inside: type[BaseException] | None,
) -> tuple[Log, object]:
    log: Log = []
    extensions = [recording(name, log, behaviour)() for name, behaviour in specs]
    runner = runner_class(execution_context=_context(), extensions=extensions)
    outcome: object = None
    for stage in STAGES:
        try:
            async with getattr(runner, stage)():
                log.append(f"{stage}:body")
                if raise_inside is not None:
                    raise raise_inside(stage)
        except Exception as exc:
            outcome = (type(exc).__name__, str(exc))
            log.append(f"{stage}:raised:{type(exc).__name__}")
    results = await runner.get_extensions_results(runner.execution_context)
    return log, (outcome, results)


CASES: list[tuple[list[tuple[str, str]], type[BaseException] | None]] = [
    ([("gen-a", ""), ("agen-b", ""), ("plain-c", ""), ("results-d", "")], None),
    ([("gen-a", ""), ("gen-b", "")], Boom),
    ([("gen-a", ""), ("gen-b", "swallow")], Boom),
    ([("gen-a", "swallow"), ("gen-b", "")], Boom),
    ([("gen-a", ""), ("gen-b", "replace")], Boom),
    ([("gen-a", "swallow"), ("gen-b", "replace")], Boom),
    ([("agen-a", ""), ("agen-b", "swallow"), ("gen-c", "")], Boom),
    ([("gen-a", ""), ("gen-b", "fail-before"), ("gen-c", "")], None),
    ([("agen-a", ""), ("plain-b", "")], Other),
]


@pytest.mark.parametrize(("specs", "raise_inside"), CASES)
async def test_lean_runner_matches_strawberrys(
    specs: list[tuple[str, str]], raise_inside: type[BaseException] | None
) -> None:
    expected = await _run(SchemaExtensionsRunner, specs, raise_inside)
    assert await _run(LeanExtensionsRunner, specs, raise_inside) == expected


def test_the_gateway_schema_uses_the_lean_runner() -> None:
    schema = build_schema()
    runner: Callable[..., Any] = schema.create_extensions_runner
    assert isinstance(runner(_context(), []), LeanExtensionsRunner)
    assert isinstance(schema, strawberry.Schema)
