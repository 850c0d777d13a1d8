"""Validation results kept per parsed document, looked up by the document's identity (issue 8).

strawberry's `ValidationCache` is an ``lru_cache`` over ``(schema, document, rules)``: every lookup hashes
the `DocumentNode`, and graphql-core's nodes hash by value, recursively - a walk of the whole document on
every request (~9 us for an 8-field query). The parser cache (`ParserCache`) already answers one
`DocumentNode` object per query text, so the object itself identifies the document: `DocumentValidationCache`
keys its results by ``id()`` and keeps the document in the entry, so an id reused by a later object never
matches (an entry counts only if its document *is* the one asked about).

Like strawberry's, the cache is shared by every request of the process and bounded (the 128 most recently
used documents, the parser cache's default size); a document validated again after eviction is validated
in full. The rules are part of the key: a request whose extensions add other rules gets its own entry.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Sequence
from typing import Any, Final

from graphql import ASTValidationRule, DocumentNode, GraphQLError, GraphQLSchema
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

MAX_DOCUMENTS: Final = 128

Rules = tuple[type[ASTValidationRule], ...]
_Key = tuple[int, int, Rules]
_Entry = tuple[GraphQLSchema, DocumentNode, list[GraphQLError]]


class ValidationResults:
    """The errors of each (schema, document, rules) validated, by identity, most recently used kept."""

    def __init__(self, max_documents: int = MAX_DOCUMENTS) -> None:
        self._max = max_documents
        self._entries: OrderedDict[_Key, _Entry] = OrderedDict()
        self.hits = self.misses = 0

    def validate(
        self, schema: GraphQLSchema, document: DocumentNode, rules: Sequence[Any]
    ) -> list[GraphQLError]:
        key = (id(schema), id(document), tuple(rules))
        entry = self._entries.get(key)
        if entry is not None and entry[0] is schema and entry[1] is document:
            self._entries.move_to_end(key)
            self.hits += 1
            return entry[2]
        self.misses += 1
        errors = validate_document(schema, document, key[2])
        self._entries[key] = (schema, document, errors)
        if len(self._entries) > self._max:
            self._entries.popitem(last=False)
        return errors


#: The process's results, shared by every request (as strawberry's module-level LRU is).
RESULTS = ValidationResults()


class DocumentValidationCache(SchemaExtension):
    """Validates each parsed document once per process (see the module docstring); one per request."""

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        assert context.graphql_document is not None  # the parse stage ran, or the request already failed
        context.pre_execution_errors = RESULTS.validate(
            context.schema._schema, context.graphql_document, context.validation_rules
        )
        yield
