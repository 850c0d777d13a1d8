"""Static and actual cost of an operation, the way GitHub and Shopify price GraphQL queries.

Cost model:
* a field returning objects *through a resolver* costs 1 each time it runs (one upstream call or loader
  key, a list included); objects a resolver already returned as plain data (an order's project
  allocations) cost 0, like scalars and enums - they need no further upstream call;
* Relay plumbing (``...Connection``, ``...Edge``, ``PageInfo``) costs 0 itself, but a connection field costs 1
  for its list call and multiplies everything selected below it by its page size (``first``/``last``);
* a list field taking a list argument (`nodes(ids:)`) costs 1 plus its selections per item (one object,
  so up to one upstream call, per id), and takes at most `max_page_size` items like a connection;
* other list fields multiply the cost of their selections by `default_list_size` (the static estimate);
* fragments on different types are all added (an upper bound).

The *requested* cost is computed before execution from the document and variables (page sizes must be given
and at most `max_page_size`); the *actual* cost walks the response data with the same rules, counting the
objects really returned.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
    is_composite_type,
    is_list_type,
    is_non_null_type,
)
from graphql.execution.values import VariableValues, get_argument_values
from graphql.type.definition import GraphQLInputType, GraphQLOutputType

from gateway.operation_limits.errors import LimitExceededError

PAGE_ARGUMENTS = ("first", "last")


@dataclass(frozen=True)
class CostModel:
    """The knobs of the cost model."""

    max_page_size: int = 100
    default_list_size: int = 10


def is_structural(type_: GraphQLNamedType) -> bool:
    """Relay plumbing types that cost nothing by themselves."""
    return type_.name.endswith(("Connection", "Edge")) or type_.name == "PageInfo"


_PLAIN_DATA = "_gateway_plain_data"
F = TypeVar("F", bound=Callable[..., Any])


def plain_data(resolver: F) -> F:
    """Mark a resolver that only converts data its parent already holds (no upstream call, no loader):
    it is priced like a plain attribute, 0 (an order's `projectAllocations`, converted when selected)."""
    resolver.__dict__[_PLAIN_DATA] = True
    return resolver


def has_resolver(field: GraphQLField) -> bool:
    """True unless the field is a plain strawberry attribute or a `plain_data` resolver (data its parent
    already holds)."""
    definition = (field.extensions or {}).get("strawberry-definition")
    if definition is None:
        return True
    resolver = getattr(definition, "base_resolver", None)
    return resolver is not None and not getattr(resolver.wrapped_func, _PLAIN_DATA, False)


def is_connection(field: GraphQLField) -> bool:
    """A Relay connection field: it takes `first` and `last`."""
    return all(name in field.args for name in PAGE_ARGUMENTS)


def takes_a_list(field: GraphQLField) -> bool:
    """A list field fetching one object per item of a list argument (`nodes(ids:)`)."""
    return _unwrap_list(field.type) and any(_unwrap_list(argument.type) for argument in field.args.values())


def _unwrap_list(type_: GraphQLInputType | GraphQLOutputType) -> bool:
    inner = type_.of_type if is_non_null_type(type_) else type_
    return is_list_type(inner)


_Plan = list[tuple[str, bool, int, "_Plan"]]
"""Per composite field: response key, costs one per item (`nodes(ids:)`), own cost, the plan below it."""


class _Walk:
    """One cost computation over an operation: the static estimate, or the plan the actual cost follows."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: VariableValues | None,
        model: CostModel,
    ) -> None:
        self.schema, self.fragments, self.variables, self.model = schema, fragments, variables, model
        self._plans: dict[tuple[str, int], _Plan] = {}
        #: Whether the estimate read any argument (page sizes, id lists): if not, it holds for every request.
        self.read_arguments = False

    def selections(self, parent: GraphQLNamedType, selection_set: SelectionSetNode | None) -> int:
        return sum(
            self.field(parent, node, definition) for node, definition in self._fields(parent, selection_set)
        )

    def field(self, parent: GraphQLNamedType, node: FieldNode, definition: GraphQLField) -> int:
        named = get_named_type(definition.type)
        if not is_composite_type(named):
            return 0
        return self._static(parent, named, node, definition)

    def plan(self, parent: GraphQLNamedType, selection_set: SelectionSetNode | None) -> _Plan:
        """What the actual cost counts under `selection_set`, worked out once per selection set and type.

        The data walk then only looks up response keys: the schema questions (resolver? connection?
        fragments?) are answered here, not again for each of the response's objects.
        """
        memo_key = (parent.name, id(selection_set))
        plan = self._plans.get(memo_key)
        if plan is None:
            plan = self._plans[memo_key] = []
            for node, definition in self._fields(parent, selection_set):
                named = get_named_type(definition.type)
                if is_composite_type(named):
                    own = 1 if is_connection(definition) else _own_cost(parent, named, definition)
                    children = self.plan(named, node.selection_set)
                    plan.append(((node.alias or node.name).value, takes_a_list(definition), own, children))
        return plan

    def _static(
        self, parent: GraphQLNamedType, named: GraphQLNamedType, node: FieldNode, definition: GraphQLField
    ) -> int:
        own = _own_cost(parent, named, definition)
        children = self.selections(named, node.selection_set)
        if is_connection(definition):
            return 1 + self._page_size(node, definition) * children
        if takes_a_list(definition):
            # `nodes(ids:)`: one object, so up to one upstream call, per id - not one call for the list.
            return self._list_size(node, definition) * (1 + children)
        if _unwrap_list(definition.type):
            # Edges and nodes of a connection are already sized by the connection's page size.
            inside_connection = is_structural(parent) and parent.name.endswith("Connection")
            return own + (1 if inside_connection else self.model.default_list_size) * children
        return own + children

    def _page_size(self, node: FieldNode, definition: GraphQLField) -> int:
        self.read_arguments = True
        arguments = get_argument_values(definition, node, self.variables)
        sizes = [arguments[name] for name in PAGE_ARGUMENTS if arguments.get(name) is not None]
        name = node.name.value
        if not sizes:
            raise LimitExceededError("PAGE_SIZE_REQUIRED", f"`{name}` needs `first` or `last`", node)
        size = max(sizes)
        if size > self.model.max_page_size or min(sizes) < 0:
            message = f"`{name}` asks for {size} items; `first`/`last` must be 0..{self.model.max_page_size}"
            raise LimitExceededError("PAGE_SIZE_EXCEEDED", message, node)
        return int(size)

    def _list_size(self, node: FieldNode, definition: GraphQLField) -> int:
        self.read_arguments = True
        arguments = get_argument_values(definition, node, self.variables)
        size = max((len(value) for value in arguments.values() if isinstance(value, list)), default=0)
        if size > self.model.max_page_size:
            message = f"`{node.name.value}` asks for {size} items; at most {self.model.max_page_size}"
            raise LimitExceededError("PAGE_SIZE_EXCEEDED", message, node)
        return size

    def _fields(
        self, parent: GraphQLNamedType, selection_set: SelectionSetNode | None
    ) -> Iterator[tuple[FieldNode, GraphQLField]]:
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                definition = _field_definition(parent, selection.name.value)
                if definition is not None:
                    yield selection, definition
            elif isinstance(selection, InlineFragmentNode):
                yield from self._fragment(
                    parent,
                    selection.type_condition.name.value if selection.type_condition else None,
                    selection.selection_set,
                )
            elif isinstance(selection, FragmentSpreadNode) and selection.name.value in self.fragments:
                fragment = self.fragments[selection.name.value]
                yield from self._fragment(parent, fragment.type_condition.name.value, fragment.selection_set)

    def _fragment(
        self, parent: GraphQLNamedType, condition: str | None, selection_set: SelectionSetNode
    ) -> Iterator[tuple[FieldNode, GraphQLField]]:
        target = self.schema.get_type(condition) if condition else parent
        if target is not None:
            yield from self._fields(target, selection_set)


def _own_cost(parent: GraphQLNamedType, named: GraphQLNamedType, definition: GraphQLField) -> int:
    """1 for a resolver that may call upstream (once, even for a list); 0 for plain data and plumbing."""
    if is_structural(named) or is_structural(parent) or not has_resolver(definition):
        return 0
    return 1


def _field_definition(parent: GraphQLNamedType, name: str) -> GraphQLField | None:
    if name.startswith("__"):
        return None  # introspection and __typename cost nothing
    fields = getattr(parent, "fields", None)
    return fields.get(name) if fields is not None else None


def _root(schema: GraphQLSchema, operation: OperationDefinitionNode) -> GraphQLNamedType:
    root = schema.get_root_type(operation.operation)
    if root is None:
        raise LimitExceededError("GRAPHQL_VALIDATION_FAILED", "the schema has no such operation type")
    return root


def requested_cost(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: VariableValues | None,
    model: CostModel,
) -> int:
    """The static (worst-case) cost; raises PAGE_SIZE_REQUIRED / PAGE_SIZE_EXCEEDED on bad page sizes.

    An operation whose estimate reads no argument (``order(id: $id) { ... }``) costs the same whatever its
    variables, so that figure is kept per operation node like the actual-cost plans below.
    """
    key = (id(schema), id(operation), id(model))
    entry = _STATIC_COSTS.get(key)
    if entry is not None:
        _STATIC_COSTS.move_to_end(key)
        return entry[3]
    walk = _Walk(schema, fragments, variables, model)
    cost = walk.selections(_root(schema, operation), operation.selection_set)
    if not walk.read_arguments:
        _STATIC_COSTS[key] = (schema, operation, model, cost)
        if len(_STATIC_COSTS) > _PLANS_MAX:
            _STATIC_COSTS.popitem(last=False)
    return cost


def actual_cost(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    data: Mapping[str, Any] | None,
) -> int:
    """The cost of the objects the response really holds."""
    if not data:
        return 0
    return _count(_cached_plan(schema, operation, fragments), data)


# Plans by operation node: the parser cache hands every request of one document the same node, so the
# plan is worked out once per document, not per request. Each entry holds its operation and schema, so
# their ids cannot be reused by other objects while the entry lives; 128 documents, least recently used out.
_PLANS: OrderedDict[tuple[int, int], tuple[GraphQLSchema, OperationDefinitionNode, _Plan]] = OrderedDict()
_PLANS_MAX = 128
#: Requested costs that read no argument, by schema, operation node and cost model (held, like `_PLANS`).
_STATIC_COSTS: OrderedDict[
    tuple[int, int, int], tuple[GraphQLSchema, OperationDefinitionNode, CostModel, int]
] = OrderedDict()


def _cached_plan(
    schema: GraphQLSchema, operation: OperationDefinitionNode, fragments: Mapping[str, FragmentDefinitionNode]
) -> _Plan:
    key = (id(schema), id(operation))
    entry = _PLANS.get(key)
    if entry is not None:
        _PLANS.move_to_end(key)
        return entry[2]
    plan = _Walk(schema, fragments, None, CostModel()).plan(_root(schema, operation), operation.selection_set)
    _PLANS[key] = (schema, operation, plan)
    if len(_PLANS) > _PLANS_MAX:
        _PLANS.popitem(last=False)
    return plan


def _count(plan: _Plan, data: Mapping[str, Any], seen: dict[tuple[int, int], int] | None = None) -> int:
    """The actual cost of one response object: each field's own cost, then its objects' (same rules as
    the static walk: a missing or null value costs nothing; `nodes(ids:)` costs one per item).

    The executor may place one answer object at several positions (a page's allocations share a few
    projects); each position counts, and `seen` counts the object once per plan."""
    if seen is None:
        seen = {}
    total = 0
    for key, per_item, own, children in plan:
        value = data.get(key)
        if value is None:
            continue
        items = value if isinstance(value, list) else (value,)
        total += len(items) if per_item else own
        if children:
            for item in items:
                if isinstance(item, dict):
                    memo_key = (id(children), id(item))
                    cost = seen.get(memo_key)
                    if cost is None:
                        cost = seen[memo_key] = _count(children, item, seen)
                    total += cost
    return total
