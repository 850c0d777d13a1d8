"""Strawberry's extension lifecycle, run without its per-request set-up (issue 8).

strawberry calls each extension's ``on_operation`` / ``on_parse`` / ``on_validate`` / ``on_execute`` hook
around the matching stage. Its runner does this generically on every request: for each of the four
stages it asks every extension instance whether the hook is overridden and what kind of function it is
(``inspect`` checks), wraps each in ``contextlib.contextmanager``/``asynccontextmanager`` and enters them
through an ``AsyncExitStack``. With the gateway's nine extensions that set-up cost more than the hooks'
own work on a one-field query.

`LeanExtensionsRunner` keeps the protocol and changes the bookkeeping:

- what each list of extension *classes* implements for each stage is worked out once (`plan_of`), not
  per request;
- a stage calls each hook in extension order and, on the way out, finishes them in reverse order, with
  ``contextlib``'s semantics: a generator hook resumes after its ``yield`` (and must stop there); an
  exception raised inside the stage is thrown into each hook at its ``yield``, a hook that swallows it
  hides it from the hooks outside it (the stage still raises it, as strawberry's does), and one that
  raises a new exception replaces it;
- results (``get_results``) are asked only of the extensions that override it, found the same way.

`tests/gateway/unit/test_hooks.py` runs the same extensions through both runners and compares the order
of calls, the results and the exceptions.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncGenerator, Callable, Generator
from enum import Enum
from types import TracebackType
from typing import Any

from strawberry.extensions import SchemaExtension
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.types import ExecutionContext

OPERATION, PARSE, VALIDATE, EXECUTE = "on_operation", "on_parse", "on_validate", "on_execute"
RESULTS = "get_results"  # not a stage; `plan_of` finds the extensions that override it all the same


class HookKind(Enum):
    """How a hook runs: a generator around the stage, or a function called before it."""

    GENERATOR = 1
    ASYNC_GENERATOR = 2
    FUNCTION = 3
    COROUTINE_FUNCTION = 4


Hook = tuple[HookKind, Callable[[SchemaExtension], Any]]


def hook_of(cls: type[SchemaExtension], stage: str) -> Hook | None:
    """The hook `cls` implements for `stage` and its kind; None when it keeps the base class's no-op."""
    function = getattr(cls, stage)
    if function is getattr(SchemaExtension, stage):
        return None
    if inspect.isgeneratorfunction(function):
        return HookKind.GENERATOR, function
    if inspect.isasyncgenfunction(function):
        return HookKind.ASYNC_GENERATOR, function
    if inspect.iscoroutinefunction(function):
        return HookKind.COROUTINE_FUNCTION, function
    if callable(function):
        return HookKind.FUNCTION, function
    raise ValueError(f"Hook {stage} on {cls.__name__} must be callable, received {function!r}")


Classes = tuple[type[SchemaExtension], ...]
Plan = tuple[tuple[int, HookKind, Callable[[SchemaExtension], Any]], ...]
_plans: dict[tuple[Classes, str], Plan] = {}


def plan_of(classes: Classes, stage: str) -> Plan:
    """Which extensions (by position) have a hook for `stage`, and of what kind; kept per class list."""
    plan = _plans.get((classes, stage))
    if plan is None:
        hooks = ((index, hook_of(cls, stage)) for index, cls in enumerate(classes))
        plan = _plans[classes, stage] = tuple((index, *hook) for index, hook in hooks if hook is not None)
    return plan


class _Stage:
    """One lifecycle stage: every extension's hook entered in order, finished in reverse."""

    __slots__ = ("_extensions", "_plan", "_running")

    def __init__(self, extensions: list[SchemaExtension], plan: Plan) -> None:
        self._extensions = extensions
        self._plan = plan
        self._running: list[tuple[HookKind, Any]] = []

    async def __aenter__(self) -> None:
        extensions = self._extensions
        for index, kind, function in self._plan:
            if kind is HookKind.GENERATOR:
                generator = function(extensions[index])
                _start(generator)  # as `ExitStack`: a hook that fails before its `yield` is not finished
                self._running.append((kind, generator))
            elif kind is HookKind.ASYNC_GENERATOR:
                generator = function(extensions[index])
                await _start_async(generator)
                self._running.append((kind, generator))
            elif kind is HookKind.COROUTINE_FUNCTION:
                await function(extensions[index])
            else:
                function(extensions[index])

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool:
        pending = exc
        while self._running:
            kind, generator = self._running.pop()
            try:
                if kind is HookKind.GENERATOR:
                    suppressed = _finish(generator, pending)
                else:
                    suppressed = await _finish_async(generator, pending)
            except BaseException as raised:
                if raised is not pending:
                    pending = raised
                continue
            if suppressed:
                pending = None
        if pending is not None and pending is not exc:
            raise pending
        # As strawberry's runner: a hook that swallows the exception hides it from the outer hooks only.
        return False


def _start(generator: Generator[Any, None, None]) -> None:
    try:
        next(generator)
    except StopIteration:
        raise RuntimeError("generator didn't yield") from None


async def _start_async(generator: AsyncGenerator[Any, None]) -> None:
    try:
        await anext(generator)
    except StopAsyncIteration:
        raise RuntimeError("generator didn't yield") from None


def _finish(generator: Generator[Any, None, None], pending: BaseException | None) -> bool:
    """Resume a generator hook after its ``yield``; True when it swallowed `pending`."""
    if pending is None:
        try:
            next(generator)
        except StopIteration:
            return False
        raise RuntimeError("generator didn't stop")
    try:
        generator.throw(pending)
    except StopIteration as stop:
        return stop is not pending
    raise RuntimeError("generator didn't stop after throw()")


async def _finish_async(generator: AsyncGenerator[Any, None], pending: BaseException | None) -> bool:
    """`_finish` for an async generator hook."""
    if pending is None:
        try:
            await anext(generator)
        except StopAsyncIteration:
            return False
        raise RuntimeError("generator didn't stop")
    try:
        await generator.athrow(pending)
    except StopAsyncIteration as stop:
        return stop is not pending
    raise RuntimeError("generator didn't stop after athrow()")


class LeanExtensionsRunner(SchemaExtensionsRunner):
    """strawberry's `SchemaExtensionsRunner` with the per-request set-up taken out (see the module)."""

    def __init__(
        self, execution_context: ExecutionContext, extensions: list[SchemaExtension] | None = None
    ) -> None:
        super().__init__(execution_context, extensions)
        self._classes: Classes = tuple(type(extension) for extension in self.extensions)

    def _stage(self, stage: str) -> _Stage:
        return _Stage(self.extensions, plan_of(self._classes, stage))

    def operation(self) -> _Stage:  # type: ignore[override]
        return self._stage(OPERATION)

    def parsing(self) -> _Stage:  # type: ignore[override]
        return self._stage(PARSE)

    def validation(self) -> _Stage:  # type: ignore[override]
        return self._stage(VALIDATE)

    def executing(self) -> _Stage:  # type: ignore[override]
        return self._stage(EXECUTE)

    async def get_extensions_results(self, ctx: ExecutionContext) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for index, _, _ in plan_of(self._classes, RESULTS):
            results = self.extensions[index].get_results()
            data.update(await results if inspect.isawaitable(results) else results)
        data.update(ctx.extensions_results)
        return data
