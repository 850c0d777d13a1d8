"""Field execution with a short path for fields that only read an attribute (issue 8).

graphql-core resolves every field the same way: a `Path`, a resolve-info object (strawberry's carries ten
references), the argument check, strawberry's resolver wrapper, then `complete_value`'s walk through the
type's wrappers. Most fields of this schema are *basic*: a strawberry field with no resolver, no
arguments and no field extensions, whose value is an attribute of the parent object already in hand.
A page of 50 orders has about 750 of them, and each cost more than the rest of its answer.

`FastFieldsExecutionContext.execute_fields` answers such fields directly, and completes the values of
fields with resolvers the same way when they come back synchronously:

- a scalar or enum (or a list of them): the value itself where the type would return it unchanged (a
  `str` for String and ID, an `int` in range for Int, a finite `float` for Float, a `bool`), else the
  type's own ``coerce_output_value``;
- an object (or a list of objects): its selection through `execute_fields` again.

Per execution, each selection set becomes a list of steps once (`_Step`: the response key, the field's
shortcut, the object's sub-selection), so 50 orders do not look the same things up 50 times; for an
operation whose field collection cannot depend on the request (no directives, no fragment variables), the
collected fields and their steps are kept across requests (`gateway.schema.plans`). A field with a plain
strawberry resolver (no field extensions or exception handlers, arguments only of built-in scalar types,
which strawberry would pass on unchanged) has its function called directly (`_direct_resolver`), without
strawberry's wrapper; an async one's coroutine is awaited by the executor, and its value completed by the
short path like a synchronous one's (`_complete_awaited`).

Everything else - resolvers, arguments, ``__typename``, interfaces and unions, directives on the field
(``@stream``), deferred fragments, extensions that wrap resolvers (a graphql-core middleware), and any
value the short path would not complete exactly as graphql-core does (null for a non-null type, a value
the scalar refuses, an awaitable, an exception object, a non-list for a list) - takes graphql-core's own
path, before anything of the field has run. A basic field's value is a plain attribute read, so reading
it twice changes nothing. Errors below a field (a non-null violation in a nested object, a failed
resolver) are located and propagated by graphql-core's own `handle_field_error`, with the same paths and
in the same order. `tests/gateway/unit/test_fast_execution.py` checks the responses equal graphql-core's,
errors included, over generated queries.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Final, TypeAlias, TypeGuard, TypeVar

import strawberry
from graphql import (
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLField,
    GraphQLFloat,
    GraphQLID,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLScalarType,
    GraphQLString,
)
from graphql.execution.collect_fields import CollectedFields, DeferUsage, FieldDetailsList, GroupedFieldSet
from graphql.execution.executor import to_nodes
from graphql.execution.values import get_argument_values
from graphql.pyutils import AwaitableOrValue, Path, Undefined, gather_with_cancel
from strawberry.types.base import StrawberryOptional

from gateway.schema.errors import UpstreamErrorsExecutionContext
from gateway.schema.plans import OperationPlan, OperationPlans

_new_tuple = tuple.__new__


def _path(prev: Path | None, key: str | int, typename: str | None) -> Path:
    """`Path(prev, key, typename)` without the named tuple's Python-level `__new__` (~600 per page)."""
    return _new_tuple(Path, (prev, key, typename))


_SLOW: Final = object()
"""What a short path answers when graphql-core must complete the field instead (nothing has run yet)."""

_SHORTCUTS_ATTRIBUTE = "_gateway_shortcuts"
_MEMOIZABLE = "_gateway_memoizable"
F = TypeVar("F", bound=Callable[..., Any])
_SETTLED: Final = frozenset({dict, list, str, int, float, bool, type(None)})
"""Types of completed values that are never awaitable (checked before the executor's `is_awaitable`)."""

# (executor, value, step, the field's path - None for leaves) -> completed value or _SLOW
Completer: TypeAlias = Callable[["FastFieldsExecutionContext", Any, "_Step", Path | None], Any]


# (source, graphql-core's resolve info, its argument values) -> what the field's resolver returns
DirectResolver: TypeAlias = Callable[[Any, GraphQLResolveInfo[Any] | None, dict[str, Any]], Any]


