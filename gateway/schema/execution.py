"""Field execution with a short path for fields that only read an attribute (issue 8).

graphql-core resolves every field the same way: a `Path`, a resolve-info object (strawberry's carries ten
references), the argument check, strawberry's resolver wrapper, then `complete_value`'s walk through the
type's wrappers. Most fields of this schema are *basic*: a strawberry field with no resolver, no
arguments and no field extensions, whose value is an attribute of the parent object already in hand.
A page of 50 orders has about 750 of them, and each cost more than the rest of its answer.

`FastFieldsExecutionContext.execute_fields` answers such fields directly:

- a scalar or enum (or a list of them): the attribute, coerced with the type's own
  ``coerce_output_value``;
- an object (or a list of objects): the attribute, then its selection through `execute_fields` again.

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

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final, TypeAlias, TypeGuard

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
)
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from graphql.execution.executor import to_nodes
from graphql.execution.values import get_argument_values
from graphql.pyutils import AwaitableOrValue, Path, Undefined, gather_with_cancel

from gateway.schema.errors import UpstreamErrorsExecutionContext

_SLOW: Final = object()
"""What a short path answers when graphql-core must complete the field instead (nothing has run yet)."""

# (executor, value, field details, the field's path - None for leaves) -> completed value or _SLOW
_SHORTCUTS_ATTRIBUTE = "_gateway_shortcuts"
Completer: TypeAlias = Callable[["FastFieldsExecutionContext", Any, FieldDetailsList, Path | None], Any]


@dataclass(frozen=True, slots=True)
class _Shortcut:
    """How one field of an object type is answered: read `attribute` (basic fields) and/or complete."""

    attribute: str | None
    complete: Completer
    needs_path: bool


class FastFieldsExecutionContext(UpstreamErrorsExecutionContext):
    """graphql-core's executor (with the gateway's error translation), short-cutting basic fields."""

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> AwaitableOrValue[dict[str, Any]]:
        if position_context is not None or _wraps_resolvers(self):
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        shortcuts = _shortcuts(parent_type)
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        try:
            for response_name, field_details_list in grouped_field_set.items():
                node = field_details_list[0].node
                shortcut = None if node.directives else shortcuts.get(node.name.value)
                result = (
                    _SLOW
                    if shortcut is None or shortcut.attribute is None
                    else _read(
                        self, shortcut, source_value, path, response_name, parent_type, field_details_list
                    )
                )
                if result is _SLOW:
                    result = self.execute_field(
                        parent_type,
                        source_value,
                        field_details_list,
                        Path(path, response_name, parent_type.name),
                        position_context,
                    )
                    if result is Undefined:
                        continue
                results[response_name] = result
                if is_awaitable(result):
                    awaitable_fields.append(response_name)
        except Exception:
            if awaitable_fields:
                self.settle_in_background([results[name] for name in awaitable_fields])
            raise
        if not awaitable_fields:
            return results
        return _await_fields(results, awaitable_fields)

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: FieldDetailsList,
        path: Path,
        position_context: Any,
    ) -> Any:
        """A field with a resolver: graphql-core's resolution, then the short completion when it can."""
        node = field_details_list[0].node
        shortcut = None if node.directives else _shortcuts(parent_type).get(node.name.value)
        if shortcut is None or position_context is not None or _wraps_resolvers(self):
            return super().execute_field(parent_type, source, field_details_list, path, position_context)
        field_def = parent_type.fields[node.name.value]
        return_type = field_def.type
        info = self.build_resolve_info(field_def, to_nodes(field_details_list), parent_type, path)
        try:
            args = (
                get_argument_values(
                    field_def,
                    node,
                    self.variable_values,
                    field_details_list[0].fragment_variable_values,
                    self.hide_suggestions,
                )
                if field_def.args or node.arguments
                else {}
            )
            result = (field_def.resolve or self.field_resolver)(source, info, **args)
            if self.is_awaitable(result):
                return self.complete_awaitable_value(
                    return_type, field_details_list, info, path, result, position_context
                )
        except Exception as error:
            self.handle_field_error(error, return_type, field_details_list, path)
            return None
        completed = shortcut.complete(self, result, field_details_list, path)
        if completed is not _SLOW:
            return completed
        try:
            completed = self.complete_value(
                return_type, field_details_list, info, path, result, position_context
            )
        except Exception as error:
            self.handle_field_error(error, return_type, field_details_list, path)
            return None
        if self.is_awaitable(completed):
            return self.guarded(completed, return_type, field_details_list, path)
        return completed

    def complete_fast_object(
        self,
        object_type: GraphQLObjectType,
        grouped_field_set: GroupedFieldSet,
        return_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        path: Path,
        value: Any,
    ) -> Any:
        """Execute an object's selection; an error in it nulls this position (or propagates, non-null)."""
        try:
            completed = self.execute_fields(object_type, value, path, grouped_field_set, None)
        except Exception as error:
            self.handle_field_error(error, return_type, field_details_list, path)
            return None
        if self.is_awaitable(completed):
            return self.guarded(completed, return_type, field_details_list, path)
        return completed

    def fast_subfields(
        self, object_type: GraphQLObjectType, field_details_list: FieldDetailsList
    ) -> GroupedFieldSet | None:
        """The object's selection, or None when it defers fragments (graphql-core's path then)."""
        grouped_field_set, new_defer_usages, _ = self.collect_subfields(object_type, field_details_list)
        return None if new_defer_usages else grouped_field_set

    async def guarded(
        self,
        completed: Awaitable[Any],
        return_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        path: Path,
    ) -> Any:
        try:
            return await completed
        except Exception as error:
            self.handle_field_error(error, return_type, field_details_list, path)
            return None


