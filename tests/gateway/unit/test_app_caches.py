"""The gateway parses and validates a repeated document once (ParserCache, DocumentValidationCache)."""

from __future__ import annotations

from typing import Any

from strawberry.extensions.parser_cache import _get_parse_cache

from gateway.app import schema_extensions
from gateway.config import Settings
from gateway.schema import build_schema
from gateway.schema.validation import RESULTS


async def test_a_repeated_document_is_parsed_and_validated_once() -> None:
    schema = build_schema(extensions=schema_extensions(Settings()))
    document = "query ParsedOnce { __typename }"  # unique text: its first run is a cache miss
    parse = _get_parse_cache(128)
    before = _hits(parse), RESULTS.hits, RESULTS.misses
    for _ in range(3):
        result = await schema.execute(document)
        assert result.errors is None
    # Both caches are module-level (strawberry's parser LRU keyed by maxsize, 128 by default), shared by all
    # requests; the validation results are found by the parsed document's identity.
    assert (_hits(parse), RESULTS.hits, RESULTS.misses) == (before[0] + 2, before[1] + 2, before[2] + 1)


async def test_validation_errors_are_kept_too_and_a_new_document_object_is_validated_afresh() -> None:
    from graphql import parse as parse_document
    from graphql import specified_rules

    from gateway.schema.validation import ValidationResults

    schema = build_schema(extensions=schema_extensions(Settings()))._schema
    results, rules = ValidationResults(max_documents=2), tuple(specified_rules)
    bad = parse_document("{ nope }")
    first = results.validate(schema, bad, rules)
    assert len(first) == 1 and first[0].message.startswith("Cannot query field 'nope' on type 'Query'.")
    assert results.validate(schema, bad, rules) is first  # the same object: found, not validated again
    # The same text parsed again is another object: validated afresh, never mistaken for the first.
    again = results.validate(schema, parse_document("{ nope }"), rules)
    assert again is not first and [e.message for e in again] == [e.message for e in first]
    assert (results.hits, results.misses) == (1, 2)
    # Bounded: a third document evicts the least recently used one.
    results.validate(schema, parse_document("{ __typename }"), rules)
    results.validate(schema, bad, rules)
    assert results.misses == 4


def _hits(cache: Any) -> int:  # a functools.lru_cache wrapper
    return int(cache.cache_info().hits)