@dataclass(frozen=True, slots=True)
class _Shortcut:
    """How one field of an object type is completed; for basic fields which attribute to read, for
    fields with a plain resolver how to call it (`_direct_resolver`)."""

    attribute: str | None
    complete: Completer
    resolve: DirectResolver | None = None
    # Same source, same answer within one request: a basic field, or a resolver marked `memoizable`.
    pure: bool = False
    # The object type whose selection this field completes (None for leaves, which need no path).
    object_type: GraphQLObjectType | None = None
    # A value of exactly this type is its own answer (`str` for String and ID fields), no call needed.
    plain: type | None = None
    # The direct resolver takes strawberry's `Info` (built from graphql-core's resolve info).
    wants_info: bool = True


class _Step:
    """One response key of a selection (for one execution, or kept in a plan: nothing request-specific)."""

    __slots__ = ("child", "details", "key", "nodes", "parent_name", "shortcut", "typename")

    def __init__(self, key: str, details: FieldDetailsList, shortcut: _Shortcut | None, parent: str) -> None:
        self.key = key
        self.details = details
        self.shortcut = shortcut
        self.parent_name = parent
        # The object's selection: None until first needed, False when it defers (graphql-core's path).
        self.child: _Selection | bool | None = None
        self.nodes = to_nodes(details)  # the field's AST nodes, as resolve infos carry them
        # `__typename` on an object type is its name (clients such as Apollo's ask for it everywhere).
        node = details[0].node
        self.typename = parent if node.name.value == "__typename" and not node.directives else None


class _Selection:
    """One selection set on one object type (for one execution, or kept in a plan): its steps, and
    whether its answer depends only on the object (`memo`, worked out on first use; the same for every
    request, since a kept selection's sub-selections are all kept too)."""

    __slots__ = ("fields", "memo", "steps", "type")

    def __init__(self, object_type: GraphQLObjectType, grouped_field_set: GroupedFieldSet) -> None:
        self.type = object_type
        self.fields = grouped_field_set  # held, so that its id (the executor's key) is not reused
        shortcuts = _shortcuts(object_type)
        self.steps = [
            _Step(key, details, _shortcut_of(shortcuts, details), object_type.name)
            for key, details in grouped_field_set.items()
        ]
        self.memo: bool | None = None


