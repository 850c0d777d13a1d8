"""Persisted-query resolution rules (the HTTP flow is in test_persisted_e2e.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gateway.persisted import (
    MemoryQueryStore,
    PersistedQueries,
    PersistedQueryError,
    TrustedDocuments,
    sha256_hex,
)

QUERY = "{ portfolios { id } }"


def ext(digest: Any, version: Any = 1) -> dict[str, Any]:
    return {"extensions": {"persistedQuery": {"version": version, "sha256Hash": digest}}}


@pytest.mark.parametrize(
    ("payload", "code", "status"),
    [
        (ext(sha256_hex(QUERY), version=2), "BAD_REQUEST", 400),
        (ext("abc"), "BAD_REQUEST", 400),
        (ext(None), "BAD_REQUEST", 400),
        ({"extensions": {"persistedQuery": "x"}}, "BAD_REQUEST", 400),
        (ext(sha256_hex(QUERY)), "PERSISTED_QUERY_NOT_FOUND", 200),
        ({**ext(sha256_hex("{ other }")), "query": QUERY}, "BAD_REQUEST", 400),
    ],
)
async def test_apq_refusals(payload: dict[str, Any], code: str, status: int) -> None:
    with pytest.raises(PersistedQueryError) as info:
        await PersistedQueries(store=MemoryQueryStore(), trusted=None).resolve(payload)
    assert (info.value.code, info.value.status) == (code, status)


async def test_apq_registers_then_serves_and_plain_queries_pass() -> None:
    queries = PersistedQueries(store=MemoryQueryStore(), trusted=None)
    assert await queries.resolve({"query": QUERY}) == {"query": QUERY}
    await queries.resolve({**ext(sha256_hex(QUERY)), "query": QUERY})
    assert (await queries.resolve(ext(sha256_hex(QUERY))))["query"] == QUERY


async def test_apq_off_says_not_supported() -> None:
    with pytest.raises(PersistedQueryError, match="PersistedQueryNotSupported"):
        await PersistedQueries(store=None, trusted=None).resolve(ext(sha256_hex(QUERY)))


async def test_memory_store_is_bounded() -> None:
    store = MemoryQueryStore(max_entries=2)
    for number in range(3):
        await store.put(str(number), f"q{number}")
    assert await store.get("0") is None and await store.get("2") == "q2"


def test_trusted_manifest_formats_and_hash_check(tmp_path: Path) -> None:
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps({sha256_hex(QUERY): QUERY}))
    assert TrustedDocuments.load(plain).get(sha256_hex(QUERY)) == QUERY
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({sha256_hex("{ x }"): QUERY}))
    with pytest.raises(ValueError, match="does not match"):
        TrustedDocuments.load(wrong)
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"operations": [{"name": "no id"}]}))
    with pytest.raises(ValueError, match="cannot load"):
        TrustedDocuments.load(broken)


async def test_trusted_mode_refuses_unknown_and_altered_documents() -> None:
    queries = PersistedQueries(store=None, trusted=TrustedDocuments({sha256_hex(QUERY): QUERY}))
    assert (await queries.resolve({"query": QUERY}))["query"] == QUERY
    for payload in (
        {"query": "{ x }"},
        ext(sha256_hex("{ x }")),
        {**ext(sha256_hex(QUERY)), "query": "{ x }"},
    ):
        with pytest.raises(PersistedQueryError) as info:
            await queries.resolve(payload)
        assert info.value.code == "PERSISTED_QUERY_NOT_IN_LIST"
