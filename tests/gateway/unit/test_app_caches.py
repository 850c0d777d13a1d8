"""The gateway's schema parses and validates a repeated document once (ParserCache, ValidationCache on)."""

from __future__ import annotations

from typing import Any

from strawberry.extensions.parser_cache import _get_parse_cache
from strawberry.extensions.validation_cache import _get_validate_cache

from gateway.app import schema_extensions
from gateway.config import Settings
from gateway.schema import build_schema


async def test_a_repeated_document_is_parsed_and_validated_once() -> None:
    schema = build_schema(extensions=schema_extensions(Settings()))
    document = "query ParsedOnce { __typename }"  # unique text: its first run is a cache miss
    parse, validate = _get_parse_cache(128), _get_validate_cache(128)
    before = _hits(parse), _hits(validate)
    for _ in range(3):
        result = await schema.execute(document)
        assert result.errors is None
    # strawberry's caches are module-level LRUs keyed by maxsize (128 by default), shared by all requests.
    assert (_hits(parse), _hits(validate)) == (before[0] + 2, before[1] + 2)


def _hits(cache: Any) -> int:  # a functools.lru_cache wrapper
    return int(cache.cache_info().hits)