class FastFieldsExecutionContext(UpstreamErrorsExecutionContext):
    """graphql-core's executor (with the gateway's error translation), short-cutting basic fields."""

    #: Where static operations keep what their execution collects across requests (None: per request).
    plans: ClassVar[OperationPlans[_Selection] | None] = OperationPlans(_Selection)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # strawberry passes a manager on every request, holding the extensions that have a `resolve` hook.
        manager = self.middleware_manager
        self._fast = manager is None or not manager.middlewares
        # graphql-core memoizes each sub-selection per execution, so its identity is a stable key.
        self._selections: dict[int, _Selection] = {}
        # Answers of memoizable selections by (selection id, object id), each holding its object so
        # that the id is not reused.
        self._completed: dict[tuple[int, int], tuple[Any, dict[str, Any]]] = {}
        self._field_errors = 0
        # The operation's plan (`gateway.schema.plans`), set when its root fields run; None: per request.
        self._plan: OperationPlan[_Selection] | None = None

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> AwaitableOrValue[dict[str, Any]]:
        if position_context is not None or not self._fast:
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        return self._run(self._selection(parent_type, grouped_field_set), source_value, path)

    def execute_collected_root_fields(
        self,
        root_type: GraphQLObjectType,
        root_value: Any,
        grouped_field_set: GroupedFieldSet,
        serially: bool,
        new_defer_usages: Sequence[DeferUsage],
    ) -> AwaitableOrValue[dict[str, Any]]:
        plans = self.plans
        if plans is not None and not new_defer_usages:
            plan = self._plan = plans.plan(self.schema, self.operation, self.fragment_definitions)
            if plan is not None:
                grouped_field_set = plan.root_fields(root_type, grouped_field_set)
        return super().execute_collected_root_fields(
            root_type, root_value, grouped_field_set, serially, new_defer_usages
        )

    def collect_subfields(
        self, return_type: GraphQLObjectType, field_details_list: FieldDetailsList
    ) -> CollectedFields:
        plan = self._plan
        if plan is None:
            return super().collect_subfields(return_type, field_details_list)
        kept = plan.subfields(return_type, field_details_list)
        if kept is not None:
            return kept
        collected = super().collect_subfields(return_type, field_details_list)
        return plan.keep_subfields(return_type, field_details_list, collected)

    def _selection(self, object_type: GraphQLObjectType, grouped_field_set: GroupedFieldSet) -> _Selection:
        plan = self._plan
        if plan is not None:
            kept = plan.selection(grouped_field_set)
            if kept is not None:
                return kept
        selection = self._selections.get(id(grouped_field_set))
        if selection is None:
            selection = self._selections[id(grouped_field_set)] = _Selection(object_type, grouped_field_set)
        return selection

    def _run(self, selection: _Selection, source: Any, path: Path | None) -> AwaitableOrValue[dict[str, Any]]:
        results: dict[str, Any] = {}
        pending: list[str] = []
        try:
            for step in selection.steps:
                if step.typename is not None:
                    results[step.key] = step.typename
                    continue
                shortcut = step.shortcut
                result = _SLOW
                if shortcut is not None and shortcut.attribute is not None:
                    value = getattr(source, shortcut.attribute, _SLOW)
                    if type(value) is shortcut.plain:
                        result = value
                    elif value is not _SLOW:
                        field_path = (
                            None if shortcut.object_type is None else _path(path, step.key, step.parent_name)
                        )
                        result = shortcut.complete(self, value, step, field_path)
                if result is _SLOW:
                    result = self._execute_step(selection.type, source, step, path)
                    if result is Undefined:
                        continue
                results[step.key] = result
                if type(result) not in _SETTLED and self.is_awaitable(result):
                    pending.append(step.key)
        except Exception:
            if pending:
                self.settle_in_background([results[key] for key in pending])
            raise
        if not pending:
            return results
        return _await_fields(results, pending)

    def _execute_step(
        self, parent_type: GraphQLObjectType, source: Any, step: _Step, parent_path: Path | None
    ) -> Any:
        """A field with a resolver (or one the short path gave back): graphql-core resolves it, then the
        short completion completes a synchronous value when it can."""
        path = _path(parent_path, step.key, step.parent_name)
        shortcut = step.shortcut
        if shortcut is None or shortcut.attribute is not None:
            return self.execute_field(parent_type, source, step.details, path, None)
        details = step.details
        node = details[0].node
        field_def = parent_type.fields[node.name.value]
        return_type = field_def.type
        direct = shortcut.resolve
        # A direct call of a resolver that takes no `info` needs none (an order's `projectAllocations`); it is
        # built only if the value then needs graphql-core's completion.
        info = None
        if direct is None or shortcut.wants_info:
            info = self.build_resolve_info(field_def, step.nodes, parent_type, path)
        try:
            args = (
                get_argument_values(
                    field_def,
                    node,
                    self.variable_values,
                    details[0].fragment_variable_values,
                    self.hide_suggestions,
                )
                if field_def.args or node.arguments
                else {}
            )
            if direct is not None:
                result = direct(source, info, args)
            else:
                result = (field_def.resolve or self.field_resolver)(source, info, **args)
            if self.is_awaitable(result):
                return self._complete_awaited(parent_type, field_def, step, info, path, result)
        except Exception as error:
            self.handle_field_error(error, return_type, details, path)
            return None
        completed = shortcut.complete(self, result, step, path)
        if completed is not _SLOW:
            return completed
        info = info or self.build_resolve_info(field_def, step.nodes, parent_type, path)
        try:
            completed = self.complete_value(return_type, details, info, path, result, None)
        except Exception as error:
            self.handle_field_error(error, return_type, details, path)
            return None
        if self.is_awaitable(completed):
            return self.guarded(completed, return_type, details, path)
        return completed

    async def _complete_awaited(
        self,
        parent_type: GraphQLObjectType,
        field_def: GraphQLField,
        step: _Step,
        info: GraphQLResolveInfo[Any] | None,
        path: Path,
        result: Awaitable[Any],
    ) -> Any:
        """graphql-core's `complete_awaitable_value`, trying the short completion on the awaited value
        first (an `order(id:)`'s order is completed without graphql-core's `complete_value` chain)."""
        return_type = field_def.type
        try:
            value = await (result if self.abort_signal is None else self.with_abort_signal(result))
            completed = step.shortcut.complete(self, value, step, path) if step.shortcut else _SLOW
            if completed is _SLOW:
                info = info or self.build_resolve_info(field_def, step.nodes, parent_type, path)
                completed = self.complete_value(return_type, step.details, info, path, value, None)
            if self.is_awaitable(completed):
                completed = await completed
        except Exception as error:
            self.handle_field_error(error, return_type, step.details, path)
            return None
        return completed

    def child_selection(self, step: _Step, object_type: GraphQLObjectType) -> _Selection | None:
        """The selection of the step's object, or None when it defers fragments (graphql-core's path)."""
        child = step.child
        if child is None:
            grouped_field_set, new_defer_usages, _ = self.collect_subfields(object_type, step.details)
            child = step.child = (
                False if new_defer_usages else self._selection(object_type, grouped_field_set)
            )
        return child or None  # type: ignore[return-value]

    def complete_object(
        self,
        selection: _Selection,
        return_type: GraphQLOutputType,
        details: FieldDetailsList,
        path: Path,
        value: Any,
    ) -> Any:
        """Execute an object's selection; an error in it nulls this position (or propagates, non-null).

        An object met again under the same selection (200 allocations of a page share 4 projects) gets
        the answer it got the first time, when that selection's answer depends only on the object
        (`_memoizable`) and the first completion was synchronous and raised no field error."""
        memo = selection.memo
        if memo is None:
            memo = self._memoizable(selection)
        if memo:
            key = (id(selection), id(value))
            seen = self._completed.get(key)
            if seen is not None:
                return seen[1]
            errors = self._field_errors
        try:
            completed = self._run(selection, value, path)
        except Exception as error:
            self.handle_field_error(error, return_type, details, path)
            return None
        if not isinstance(completed, dict):  # `_run` answers a dict, or a coroutine completing one
            return self.guarded(completed, return_type, details, path)
        if memo and self._field_errors == errors:
            self._completed[key] = (value, completed)
        return completed

    def handle_field_error(
        self,
        raw_error: Exception,
        return_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        path: Path,
    ) -> None:
        # Counted whether graphql-core records the error or drops it (under a nulled position).
        self._field_errors += 1
        super().handle_field_error(raw_error, return_type, field_details_list, path)

    def _memoizable(self, selection: _Selection) -> bool:
        """Whether every field of the selection, nested ones included, is `pure`."""
        selection.memo = False  # while working it out
        for step in selection.steps:
            shortcut = step.shortcut
            if step.typename is not None:
                continue
            if shortcut is None or not shortcut.pure:
                return False
            if shortcut.object_type is not None:
                child = self.child_selection(step, shortcut.object_type)
                if child is None:
                    return False
                if not (child.memo if child.memo is not None else self._memoizable(child)):
                    return False
        selection.memo = True
        return True

    async def guarded(
        self,
        completed: Awaitable[Any],
        return_type: GraphQLOutputType,
        details: FieldDetailsList,
        path: Path,
    ) -> Any:
        try:
            return await completed
        except Exception as error:
            self.handle_field_error(error, return_type, details, path)
            return None


