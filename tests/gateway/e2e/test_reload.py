"""SIGHUP reloads the clients file and the trusted-documents manifest of a real `offsets-gateway serve`.

The gateway runs as its own process (uvicorn installs its signal handlers in the main thread, which an
in-process test server does not have) on the embedded sandbox, with client tokens and trusted documents.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from gateway.auth.clients import hash_token
from tests.servers import free_port

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


class Gateway:
    """A running `offsets-gateway serve` process; its stderr goes to a file the test can read."""

    def __init__(self, process: subprocess.Popen[bytes], url: str, log: Path) -> None:
        self.process, self.url, self.log = process, url, log

    def status(self, token: str, query: str = FIRST) -> int:
        headers = {"authorization": f"Bearer {token}"}
        response = httpx.post(f"{self.url}/graphql", json={"query": query}, headers=headers, timeout=10)
        return response.status_code if response.status_code != 200 else _code(response)

    def hup_and_wait(self, done: Callable[[], bool], what: str) -> None:
        self.process.send_signal(signal.SIGHUP)
        _wait(done, what, self.process)


def _code(response: httpx.Response) -> int:
    errors = response.json().get("errors")
    return 200 if not errors else 400  # only PERSISTED_QUERY_NOT_IN_LIST answers 400 here


def _wait(done: Callable[[], bool], what: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the gateway exited while waiting for {what}"
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
def gateway(files: tuple[Path, Path], tmp_path: Path) -> Iterator[Gateway]:
    clients, manifest = files
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "SANDBOX_"))}
    env |= {"GATEWAY_CLIENTS_FILE": str(clients), "GATEWAY_TRUSTED_DOCUMENTS_FILE": str(manifest)}
    port, log = free_port(), tmp_path / "stderr.log"
    command = [str(Path(sys.executable).with_name("offsets-gateway")), "serve", "--port", str(port)]
    with log.open("wb") as stderr:
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: _healthy(url), "/healthz", process)
        yield Gateway(process, url, log)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)
    # uvicorn re-raises the SIGTERM it caught once it has shut down cleanly, hence that exit status.
    assert process.returncode == -signal.SIGTERM
    assert "Application shutdown complete" in log.read_text()


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def test_sighup_swaps_the_clients_file_and_keeps_it_when_the_new_one_is_broken(
    gateway: Gateway, files: tuple[Path, Path]
) -> None:
    clients, _ = files
    assert (gateway.status("tok-old"), gateway.status("tok-new")) == (200, 401)

    _write_clients(clients, "tok-new")
    gateway.hup_and_wait(lambda: gateway.status("tok-new") == 200, "the new clients file")
    assert gateway.status("tok-old") == 401

    clients.write_text('{"clients": [{"name": "x", "token_sha256": "secret-looking-value", "scopes": []}]}')
    gateway.hup_and_wait(lambda: "reload: GATEWAY_CLIENTS_FILE" in gateway.log.read_text(), "the refusal")
    assert (gateway.status("tok-new"), gateway.status("tok-old")) == (200, 401)  # the old file is kept
    refusals = [line for line in gateway.log.read_text().splitlines() if "reload: GATEWAY_CLIENTS" in line]
    assert len(refusals) == 1 and "keeping the file in use" in refusals[0]
    assert "secret-looking-value" not in refusals[0] and str(clients) not in refusals[0]
    assert "Traceback" not in gateway.log.read_text()


def test_sighup_swaps_the_trusted_documents_and_keeps_them_when_the_new_file_is_broken(
    gateway: Gateway, files: tuple[Path, Path]
) -> None:
    _, manifest = files
    assert (gateway.status("tok-old", FIRST), gateway.status("tok-old", SECOND)) == (200, 400)

    _write_manifest(manifest, SECOND)
    gateway.hup_and_wait(lambda: gateway.status("tok-old", SECOND) == 200, "the new manifest")
    assert gateway.status("tok-old", FIRST) == 400

    manifest.write_text("{not json")
    gateway.hup_and_wait(
        lambda: "reload: GATEWAY_TRUSTED_DOCUMENTS" in gateway.log.read_text(), "the refusal"
    )
    assert (gateway.status("tok-old", SECOND), gateway.status("tok-old", FIRST)) == (200, 400)
    assert "Traceback" not in gateway.log.read_text()