def _wraps_resolvers(ex: FastFieldsExecutionContext) -> bool:
    # strawberry passes a manager on every request, holding the extensions that have a `resolve` hook.
    manager = ex.middleware_manager
    return manager is not None and bool(manager.middlewares)


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


def _read(
    ex: FastFieldsExecutionContext,
    shortcut: _Shortcut,
    source: Any,
    path: Path | None,
    key: str,
    parent_type: GraphQLObjectType,
    details: FieldDetailsList,
) -> Any:
    """A basic field: its attribute, completed (or _SLOW, having run nothing)."""
    value = getattr(source, shortcut.attribute, _SLOW)  # type: ignore[arg-type]
    if value is _SLOW:
        return _SLOW
    field_path = Path(path, key, parent_type.name) if shortcut.needs_path else None
    return shortcut.complete(ex, value, details, field_path)


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
    definition = (field.extensions or {}).get("strawberry-definition")
    if definition is None:
        return None
    return_type = field.type
    non_null = isinstance(return_type, GraphQLNonNull)
    named = return_type.of_type if isinstance(return_type, GraphQLNonNull) else return_type
    complete: Completer | None = None
    needs_path = True
    if isinstance(named, GraphQLList):
        item_type = named.of_type
        item = item_type.of_type if isinstance(item_type, GraphQLNonNull) else item_type
        items_non_null = isinstance(item_type, GraphQLNonNull)
        if isinstance(item, GraphQLScalarType | GraphQLEnumType):
            complete, needs_path = _leaf_list_completer(item, non_null, items_non_null), False
        elif _plain_object(item):
            complete = _object_list_completer(item, return_type, item_type, non_null, items_non_null)
    elif isinstance(named, GraphQLScalarType | GraphQLEnumType):
        complete, needs_path = _leaf_completer(named, non_null), False
    elif _plain_object(named):
        complete = _object_completer(named, return_type, non_null)
    if complete is None:
        return None
    return _Shortcut(_basic_attribute(field, definition), complete, needs_path)


def _basic_attribute(field: GraphQLField, definition: Any) -> str | None:
    """The attribute a strawberry field reads, when it has no resolver, arguments or extensions."""
    if not getattr(field.resolve, "_is_default", False) or field.args or not definition.is_basic_field:
        return None
    name = definition.python_name
    return name if isinstance(name, str) else None


def _plain_object(type_: GraphQLOutputType) -> TypeGuard[GraphQLObjectType]:
    """An object type whose `is_type_of` (if any) is strawberry's own, which never reads the info."""
    if not isinstance(type_, GraphQLObjectType):
        return False
    definition = (type_.extensions or {}).get("strawberry-definition")
    return type_.is_type_of is None or (definition is not None and definition.is_type_of is None)