async def _await_fields(results: dict[str, Any], names: list[str]) -> dict[str, Any]:
    if len(names) == 1:
        results[names[0]] = await results[names[0]]
    else:
        results.update(zip(names, await gather_with_cancel(*(results[n] for n in names)), strict=True))
    return results


async def _await_items(items: list[Any], indices: list[int]) -> list[Any]:
    awaited = await gather_with_cancel(*(items[i] for i in indices))
    for index, value in zip(indices, awaited, strict=True):
        items[index] = value
    return items


# --- the short paths, built once per object type ------------------------------------------------------


def _shortcut_of(shortcuts: dict[str, _Shortcut], details: FieldDetailsList) -> _Shortcut | None:
    node = details[0].node
    return None if node.directives else shortcuts.get(node.name.value)


def _shortcuts(parent_type: GraphQLObjectType) -> dict[str, _Shortcut]:
    shortcuts: dict[str, _Shortcut] | None = parent_type.__dict__.get(_SHORTCUTS_ATTRIBUTE)
    if shortcuts is None:
        shortcuts = {
            name: shortcut
            for name, field in parent_type.fields.items()
            if (shortcut := _shortcut_for(field)) is not None
        }
        setattr(parent_type, _SHORTCUTS_ATTRIBUTE, shortcuts)
    return shortcuts


