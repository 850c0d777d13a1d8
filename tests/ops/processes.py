"""Real server processes for the operations tests: gateways, a standalone sandbox, redis, haproxy.

Each `Process` writes stdout and stderr to files under the test's tmp dir (so a test can read every line
a process logged), is ready once its probe URL answers 200, and stops with SIGINT (clean shutdown:
lifespans run), escalating to SIGKILL after a deadline.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.servers import free_port

BIN = Path(sys.executable).parent


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    port: int
    stderr_path: Path
    stdout_path: Path
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stderr_lines(self) -> list[str]:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace").splitlines()

    def stop(self, sig: int = signal.SIGINT, timeout: float = 15.0) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(sig)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)
        return self.popen.returncode


def start(
    name: str,
    argv: Sequence[str],
    *,
    port: int,
    tmp: Path,
    env: Mapping[str, str] | None = None,
    probe: str | None = "/healthz",
    timeout: float = 60.0,
) -> Process:
    """Start `argv` and wait until ``GET <probe>`` answers 200 (or, without a probe, the port accepts)."""
    stdout, stderr = tmp / f"{name}.out", tmp / f"{name}.err"
    full_env = {**_base_env(), **(env or {})}
    with stdout.open("wb") as out, stderr.open("wb") as err:
        popen = subprocess.Popen(list(argv), stdout=out, stderr=err, env=full_env, cwd=tmp)
    process = Process(name, popen, port, stderr, stdout)
    try:
        _wait_ready(process, probe, timeout)
    except Exception:
        process.stop(signal.SIGKILL)
        raise
    return process


def _base_env() -> dict[str, str]:
    # Only what a server needs: no GATEWAY_*/OTEL_* of the developer's shell leak into the test.
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SSL_CERT_FILE")
    env = {key: os.environ[key] for key in keep if key in os.environ}
    env["PATH"] = f"{BIN}:{env.get('PATH', '/usr/bin:/bin')}"
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    return env


def _wait_ready(process: Process, probe: str | None, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            raise RuntimeError(f"{process.name} exited: {process.stderr_path.read_text()[-2000:]}")
        with contextlib.suppress(httpx.HTTPError, OSError):
            if probe is None:
                socket.create_connection(("127.0.0.1", process.port), timeout=0.5).close()
                return
            if httpx.get(process.url + probe, timeout=0.5).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(
        f"{process.name} not ready after {timeout}s: {process.stderr_path.read_text()[-2000:]}"
    )


def sandbox_process(tmp: Path, **env: str) -> Process:
    """A standalone sandbox (``offsets-gateway sandbox``): immediate fulfilment, request log API on."""
    port = free_port()
    argv = [str(BIN / "offsets-gateway"), "sandbox", "--port", str(port), "--fulfilment-delay", "0"]
    return start("sandbox", [*argv, "--enable-admin"], port=port, tmp=tmp, env=env, probe="/v1/openapi.json")


def gateway_process(
    name: str, tmp: Path, env: Mapping[str, str], *, factory: bool = False, port: int | None = None
) -> Process:
    """A gateway: ``offsets-gateway serve``; with `factory`: ``uvicorn --factory gateway.app:create_app``."""
    port = port or free_port()
    if factory:
        argv = [str(BIN / "uvicorn"), "--factory", "gateway.app:create_app", "--port", str(port)]
    else:
        argv = [str(BIN / "offsets-gateway"), "serve", "--port", str(port)]
    return start(name, [*argv, "--host", "127.0.0.1"], port=port, tmp=tmp, env=env)


@contextlib.contextmanager
def running(*processes: Process) -> Iterator[None]:
    try:
        yield
    finally:
        for process in processes:
            process.stop()


def redis_process(tmp: Path) -> Process:
    """A throw-away redis-server on a free loopback port (no persistence)."""
    port = free_port()
    argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    process = start("redis", argv, port=port, tmp=tmp, probe=None)
    process.extra["url"] = f"redis://127.0.0.1:{port}/0"
    return process


def haproxy_process(tmp: Path, config: str, port: int) -> Process:
    """haproxy in the foreground with `config` (written to the tmp dir); ready when its port accepts."""
    path = tmp / "haproxy.cfg"
    path.write_text(config, encoding="utf-8")
    return start("haproxy", ["haproxy", "-db", "-f", str(path)], port=port, tmp=tmp, probe=None)
