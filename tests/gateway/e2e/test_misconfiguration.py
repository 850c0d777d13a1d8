"""A bad configuration refuses to start, in one line naming the variable and never its value.

Each case runs as real processes - `offsets-gateway serve`, `offsets-gateway check-config` and
`uvicorn --factory gateway.app:create_app` - with a clean environment plus the bad setting. All of them
start at once (module fixture) so the suite waits for the slowest, not the sum.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from gateway.auth.clients import hash_token
from tests.servers import free_port

pytestmark = pytest.mark.e2e

BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Case:
    """A bad setting: the environment (or arguments) that carries it, the name the line must give."""

    id: str
    env: dict[str, str]
    variable: str
    says: str
    secret: str  # the bad value, which must not be echoed
    args: tuple[str, ...] = ()


def _write_bad_files(tmp: Path) -> None:
    (tmp / "malformed-manifest.json").write_text('{"operations": [{"name": "no id"}]')
    bad_entry = {"name": "x", "token_sha256": "f00-hash", "scopes": []}
    (tmp / "bad-clients.json").write_text(json.dumps({"clients": [bad_entry]}))


def _cases() -> list[Case]:
    """The cases; ``{tmp}`` in a value is the test's temporary folder (see `_write_bad_files`)."""
    upstream = {"GATEWAY_UPSTREAM_URL": "https://api.example/v1", "GATEWAY_UPSTREAM_API_KEY": "sk_live_k3y"}
    return [
        Case("typo-url", {"GATEWAY_UPSTREM_URL": "https://typo.example/v1"}, "GATEWAY_UPSTREM_URL",
             "did you mean GATEWAY_UPSTREAM_URL?", "typo.example"),
        Case("typo-key", {"GATEWAY_UPSTREAM_APIKEY": "sk_live_typo"}, "GATEWAY_UPSTREAM_APIKEY",
             "did you mean GATEWAY_UPSTREAM_API_KEY?", "sk_live_typo"),
        Case("key-without-url", {"GATEWAY_UPSTREAM_API_KEY": "sk_live_lonely"}, "GATEWAY_UPSTREAM_API_KEY",
             "GATEWAY_UPSTREAM_URL is not", "sk_live_lonely"),
        Case("trusted-missing", {"GATEWAY_TRUSTED_DOCUMENTS_FILE": "{tmp}/absent-manifest.json"},
             "GATEWAY_TRUSTED_DOCUMENTS_FILE", "No such file", "absent-manifest"),
        Case("trusted-malformed", {"GATEWAY_TRUSTED_DOCUMENTS_FILE": "{tmp}/malformed-manifest.json"},
             "GATEWAY_TRUSTED_DOCUMENTS_FILE", "cannot load trusted documents", "malformed-manifest"),
        Case("redis-url", {"GATEWAY_REDIS_URL": "notaurl-pa55word"}, "GATEWAY_REDIS_URL",
             "redis://", "pa55word"),
        Case("jwks-url", {"GATEWAY_JWT_JWKS_URL": "notaurl-jwks"}, "GATEWAY_JWT_JWKS_URL",
             "absolute http(s) URL", "notaurl-jwks"),
        Case("clients-missing", {**upstream, "GATEWAY_CLIENTS_FILE": "{tmp}/absent-clients.json"},
             "GATEWAY_CLIENTS_FILE", "No such file", "absent-clients"),
        Case("clients-malformed", {**upstream, "GATEWAY_CLIENTS_FILE": "{tmp}/bad-clients.json"},
             "GATEWAY_CLIENTS_FILE", "token_sha256", "f00-hash"),
        Case("cors-scheme", {"GATEWAY_CORS_ORIGINS": "shop-secret.test"}, "GATEWAY_CORS_ORIGINS",
             "scheme://host", "shop-secret.test"),
        Case("short-jwt-secret", {"GATEWAY_JWT_SECRET": "abc-short"}, "GATEWAY_JWT_SECRET",
             "at least 32 bytes", "abc-short"),
        Case("nested-number", {"GATEWAY_MAX_DEPTH": "deep-x"}, "GATEWAY_MAX_DEPTH",
             "valid integer", "deep-x"),
        Case("no-credentials", upstream, "GATEWAY_UPSTREAM_API_KEY", "no caller credentials", "sk_live_k3y"),
        Case("port", {}, "--port", "between 1 and 65535", "99999", ("--port", "99999")),
    ]  # fmt: skip


