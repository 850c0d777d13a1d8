"""The command line: flags become config, and ``python -m sandbox`` really serves the API."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from sandbox.cli import build_parser, config_from_args, main
from tests.servers import free_port


def test_flags_become_config(tmp_path: Path) -> None:
    argv = ["--port", "9100", "--api-key", "a", "--api-key", "b", "--db", str(tmp_path / "x.db")]
    args = build_parser().parse_args([*argv, "--fulfilment-delay", "0.5", "--enable-admin"])
    config = config_from_args(args)
    assert config.api_keys == ["a", "b"]
    assert config.db == tmp_path / "x.db"
    assert (config.fulfilment_delay, config.enable_admin) == (0.5, True)
    assert config.public_base_url == "http://127.0.0.1:9100"


def test_defaults() -> None:
    config = config_from_args(build_parser().parse_args([]))
    assert (config.api_keys, config.db, config.fulfilment_delay, config.enable_admin) == (
        [],
        None,
        3.0,
        False,
    )


def test_python_m_sandbox_serves(tmp_path: Path) -> None:
    port = free_port()
    command = [sys.executable, "-m", "sandbox", "--port", str(port), "--api-key", "cli-key"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}/v1/portfolios"
        deadline = time.monotonic() + 60  # a cold interpreter start on a busy machine takes seconds
        while True:
            try:
                response = httpx.get(url, headers={"Authorization": "Bearer cli-key"})
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline, "the sandbox did not start"
                time.sleep(0.05)
        assert response.json()["data"][0]["id"] == "oH5hlq"
        assert httpx.get(url, headers={"Authorization": "Bearer other"}).status_code == 401
    finally:
        process.terminate()
        process.wait(10)


@pytest.mark.parametrize(
    ("value", "keys"),
    [("k1", ["k1"]), ("k1,k2", ["k1", "k2"]), (" k1 , k2 ,", ["k1", "k2"]), ('["k1","k2"]', ["k1", "k2"])],
)
def test_sandbox_api_keys_env_is_comma_separated_or_json(
    monkeypatch: pytest.MonkeyPatch, value: str, keys: list[str]
) -> None:
    # A plain `SANDBOX_API_KEYS=k1` used to stop the sandbox with a settings error (it wanted JSON).
    monkeypatch.setenv("SANDBOX_API_KEYS", value)
    assert config_from_args(build_parser().parse_args([])).api_keys == keys
    assert config_from_args(build_parser().parse_args(["--api-key", "flag"])).api_keys == ["flag"]


@pytest.mark.parametrize(
    ("argv", "env", "field"),
    [
        (["--fulfilment-delay", "-1"], {}, "fulfilment_delay"),
        ([], {"SANDBOX_ENABLE_ADMIN": "maybe"}, "enable_admin"),
    ],
)
def test_bad_settings_are_a_usage_error_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    env: dict[str, str],
    field: str,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as exited:
        main(argv)
    err = capsys.readouterr().err
    assert exited.value.code == 2 and field in err and "Traceback" not in err and "pydantic.dev" not in err
