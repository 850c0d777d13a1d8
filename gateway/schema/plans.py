"""Execution plans per parsed operation, kept across requests (issue 8).

graphql-core collects an operation's fields afresh for every request - the root's grouped field set, and
each object's subfields - and keeps them only for one execution; the executor then turns each selection
into its steps (`gateway.schema.execution._Selection`). For a document whose collection cannot depend on
the request, all of that is the same every time: the parser cache hands each request of one query text
the same `DocumentNode`, so its nodes are stable keys. An `OperationPlan` keeps, for one operation node of
one schema, the root's grouped field set per root type, each object's collected subfields per (object
type, field details list) and each of those selections' steps.

Only a *static* operation gets a plan (`is_static`): no directive anywhere in the selection sets it
reaches through fields and fragments (so no ``@skip``/``@include`` on variables, no ``@defer``/``@stream``)
and no fragment with variables or arguments (graphql-core's experimental fragment variables). Collecting
such an operation reads nothing of the request (its variables only feed directives and fragment
variables), so what a plan holds is what graphql-core would collect again. Every other operation keeps
graphql-core's per-request path exactly as before. A plan holds no value, error, path or answer: the
executor's memo of answers (`_completed`) stays per execution.

Keys are identities: each entry holds its schema, operation node and the field details lists it is keyed
by, so no id is reused for another object while the entry lives. Plans are bounded like the parser cache
they follow: the last `DEFAULT_MAXSIZE` (strawberry's ParserCache default, 128) operations used, least
recently used out; a plan's own size is bounded by its document and the schema's object types. A plan is
checked against the fragment definitions of the executing document (the same node objects, by name), so a
document sharing an operation node with different fragments is never served another's collection.

Reads take no lock; what is published (a grouped field set with its steps) is built completely first and
made visible by one dict assignment, under a lock so two threads do not both build it. Within one event
loop nothing here awaits, so concurrent requests never see a half-built entry.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Final, Generic, TypeVar

from graphql import (
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLObjectType,
    GraphQLSchema,
    OperationDefinitionNode,
    SelectionSetNode,
)
from graphql.execution.collect_fields import CollectedFields, FieldDetailsList, GroupedFieldSet
from strawberry.extensions.parser_cache import DEFAULT_MAXSIZE

S = TypeVar("S")
# (object type, its collected grouped field set) -> the executor's steps for it
SelectionBuilder = Callable[[GraphQLObjectType, GroupedFieldSet], S]

PLANS_MAX: Final = DEFAULT_MAXSIZE


def is_static(operation: OperationDefinitionNode, fragments: Mapping[str, FragmentDefinitionNode]) -> bool:
    """Whether collecting the operation's fields, at any depth, reads nothing but the document: no
    directive on any field, inline fragment or fragment spread it reaches, no fragment arguments or
    fragment variables."""
    pending: list[SelectionSetNode] = [operation.selection_set]
    spread: set[str] = set()
    while pending:
        for selection in pending.pop().selections:
            if selection.directives:
                return False
            if isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = fragments.get(name)
                if selection.arguments or (fragment is not None and not _plain_fragment(fragment)):
                    return False
                if fragment is not None and name not in spread:
                    spread.add(name)
                    pending.append(fragment.selection_set)
            else:  # a field (its sub-selection, if any) or an inline fragment
                selection_set: SelectionSetNode | None = getattr(selection, "selection_set", None)
                if selection_set is not None:
                    pending.append(selection_set)
    return True


def _plain_fragment(fragment: FragmentDefinitionNode) -> bool:
    return not fragment.variable_definitions and not fragment.directives


class OperationPlan(Generic[S]):
    """What executing one static operation of one schema collects, kept for its next requests."""

    __slots__ = ("_build", "_lists", "_lock", "_roots", "_selections", "fragments")

    def __init__(
        self,
        fragments: Mapping[str, FragmentDefinitionNode],
        build: SelectionBuilder[S],
        lock: threading.Lock,
    ) -> None:
        self.fragments = dict(fragments)  # the definitions it was built with, checked on each use
        self._build = build
        self._lock = lock
        self._roots: dict[GraphQLObjectType, GroupedFieldSet] = {}
        # id(field details list) -> (that list, its collected subfields per object type)
        self._lists: dict[int, tuple[FieldDetailsList, dict[GraphQLObjectType, CollectedFields]]] = {}
        # id(grouped field set) -> its steps (each holds its grouped field set)
        self._selections: dict[int, S] = {}

    def root_fields(self, root_type: GraphQLObjectType, collected: GroupedFieldSet) -> GroupedFieldSet:
        """The root's grouped field set kept from an earlier request; this one's (`collected`, just
        collected by graphql-core) is kept if there is none yet."""
        kept = self._roots.get(root_type)
        if kept is None:
            with self._lock:
                kept = self._roots.get(root_type)
                if kept is None:
                    kept = self._publish(root_type, dict(collected))
                    self._roots[root_type] = kept
        return kept

    def subfields(self, return_type: GraphQLObjectType, details: FieldDetailsList) -> CollectedFields | None:
        """The subfields of a field details list of this plan kept from an earlier request, if any."""
        entry = self._lists.get(id(details))
        return None if entry is None else entry[1].get(return_type)

    def keep_subfields(
        self, return_type: GraphQLObjectType, details: FieldDetailsList, collected: CollectedFields
    ) -> CollectedFields:
        """What to use from now on for these subfields: `collected` (just collected by graphql-core),
        kept if `details` is a list of this plan and nothing is kept for it yet."""
        entry = self._lists.get(id(details))
        if entry is None:
            return collected
        by_type = entry[1]
        with self._lock:
            kept = by_type.get(return_type)
            if kept is None:
                grouped, defers, forbidden = collected
                kept = CollectedFields(self._publish(return_type, dict(grouped)), defers, forbidden)
                by_type[return_type] = kept
        return kept

    def selection(self, grouped_field_set: GroupedFieldSet) -> S | None:
        """The steps of a grouped field set of this plan (None for any other)."""
        return self._selections.get(id(grouped_field_set))

    def _publish(self, object_type: GraphQLObjectType, grouped: GroupedFieldSet) -> GroupedFieldSet:
        """Register a grouped field set's lists and steps (called under the lock, before it is visible)."""
        for details in grouped.values():
            self._lists.setdefault(id(details), (details, {}))
        self._selections[id(grouped)] = self._build(object_type, grouped)
        return grouped


