"""Gateways as separate processes (``offsets-gateway serve`` or ``uvicorn --factory``), for the tests that
need two replicas or a real shutdown signal."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx


def gateway_env(**variables: str) -> dict[str, str]:
    """This process's environment without any GATEWAY_* variable, plus `variables` (GATEWAY_<NAME>)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "SANDBOX_"))}
    return {**env, **{f"GATEWAY_{name.upper()}": value for name, value in variables.items()}}


@contextlib.contextmanager
def serving(port: int, env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """``offsets-gateway serve`` on 127.0.0.1:`port`, healthy before the block; terminated after it."""
    command = [sys.executable, "-m", "gateway", "serve", "--port", str(port), "--log-level", "warning"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", process)
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
        process.wait(timeout=20)
        if process.stderr is not None:
            process.stderr.close()


def wait_healthy(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"gateway at {url} did not start")
