"""gateway.reload in-process: each file is swapped whole or kept, independently of the other."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.auth.clients import hash_token
from gateway.auth.errors import AuthenticationError
from gateway.persisted import sha256_hex
from gateway.reload import reload_files
from gateway.security.settings import SecuritySettings
from gateway.security.wiring import Security, build_security

FIRST, SECOND = "{ __typename }", "query Second { __typename }"


def _security(tmp_path: Path) -> Security:
    _clients(tmp_path, "tok-old")
    _manifest(tmp_path, FIRST)
    settings = SecuritySettings(
        clients_file=tmp_path / "clients.json", trusted_documents_file=tmp_path / "trusted.json"
    )
    return build_security(settings, embedded_sandbox=True, upstream_key=None)


def _clients(tmp_path: Path, token: str) -> None:
    entry = {"name": "c", "token_sha256": hash_token(token), "scopes": ["read"]}
    (tmp_path / "clients.json").write_text(json.dumps({"clients": [entry]}))


def _manifest(tmp_path: Path, document: str) -> None:
    (tmp_path / "trusted.json").write_text(json.dumps({sha256_hex(document): document}))


async def test_a_broken_clients_file_is_kept_while_the_good_manifest_is_swapped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    security = _security(tmp_path)
    (tmp_path / "clients.json").write_text('{"clients": "token-like-value"}')
    _manifest(tmp_path, SECOND)
    reload_files(security)
    assert (await security.authenticator.authenticate("Bearer tok-old")).name == "client:c"
    assert security.queries.trusted is not None
    assert security.queries.trusted.get(sha256_hex(SECOND)) == SECOND
    assert security.queries.trusted.get(sha256_hex(FIRST)) is None
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and errors[0].startswith("reload: GATEWAY_CLIENTS_FILE: ")
    assert "token-like-value" not in errors[0] and str(tmp_path) not in errors[0]


async def test_a_broken_manifest_is_kept_while_the_good_clients_file_is_swapped(tmp_path: Path) -> None:
    security = _security(tmp_path)
    _clients(tmp_path, "tok-new")
    (tmp_path / "trusted.json").unlink()
    reload_files(security)
    assert (await security.authenticator.authenticate("Bearer tok-new")).name == "client:c"
    with pytest.raises(AuthenticationError):
        await security.authenticator.authenticate("Bearer tok-old")
    assert security.queries.trusted is not None
    assert security.queries.trusted.get(sha256_hex(FIRST)) == FIRST