class OperationPlans(Generic[S]):
    """The plans of the last `maxsize` operations used, by schema and operation node identity."""

    def __init__(self, build: SelectionBuilder[S], maxsize: int = PLANS_MAX) -> None:
        self._build = build
        self._maxsize = maxsize
        self._lock = threading.Lock()
        # (id(schema), id(operation)) -> (schema, operation, its plan or None when it is not static)
        self._entries: OrderedDict[
            tuple[int, int], tuple[GraphQLSchema, OperationDefinitionNode, OperationPlan[S] | None]
        ] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def plan(
        self,
        schema: GraphQLSchema,
        operation: OperationDefinitionNode,
        fragments: Mapping[str, FragmentDefinitionNode],
    ) -> OperationPlan[S] | None:
        """The operation's plan; None when its collection may depend on the request, or when these
        fragment definitions are not the ones the plan was built with."""
        key = (id(schema), id(operation))
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
        if entry is None:
            plan = None
            if is_static(operation, fragments):
                plan = OperationPlan(fragments, self._build, self._lock)
            entry = (schema, operation, plan)
            with self._lock:
                entry = self._entries.setdefault(key, entry)
                if len(self._entries) > self._maxsize:
                    self._entries.popitem(last=False)
        plan = entry[2]
        if plan is None or not _same_fragments(plan.fragments, fragments):
            return None
        return plan


def _same_fragments(
    kept: Mapping[str, FragmentDefinitionNode], given: Mapping[str, FragmentDefinitionNode]
) -> bool:
    return len(kept) == len(given) and all(given.get(name) is node for name, node in kept.items())
