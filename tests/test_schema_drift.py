"""The committed schema.graphql is exactly what the code generates (saleor-style drift check)."""

from __future__ import annotations

from pathlib import Path

from gateway.cli import schema_sdl

SCHEMA_FILE = Path(__file__).resolve().parents[1] / "schema.graphql"


def test_committed_schema_matches_the_code() -> None:
    committed = SCHEMA_FILE.read_text(encoding="utf-8") if SCHEMA_FILE.exists() else ""
    assert committed == schema_sdl(), "schema.graphql drifted: run `offsets-gateway export-schema`"