def _shortcut_for(field: GraphQLField) -> _Shortcut | None:
    """None when graphql-core's path is the only one: abstract types, nested lists, no strawberry field."""
    definition = _definition(field)
    if definition is None:
        return None
    return_type = field.type
    non_null = isinstance(return_type, GraphQLNonNull)
    named = return_type.of_type if isinstance(return_type, GraphQLNonNull) else return_type
    complete: Completer | None = None
    object_type: GraphQLObjectType | None = None
    plain: type | None = None
    if isinstance(named, GraphQLList):
        item_type = named.of_type
        item = item_type.of_type if isinstance(item_type, GraphQLNonNull) else item_type
        items_non_null = isinstance(item_type, GraphQLNonNull)
        if isinstance(item, GraphQLScalarType | GraphQLEnumType):
            complete = _leaf_list_completer(item, non_null, items_non_null)
        elif _plain_object(item):
            complete = _object_list_completer(item, return_type, item_type, non_null, items_non_null)
            object_type = item
    elif isinstance(named, GraphQLScalarType | GraphQLEnumType):
        complete = _leaf_completer(named, non_null)
        plain = str if named in (GraphQLString, GraphQLID) else None
    elif _plain_object(named):
        complete = _object_completer(named, return_type, non_null)
        object_type = named
    if complete is None:
        return None
    attribute = _basic_attribute(field, definition)
    resolve = _direct_resolver(field, definition)
    pure = attribute is not None or (resolve is not None and _is_memoizable(definition))
    wants_info = getattr(getattr(definition, "base_resolver", None), "info_parameter", None) is not None
    return _Shortcut(attribute, complete, resolve, pure, object_type, plain, wants_info)


def memoizable(resolver: F) -> F:
    """Mark a resolver whose answer depends only on its source object within one request: it takes no
    arguments, changes nothing, and reads only the object and the request's memos (loaders).

    Where the same object appears again under the same selection in one response (a page's allocations
    share a few projects), the executor may then reuse the answer it completed the first time instead of
    resolving the selection again (`FastFieldsExecutionContext.complete_object`)."""
    resolver.__dict__[_MEMOIZABLE] = True
    return resolver


def _is_memoizable(definition: Any) -> bool:
    function = getattr(getattr(definition, "base_resolver", None), "wrapped_func", None)
    return bool(getattr(function, _MEMOIZABLE, False))


def _basic_attribute(field: GraphQLField, definition: Any) -> str | None:
    """The attribute a strawberry field reads, when it has no resolver, arguments or extensions."""
    if not getattr(field.resolve, "_is_default", False) or field.args or not definition.is_basic_field:
        return None
    name = definition.python_name
    return name if isinstance(name, str) else None


