"""Running only the schema extensions' hooks that exist (a per-request cost of strawberry's runner).

For each lifecycle stage (operation, parse, validate, execute) strawberry's runner asks *every*
extension of the request whether it overrides that hook (`getattr` on its class, then `inspect` of the
function), wraps each hook it finds in a fresh ``contextmanager(MethodType(...))`` (a `functools.wraps`
copy per hook per request), and after execution awaits every extension's ``get_results``, overridden or
not. With the gateway's 9 extensions that is 36 hook look-ups, ~10 wrapper builds and 9 awaited dicts
per request. `HookFilteringRunner` hands each stage only the extensions whose class overrides the hook
(decided once per tuple of extension classes) and builds each generator hook's context manager from a
factory made once per class; the hooks then run exactly as strawberry runs them (same order, same
context-manager semantics, same results merge). A plain-callable hook keeps strawberry's own wrapping;
the sync path (`execute_sync`, which the gateway does not use) keeps strawberry's own runner code.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable
from functools import lru_cache, partial
from typing import Any

from strawberry.extensions import SchemaExtension
from strawberry.extensions.context import (
    ExecutingContextManager,
    ExtensionContextManagerBase,
    OperationContextManager,
    ParsingContextManager,
    ValidationContextManager,
    WrappedHook,
)
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.types import ExecutionContext
from strawberry.utils.await_maybe import await_maybe

_HOOKS = ("on_operation", "on_parse", "on_validate", "on_execute", "get_results")


@lru_cache(maxsize=64)
def _overriding(classes: tuple[type[SchemaExtension], ...]) -> dict[str, tuple[int, ...]]:
    """Per hook name, the positions of the classes that override it (instances never override hooks)."""
    return {
        hook: tuple(
            i for i, cls in enumerate(classes) if getattr(cls, hook) is not getattr(SchemaExtension, hook)
        )
        for hook in _HOOKS
    }


#: Per extension class and hook: the context-manager factory of a generator hook and whether it is async,
#: or None for another kind. Extension classes are the code's own, so the dict stays small.
_FACTORIES: dict[tuple[type[SchemaExtension], str], tuple[Callable[..., Any], bool] | None] = {}


def _hook_factory(cls: type[SchemaExtension], hook: str) -> tuple[Callable[..., Any], bool] | None:
    key = (cls, hook)
    if key not in _FACTORIES:
        function = getattr(cls, hook)
        made: tuple[Callable[..., Any], bool] | None = None
        if inspect.isgeneratorfunction(function):
            made = contextlib.contextmanager(function), False
        elif inspect.isasyncgenfunction(function):
            made = contextlib.asynccontextmanager(function), True
        _FACTORIES[key] = made
    return _FACTORIES[key]


class _CachedHooks(ExtensionContextManagerBase):
    """Wraps a generator hook with a factory made once per class, as strawberry wraps it per request."""

    def get_hook(self, extension: SchemaExtension) -> WrappedHook | None:
        made = _hook_factory(type(extension), self.HOOK_NAME)
        if made is None:  # a plain callable hook: strawberry's own wrapping
            return super().get_hook(extension)
        factory, is_async = made
        return WrappedHook(extension=extension, hook=partial(factory, extension), is_async=is_async)


class _Operation(_CachedHooks, OperationContextManager):
    pass


class _Validation(_CachedHooks, ValidationContextManager):
    pass


class _Parsing(_CachedHooks, ParsingContextManager):
    pass


class _Executing(_CachedHooks, ExecutingContextManager):
    pass


class HookFilteringRunner(SchemaExtensionsRunner):
    """strawberry's runner, with each stage given only the extensions that implement its hook."""

    def __init__(
        self, execution_context: ExecutionContext, extensions: list[SchemaExtension] | None = None
    ) -> None:
        super().__init__(execution_context, extensions)
        self._positions = _overriding(tuple(type(e) for e in self.extensions))

    def _with(self, hook: str) -> list[SchemaExtension]:
        return [self.extensions[i] for i in self._positions[hook]]

    def operation(self) -> OperationContextManager:
        return _Operation(self._with("on_operation"))

    def validation(self) -> ValidationContextManager:
        return _Validation(self._with("on_validate"))

    def parsing(self) -> ParsingContextManager:
        return _Parsing(self._with("on_parse"))

    def executing(self) -> ExecutingContextManager:
        return _Executing(self._with("on_execute"))

    async def get_extensions_results(self, ctx: ExecutionContext) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for extension in self._with("get_results"):
            data.update(await await_maybe(extension.get_results()))
        data.update(ctx.extensions_results)
        return data
