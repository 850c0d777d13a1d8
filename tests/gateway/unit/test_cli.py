"""The `offsets-gateway` command: export-schema (and its drift check), sandbox delegation, serve."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from gateway import cli
from gateway.config import Settings
from tests.servers import free_port


def test_export_schema_writes_the_sdl(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "schema.graphql"
    assert cli.main(["export-schema", "--path", str(target)]) == 0
    sdl = target.read_text()
    assert sdl == cli.schema_sdl()
    assert "type Query" in sdl and "type Mutation" in sdl
    assert cli.main(["export-schema", "--path", str(target), "--check"]) == 0
    assert "up to date" in capsys.readouterr().out


def test_export_schema_check_fails_with_a_diff_on_drift(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "schema.graphql"
    drifted = cli.schema_sdl().replace("type Query {", "type Query {\n  removedLater: Int", 1)
    target.write_text(drifted)
    assert cli.main(["export-schema", "--path", str(target), "--check"]) == 1
    captured = capsys.readouterr()
    assert "-  removedLater: Int" in captured.out
    assert "out of date" in captured.err
    assert target.read_text() == drifted  # --check never writes


def test_export_schema_check_fails_when_the_file_is_missing(tmp_path: Path) -> None:
    assert cli.main(["export-schema", "--path", str(tmp_path / "absent.graphql"), "--check"]) == 1


def test_sandbox_subcommand_delegates_its_arguments(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []

    def fake_main(argv: list[str] | None = None) -> int:
        seen.append(list(argv or []))
        return 7

    monkeypatch.setattr("sandbox.cli.main", fake_main)
    assert cli.main(["sandbox", "--port", "8123", "--enable-admin"]) == 7
    assert seen == [["--port", "8123", "--enable-admin"]]


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["launch"])
    assert exit_info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_workers_are_forced_to_one_with_the_embedded_sandbox() -> None:
    assert cli._workers(4, Settings()) == 1
    assert cli._workers(4, Settings(upstream_url="https://api.example/v1")) == 4


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "SANDBOX_"))}
    env["GATEWAY_SANDBOX_FULFILMENT_DELAY"] = "0"
    return env


def test_serve_runs_a_real_server_on_the_embedded_sandbox() -> None:
    port = free_port()
    command = [str(Path(sys.executable).with_name("offsets-gateway")), "serve", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--workers", "2", "--log-level", "warning"],
        env=_clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        health = _wait_for_health(f"http://127.0.0.1:{port}", process)
        query = httpx.post(f"http://127.0.0.1:{port}/graphql", json={"query": "{ __typename }"})
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=20)
    assert health == {"status": "ok"}
    assert query.json()["data"] == {"__typename": "Query"}
    assert process.returncode == 0
    assert stderr.count("No real carbon credits are bought") == 1  # sandbox mode is said once
    assert stderr.count("open to any caller") == 1
    assert "ignoring --workers 2" in stderr


def _wait_for_health(url: str, process: subprocess.Popen[str]) -> object:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"serve exited early: {process.communicate()[1]}")
        try:
            return httpx.get(f"{url}/healthz", timeout=1).json()
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("serve did not answer /healthz in time")


def test_log_config_prints_the_gateway_and_redacts_every_handler() -> None:
    # Which GraphQL errors strawberry logs is the schema's job (tests/gateway/unit/test_schema_logging.py).
    config = cli.log_config("info")
    assert config["loggers"]["gateway"]["level"] == "INFO"
    assert config["loggers"]["strawberry"]["handlers"] == ["default"]
    assert all(
        handler["filters"] == ["request_id", "trace_context"] for handler in config["handlers"].values()
    )
    formatters = config["formatters"].values()
    assert all(formatter["()"] == "gateway.redaction.redacting_formatter" for formatter in formatters)


@pytest.mark.parametrize(
    ("env", "says"),
    [
        (
            {"GATEWAY_UPSTREAM_URL": "http://127.0.0.1:9/v1", "GATEWAY_UPSTREAM_API_KEY": "sk_live_secret"},
            "no caller credentials are configured",
        ),
        (
            {"GATEWAY_UPSTREAM_URL": "not a url", "GATEWAY_UPSTREAM_API_KEY": "sk_live_secret"},
            "GATEWAY_UPSTREAM_URL",
        ),
        ({"GATEWAY_MAX_RETRIES": "sk_live_secret"}, "GATEWAY_MAX_RETRIES"),
        (
            {
                "GATEWAY_UPSTREAM_URL": "http://127.0.0.1:9/v1",
                "GATEWAY_UPSTREAM_API_KEY": "sk_live_secret",
                "GATEWAY_CLIENTS_FILE": "/nonexistent/clients.json",
            },
            "cannot load clients file",
        ),
    ],
)
def test_serve_refuses_a_bad_configuration_in_one_line_before_starting(
    env: dict[str, str],
    says: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import uvicorn

    def must_not_start(*args: object, **kwargs: object) -> None:
        raise AssertionError("uvicorn started despite the bad configuration")

    monkeypatch.setattr(uvicorn, "run", must_not_start)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert cli.main(["serve", "--port", "9"]) == 2
    err = capsys.readouterr().err
    assert says in err
    assert "Traceback" not in err
    assert "sk_live_secret" not in err


def test_export_schema_to_a_missing_folder_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["export-schema", "--path", str(tmp_path / "missing" / "x")]) == 1
    err = capsys.readouterr().err
    assert err.splitlines() == [
        f"offsets-gateway: cannot write {tmp_path / 'missing' / 'x'}: No such file or directory"
    ]


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["--port", "99999"], "offsets-gateway: --port: must be between 1 and 65535"),
        (["--port", "0"], "offsets-gateway: --port: must be between 1 and 65535"),
        (["--workers", "0"], "offsets-gateway: --workers: must be at least 1"),
    ],
)
def test_serve_refuses_ports_out_of_range_and_no_workers(
    args: list[str], line: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: pytest.fail("uvicorn started"))
    for name in [n for n in os.environ if n.upper().startswith("GATEWAY_")]:
        monkeypatch.delenv(name)
    assert cli.main(["serve", *args]) == 2
    assert capsys.readouterr().err.splitlines() == [line]