def _direct_resolver(field: GraphQLField, definition: Any) -> DirectResolver | None:
    """A call of the field's resolver function itself, for a strawberry resolver with no field extensions
    (permissions are extensions), no exception handlers, and arguments strawberry would hand over as
    graphql-core coerced them (`_unconverted`): what strawberry's wrapper would do (arguments under their
    Python names, the source as `self`/`root`/`parent`, an `Info` over graphql-core's) without the layers
    it keeps for the cases excluded here. An async resolver's coroutine is returned as it is, for
    graphql-core to await. None otherwise, and strawberry's wrapper is called."""
    resolver = getattr(definition, "base_resolver", None)
    if resolver is None or definition.extensions or _exception_handlers(field.resolve) != ():
        return None
    arguments = definition.arguments
    if len(arguments) != len(field.args) or not all(_unconverted(a.type) for a in arguments):
        return None
    names = tuple(zip(field.args, (a.python_name for a in arguments), strict=True))
    function = resolver.wrapped_func
    wants_self = resolver.self_parameter is not None
    sources = [p.name for p in (resolver.parent_parameter, resolver.root_parameter) if p is not None]
    info_name = resolver.info_parameter.name if resolver.info_parameter is not None else None

    def resolve(source: Any, info: GraphQLResolveInfo[Any] | None, args: dict[str, Any]) -> Any:
        kwargs = dict.fromkeys(sources, source)
        for name, python_name in names:
            if name in args:
                kwargs[python_name] = args[name]
        if info_name is not None:
            assert info is not None  # built for every resolver that takes one (`_Shortcut.wants_info`)
            strawberry_schema = info.schema._strawberry_schema  # type: ignore[attr-defined]
            kwargs[info_name] = strawberry_schema.config.info_class(_raw_info=info, _field=definition)
        return function(source, **kwargs) if wants_self else function(**kwargs)

    return resolve


_UNCONVERTED_SCALARS: Final = (str, int, float, bool, strawberry.ID)


def _unconverted(type_: Any) -> bool:
    """Whether strawberry passes an argument of this type to the resolver as graphql-core coerced it: a
    built-in scalar or `ID`, or null for an optional one. Lists (strawberry copies them), enums, input
    objects, custom scalars, `GlobalID` and `Maybe` (converted or wrapped) keep strawberry's wrapper."""
    if type(type_) is StrawberryOptional:
        type_ = type_.of_type
    return any(type_ is scalar for scalar in _UNCONVERTED_SCALARS)


def _exception_handlers(resolve: Any) -> object:
    """The exception handlers strawberry bound into a field's resolver wrapper (None: not strawberry's)."""
    code, cells = getattr(resolve, "__code__", None), getattr(resolve, "__closure__", None) or ()
    names = code.co_freevars if code is not None else ()
    bound = dict(zip(names, cells, strict=False))
    cell = bound.get("field_exception_handlers")
    return cell.cell_contents if cell is not None else None


def _plain_object(type_: GraphQLOutputType) -> TypeGuard[GraphQLObjectType]:
    """An object type whose `is_type_of` (if any) is strawberry's own, which never reads the info."""
    if not isinstance(type_, GraphQLObjectType):
        return False
    definition = _definition(type_)
    return type_.is_type_of is None or (definition is not None and definition.is_type_of is None)


def _definition(element: GraphQLField | GraphQLObjectType) -> Any:
    """The strawberry definition a field or type was built from (None when strawberry did not build it)."""
    return (element.extensions or {}).get("strawberry-definition")


def _origin(object_type: GraphQLObjectType) -> type | None:
    origin = getattr(_definition(object_type), "origin", None)
    return origin if isinstance(origin, type) else None


# Values these built-in scalars return unchanged (graphql-core's `serialize_*` check the same).
_UNCHANGED: Final[dict[GraphQLScalarType, Callable[[Any], bool]]] = {
    GraphQLString: lambda value: type(value) is str,
    GraphQLID: lambda value: type(value) is str,
    GraphQLBoolean: lambda value: type(value) is bool,
    GraphQLInt: lambda value: type(value) is int and -(2**31) <= value < 2**31,
    GraphQLFloat: lambda value: type(value) is float and math.isfinite(value),
}


def _coercer(leaf: GraphQLScalarType | GraphQLEnumType) -> Callable[[Any], Any]:
    """The leaf's output value, or _SLOW where graphql-core would raise (it then words the error)."""
    unchanged = _UNCHANGED.get(leaf) if isinstance(leaf, GraphQLScalarType) else None
    coerce_output_value = leaf.coerce_output_value

    def coerce(value: Any) -> Any:
        if unchanged is not None and unchanged(value):
            return value
        if isinstance(value, Exception):
            return _SLOW
        try:
            coerced = coerce_output_value(value)
        except Exception:
            return _SLOW
        return _SLOW if coerced is None or coerced is Undefined else coerced

    return coerce