def _coerce(leaf: GraphQLScalarType | GraphQLEnumType, value: Any) -> Any:
    """The leaf's output value, or _SLOW where graphql-core would raise (it then words the error)."""
    if isinstance(value, Exception):
        return _SLOW
    try:
        coerced = leaf.coerce_output_value(value)
    except Exception:
        return _SLOW
    return _SLOW if coerced is None or coerced is Undefined else coerced


def _leaf_completer(leaf: GraphQLScalarType | GraphQLEnumType, non_null: bool) -> Completer:
    def complete(ex: FastFieldsExecutionContext, value: Any, details: Any, path: Any) -> Any:
        if value is None:
            return _SLOW if non_null else None
        return _coerce(leaf, value)

    return complete


def _leaf_list_completer(
    leaf: GraphQLScalarType | GraphQLEnumType, non_null: bool, items_non_null: bool
) -> Completer:
    def complete(ex: FastFieldsExecutionContext, value: Any, details: Any, path: Any) -> Any:
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
            coerced = _coerce(leaf, item)
            if coerced is _SLOW:
                return _SLOW
            completed.append(coerced)
        return completed

    return complete


def _object_value(ex: FastFieldsExecutionContext, object_type: GraphQLObjectType, value: Any) -> bool:
    """Whether graphql-core would complete `value` as `object_type` without a word to say about it."""
    if isinstance(value, Exception) or ex.is_awaitable(value):
        return False
    is_type_of: Any = object_type.is_type_of  # strawberry's: it never reads the info (`_plain_object`)
    return is_type_of is None or is_type_of(value, None) is True


def _object_completer(
    object_type: GraphQLObjectType, return_type: GraphQLOutputType, non_null: bool
) -> Completer:
    def complete(ex: FastFieldsExecutionContext, value: Any, details: Any, path: Any) -> Any:
        if value is None:
            return _SLOW if non_null else None
        if not _object_value(ex, object_type, value):
            return _SLOW
        grouped_field_set = ex.fast_subfields(object_type, details)
        if grouped_field_set is None:
            return _SLOW
        return ex.complete_fast_object(object_type, grouped_field_set, return_type, details, path, value)

    return complete


def _object_list_completer(
    object_type: GraphQLObjectType,
    return_type: GraphQLOutputType,
    item_type: GraphQLOutputType,
    non_null: bool,
    items_non_null: bool,
) -> Completer:
    def complete(ex: FastFieldsExecutionContext, value: Any, details: Any, path: Any) -> Any:
        if value is None:
            return _SLOW if non_null else None
        if type(value) is not list or not all(
            (item is None and not items_non_null)
            or (item is not None and _object_value(ex, object_type, item))
            for item in value
        ):
            return _SLOW
        grouped_field_set = ex.fast_subfields(object_type, details)
        if grouped_field_set is None:
            return _SLOW
        try:
            completed = _complete_items(ex, object_type, grouped_field_set, item_type, details, path, value)
        except Exception as error:
            ex.handle_field_error(error, return_type, details, path)
            return None
        if ex.is_awaitable(completed):
            return ex.guarded(completed, return_type, details, path)
        return completed

    return complete


def _complete_items(
    ex: FastFieldsExecutionContext,
    object_type: GraphQLObjectType,
    grouped_field_set: GroupedFieldSet,
    item_type: GraphQLOutputType,
    details: FieldDetailsList,
    field_path: Path,
    items: list[Any],
) -> AwaitableOrValue[list[Any]]:
    """Each item's selection; a non-null item's error propagates to the list, as in graphql-core."""
    completed: list[Any] = []
    awaitable: list[int] = []
    try:
        for index, item in enumerate(items):
            if item is None:
                completed.append(None)
                continue
            item_path = Path(field_path, index, None)
            value = ex.complete_fast_object(
                object_type, grouped_field_set, item_type, details, item_path, item
            )
            if ex.is_awaitable(value):
                awaitable.append(index)
            completed.append(value)
    except Exception:
        if awaitable:
            ex.settle_in_background([completed[i] for i in awaitable])
        raise
    if not awaitable:
        return completed
    return _await_items(completed, awaitable)
