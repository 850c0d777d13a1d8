"""SIGHUP reloads the clients file and the trusted-documents manifest of a real `offsets-gateway serve`.

The gateway runs as its own process (uvicorn installs its signal handlers in the main thread, which an
in-process test server does not have) on the embedded sandbox, with client tokens and trusted documents.
"""

from __future__ import annotations

import hashlib
import json
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from gateway.auth.clients import hash_token
from tests.processes import GatewayProcess

pytestmark = pytest.mark.e2e

FIRST = "{ __typename }"
SECOND = "query Second { __typename }"


def _write_clients(path: Path, *tokens: str) -> None:
    clients = [
        {"name": f"c{n}", "token_sha256": hash_token(t), "scopes": ["read"]} for n, t in enumerate(tokens)
    ]
    _replace(path, json.dumps({"clients": clients}))


def _write_manifest(path: Path, *documents: str) -> None:
    _replace(path, json.dumps({hashlib.sha256(d.encode()).hexdigest(): d for d in documents}))


def _replace(path: Path, text: str) -> None:
    # How an operator should update the file: write a new one, then rename it over the old (atomic).
    staged = path.with_suffix(".new")
    staged.write_text(text)
    staged.replace(path)


def _status(gateway: GatewayProcess, token: str, query: str = FIRST) -> int:
    """200, 401 (token refused) or 400 (a document outside the trusted list: the only other refusal here)."""
    headers = {"authorization": f"Bearer {token}"}
    response = httpx.post(f"{gateway.url}/graphql", json={"query": query}, headers=headers, timeout=10)
    if response.status_code != 200:
        return response.status_code
    return 400 if response.json().get("errors") else 200


def _hup_and_wait(gateway: GatewayProcess, done: Callable[[], bool], what: str) -> None:
    gateway.process.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert gateway.process.poll() is None, f"the gateway exited while waiting for {what}"
        if done():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    clients, manifest = tmp_path / "clients.json", tmp_path / "trusted.json"
    _write_clients(clients, "tok-old")
    _write_manifest(manifest, FIRST)
    return clients, manifest


@pytest.fixture
def gateway(files: tuple[Path, Path], tmp_path: Path) -> Iterator[GatewayProcess]:
    clients, manifest = files
    env = {"GATEWAY_CLIENTS_FILE": str(clients), "GATEWAY_TRUSTED_DOCUMENTS_FILE": str(manifest)}
    gateway = GatewayProcess(env, tmp_path / "gateway.log")
    try:
        yield gateway.wait_healthy()
    finally:
        gateway.stop()
    assert "Application shutdown complete" in gateway.log_path.read_text()  # one process, stopped cleanly


def test_sighup_swaps_the_clients_file_and_keeps_it_when_the_new_one_is_broken(
    gateway: GatewayProcess, files: tuple[Path, Path]
) -> None:
    clients, _ = files
    assert (_status(gateway, "tok-old"), _status(gateway, "tok-new")) == (200, 401)

    _write_clients(clients, "tok-new")
    _hup_and_wait(gateway, lambda: _status(gateway, "tok-new") == 200, "the new clients file")
    assert _status(gateway, "tok-old") == 401

    clients.write_text('{"clients": [{"name": "x", "token_sha256": "secret-looking-value", "scopes": []}]}')
    _hup_and_wait(gateway, lambda: "reload: GATEWAY_CLIENTS_FILE" in gateway.log(), "the refusal")
    assert (_status(gateway, "tok-new"), _status(gateway, "tok-old")) == (200, 401)  # the old file is kept
    refusals = [line for line in gateway.log().splitlines() if "reload: GATEWAY_CLIENTS" in line]
    assert len(refusals) == 1 and "keeping the file in use" in refusals[0]
    assert "secret-looking-value" not in refusals[0] and str(clients) not in refusals[0]
    assert "Traceback" not in gateway.log()


def test_sighup_swaps_the_trusted_documents_and_keeps_them_when_the_new_file_is_broken(
    gateway: GatewayProcess, files: tuple[Path, Path]
) -> None:
    _, manifest = files
    assert (_status(gateway, "tok-old", FIRST), _status(gateway, "tok-old", SECOND)) == (200, 400)

    _write_manifest(manifest, SECOND)
    _hup_and_wait(gateway, lambda: _status(gateway, "tok-old", SECOND) == 200, "the new manifest")
    assert _status(gateway, "tok-old", FIRST) == 400

    manifest.write_text("{not json")
    _hup_and_wait(gateway, lambda: "reload: GATEWAY_TRUSTED_DOCUMENTS" in gateway.log(), "the refusal")
    assert (_status(gateway, "tok-old", SECOND), _status(gateway, "tok-old", FIRST)) == (200, 400)
    assert "Traceback" not in gateway.log()