COMMANDS = {
    "serve": lambda case: [
        str(BIN / "offsets-gateway"), "serve", *(case.args or ("--port", str(free_port())))
    ],
    "check-config": lambda case: [str(BIN / "offsets-gateway"), "check-config"],
    "uvicorn": lambda case: [
        str(BIN / "uvicorn"), "--factory", "gateway.app:create_app", "--port", str(free_port())
    ],
}  # fmt: skip
# Every case runs under `serve`; check-config and uvicorn share its checks (`gateway.preflight`), so a few
# cases of each kind (names, settings, files) prove they are wired in without tripling the processes.
CHECK_CONFIG_CASES = ("typo-key", "short-jwt-secret", "trusted-malformed", "clients-malformed")
UVICORN_CASES = ("typo-url", "redis-url", "trusted-malformed")


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "SANDBOX_"))}


def _planned(cases: list[Case]) -> list[tuple[str, Case]]:
    plan = [("serve", case) for case in cases]
    plan += [("check-config", case) for case in cases if case.id in CHECK_CONFIG_CASES]
    return plan + [("uvicorn", case) for case in cases if case.id in UVICORN_CASES]


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], tuple[int, str]]:
    """(command, case id) -> (exit status, stderr), every process started at once."""
    tmp = tmp_path_factory.mktemp("misconfiguration")
    _write_bad_files(tmp)
    running = {
        (command, case.id): subprocess.Popen(
            COMMANDS[command](case),
            env={**_clean_env(), **{k: v.format(tmp=tmp) for k, v in case.env.items()}},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for command, case in _planned(_cases())
    }
    results = {}
    for key, process in running.items():
        try:
            _, stderr = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:  # it started serving: a refusal that did not happen
            process.kill()
            _, stderr = process.communicate()
        results[key] = (process.returncode, stderr)
    return results


ALL = _planned(_cases())


@pytest.mark.parametrize(("command", "case"), ALL, ids=[f"{c}-{case.id}" for c, case in ALL])
def test_a_bad_setting_is_one_line_naming_the_variable_and_exit_2(
    command: str, case: Case, outcomes: dict[tuple[str, str], tuple[int, str]]
) -> None:
    status, stderr = outcomes[(command, case.id)]
    lines = stderr.splitlines()
    assert status == 2, stderr
    assert len(lines) == 1, stderr
    assert lines[0].startswith(f"offsets-gateway: {case.variable}: "), stderr
    assert case.says in lines[0]
    assert case.secret not in lines[0]


def _check_config(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [str(BIN / "offsets-gateway"), "check-config"]
    return subprocess.run(command, env={**_clean_env(), **env}, capture_output=True, text=True, timeout=60)


def test_check_config_prints_the_resolved_mode_without_secrets(tmp_path: Path) -> None:
    clients = tmp_path / "clients.json"
    entry = {"name": "shop", "token_sha256": hash_token("tok"), "scopes": ["read"]}
    clients.write_text(json.dumps({"clients": [entry]}))
    result = _check_config(
        {
            "GATEWAY_UPSTREAM_URL": "https://user:pw-secret@api.example/v1",
            "GATEWAY_UPSTREAM_API_KEY": "sk_live_never_printed",
            "GATEWAY_CLIENTS_FILE": str(clients),
            "GATEWAY_REDIS_URL": "redis://:redis-secret@127.0.0.1:6390/0",
        }
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "upstream: https://api.example/v1 with gateway API key" in lines
    assert "auth: gateway credentials: 1 client token(s), JWT off" in lines
    assert "redis: on (shared by replicas)" in lines
    assert lines[-1] == "configuration OK"
    for secret in ("pw-secret", "sk_live_never_printed", "redis-secret"):
        assert secret not in result.stdout + result.stderr


def test_check_config_with_nothing_set_is_the_sandbox() -> None:
    result = _check_config({})
    assert result.returncode == 0
    assert "upstream: sandbox (embedded, in-process: no real carbon credits are bought)" in result.stdout
    assert "auth: sandbox (open to any caller)" in result.stdout


def test_version_is_the_package_version() -> None:
    from importlib.metadata import version

    result = subprocess.run([str(BIN / "offsets-gateway"), "--version"], capture_output=True, text=True)
    assert result.returncode == 0
    assert result.stdout.strip() == f"offsets-gateway {version('offsets-gateway')}"