def _leaf_completer(leaf: GraphQLScalarType | GraphQLEnumType, non_null: bool) -> Completer:
    coerce = _coercer(leaf)

    def complete(ex: FastFieldsExecutionContext, value: Any, step: _Step, path: Any) -> Any:
        if value is None:
            return _SLOW if non_null else None
        return coerce(value)

    return complete


def _leaf_list_completer(
    leaf: GraphQLScalarType | GraphQLEnumType, non_null: bool, items_non_null: bool
) -> Completer:
    coerce = _coercer(leaf)

    def complete(ex: FastFieldsExecutionContext, value: Any, step: _Step, path: Any) -> Any:
        if value is None:
            return _SLOW if non_null else None
        if type(value) is not list:
            return _SLOW
        completed: list[Any] = []
        for item in value:
            if item is None:
                if items_non_null:
                    return _SLOW
                completed.append(None)
                continue
            coerced = coerce(item)
            if coerced is _SLOW:
                return _SLOW
            completed.append(coerced)
        return completed

    return complete


def _object_check(object_type: GraphQLObjectType) -> Callable[[FastFieldsExecutionContext, Any], bool]:
    """Whether graphql-core would complete a value as `object_type` without a word to say about it."""
    origin = _origin(object_type)
    is_type_of: Any = object_type.is_type_of  # strawberry's: it never reads the info (`_plain_object`)

    def check(ex: FastFieldsExecutionContext, value: Any) -> bool:
        # An instance of the type's own class is neither an exception nor awaitable.
        if type(value) is not origin and (isinstance(value, Exception) or ex.is_awaitable(value)):
            return False
        return is_type_of is None or is_type_of(value, None) is True

    return check


def _object_completer(
    object_type: GraphQLObjectType, return_type: GraphQLOutputType, non_null: bool
) -> Completer:
    check = _object_check(object_type)

    def complete(ex: FastFieldsExecutionContext, value: Any, step: _Step, path: Any) -> Any:
        if value is None:
            return _SLOW if non_null else None
        if not check(ex, value):
            return _SLOW
        selection = ex.child_selection(step, object_type)
        if selection is None:
            return _SLOW
        return ex.complete_object(selection, return_type, step.details, path, value)

    return complete


def _object_list_completer(
    object_type: GraphQLObjectType,
    return_type: GraphQLOutputType,
    item_type: GraphQLOutputType,
    non_null: bool,
    items_non_null: bool,
) -> Completer:
    check = _object_check(object_type)

    def complete(ex: FastFieldsExecutionContext, value: Any, step: _Step, path: Any) -> Any:
        if value is None:
            return _SLOW if non_null else None
        if type(value) is not list:
            return _SLOW
        for item in value:
            if (item is None and items_non_null) or (item is not None and not check(ex, item)):
                return _SLOW
        selection = ex.child_selection(step, object_type)
        if selection is None:
            return _SLOW
        try:
            completed = _complete_items(ex, selection, item_type, step.details, path, value)
        except Exception as error:
            ex.handle_field_error(error, return_type, step.details, path)
            return None
        if isinstance(completed, list):
            return completed
        return ex.guarded(completed, return_type, step.details, path)

    return complete


def _complete_items(
    ex: FastFieldsExecutionContext,
    selection: _Selection,
    item_type: GraphQLOutputType,
    details: FieldDetailsList,
    field_path: Path,
    items: list[Any],
) -> AwaitableOrValue[list[Any]]:
    """Each item's selection; a non-null item's error propagates to the list, as in graphql-core."""
    completed: list[Any] = []
    pending: list[int] = []
    try:
        for index, item in enumerate(items):
            if item is None:
                completed.append(None)
                continue
            value = ex.complete_object(selection, item_type, details, _path(field_path, index, None), item)
            if type(value) is not dict and value is not None:
                pending.append(index)
            completed.append(value)
    except Exception:
        if pending:
            ex.settle_in_background([completed[i] for i in pending])
        raise
    if not pending:
        return completed
    return _await_items(completed, pending)
