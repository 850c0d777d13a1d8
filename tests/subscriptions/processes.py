"""Gateways as separate processes (``offsets-gateway serve`` or ``uvicorn --factory``), for the tests that
need two replicas or a real shutdown signal."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator

from tests.servers import wait_healthy


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
