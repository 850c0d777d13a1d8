"""Static limits as graphql-core validation rules: depth, aliases and root fields (cacheable per document).

Each rule walks fragments with a visited set, so a fragment cycle (reported by the standard rules) cannot
make these loop. Token counting happens before parsing (see `count_tokens`).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

from graphql import (
    ASTValidationRule,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    Source,
    TokenKind,
    ValidationContext,
    ValidationRule,
)
from graphql.language import Lexer

from gateway.operation_limits.errors import LimitExceededError

Fragments = dict[str, FragmentDefinitionNode]


@lru_cache(maxsize=128)
def count_tokens(query: str, limit: int) -> int:
    """Lexical tokens of `query`, counting stops at `limit + 1`; syntax errors are left to the parser.

    Cached by document text (128 documents, as strawberry's parser cache): clients send the same few
    documents over and over, and the lexer is pure Python (re-lexing cost ~9% of an `order(id)` request).
    """
    lexer = Lexer(Source(query))
    count = 0
    try:
        while count <= limit and lexer.advance().kind is not TokenKind.EOF:
            count += 1
    except GraphQLError:
        pass
    return count


def fields_of(
    selection_set: SelectionSetNode | None, fragments: Fragments, seen: frozenset[str]
) -> Iterator[FieldNode]:
    """The fields of a selection set with fragments inlined (each fragment once per path)."""
    for selection in selection_set.selections if selection_set else ():
        if isinstance(selection, FieldNode):
            yield selection
        elif isinstance(selection, InlineFragmentNode):
            yield from fields_of(selection.selection_set, fragments, seen)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name in fragments and name not in seen:
                yield from fields_of(fragments[name].selection_set, fragments, seen | {name})


def _depth(selection_set: SelectionSetNode | None, fragments: Fragments, seen: frozenset[str]) -> int:
    # Introspection (`__schema`, `__type`) is deep by nature and bounded by the schema; it is left out so
    # GraphiQL keeps working where introspection is enabled.
    depths = [
        1 + _depth(f.selection_set, fragments, seen)
        for f in fields_of(selection_set, fragments, seen)
        if not f.name.value.startswith("__")
    ]
    return max(depths, default=0)


def _aliases(selection_set: SelectionSetNode | None, fragments: Fragments, seen: frozenset[str]) -> int:
    return sum(
        (1 if f.alias else 0) + _aliases(f.selection_set, fragments, seen)
        for f in fields_of(selection_set, fragments, seen)
    )


def _operations(context: ValidationContext) -> tuple[list[OperationDefinitionNode], Fragments]:
    definitions = context.document.definitions
    operations = [d for d in definitions if isinstance(d, OperationDefinitionNode)]
    fragments = {d.name.value: d for d in definitions if isinstance(d, FragmentDefinitionNode)}
    return operations, fragments


def limit_rules(*, max_depth: int, max_aliases: int, max_root_fields: int) -> list[type[ASTValidationRule]]:
    """Validation rules enforcing the three static limits."""

    class OperationLimitsRule(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            operations, fragments = _operations(context)
            for operation in operations:
                self._check(operation, fragments)

        def _check(self, operation: OperationDefinitionNode, fragments: Fragments) -> None:
            depth = _depth(operation.selection_set, fragments, frozenset())
            if depth > max_depth:
                self._report(
                    "DEPTH_LIMIT_EXCEEDED", f"operation depth {depth} exceeds the limit of {max_depth}"
                )
            aliases = _aliases(operation.selection_set, fragments, frozenset())
            if aliases > max_aliases:
                self._report("ALIAS_LIMIT_EXCEEDED", f"{aliases} aliases exceed the limit of {max_aliases}")
            roots = sum(1 for _ in fields_of(operation.selection_set, fragments, frozenset()))
            if roots > max_root_fields:
                message = f"{roots} root fields exceed the limit of {max_root_fields}"
                self._report("ROOT_FIELD_LIMIT_EXCEEDED", message)

        def _report(self, code: str, message: str) -> None:
            self.report_error(LimitExceededError(code, message))

    return [OperationLimitsRule]
