"""The servers of the peer benchmark: the Node peers (npm-installed on demand) and process-tree accounting."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from sandbox_orders import AUTH, Server, free_port  # noqa: E402

_INSTALLED_MARK = HERE / "node_modules" / ".installed-lock-sha256"


def npm_ci() -> None:
    """`npm ci` from the committed lock, unless node_modules already holds exactly that lock."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise SystemExit("node and npm are needed (Node >= 20; e.g. apt-get install nodejs npm)")
    lock = hashlib.sha256((HERE / "package-lock.json").read_bytes()).hexdigest()
    if _INSTALLED_MARK.exists() and _INSTALLED_MARK.read_text() == lock:
        return
    print("installing the Node peers (npm ci) ...", flush=True)
    cmd = ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"]
    subprocess.run(cmd, cwd=HERE, check=True)
    _INSTALLED_MARK.write_text(lock)


def compose_supergraph(sandbox: Server, out: Path) -> None:
    """Mesh Compose (`@omnigraph/openapi`) over the sandbox's live ``/v1/openapi.json``."""
    env = {**os.environ, "SANDBOX_URL": sandbox.url}
    cmd = [str(HERE / "node_modules" / ".bin" / "mesh-compose"), "-c", "compose.config.mjs", "-o", str(out)]
    subprocess.run(cmd, cwd=HERE, env=env, check=True, capture_output=True)


@contextmanager
def node_server(name: str, cmd: list[str], env: dict[str, str], port: int, probe: str) -> Iterator[Server]:
    """Run a Node server (production mode) and yield once `probe` answers."""
    full_env = {**os.environ, **env, "NODE_ENV": "production", "PORT": str(port)}
    log = (HERE / f".{name}.log").open("wb")
    proc = subprocess.Popen(cmd, cwd=HERE, env=full_env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(url + probe, proc, name)
        yield Server(url, proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _wait(url: str, proc: subprocess.Popen[bytes], name: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{name} exited with {proc.returncode}; see bench/peers/.{name}.log")
        try:
            httpx.get(url, headers=AUTH, timeout=2)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise SystemExit(f"{name} did not start; see bench/peers/.{name}.log")


def hive_gateway(supergraph: Path) -> Iterator[Server]:
    """Hive Gateway, one process (`--fork 1`), serving the composed supergraph at /graphql."""
    port = free_port()
    binary = str(HERE / "node_modules" / ".bin" / "hive-gateway")
    cmd = [binary, "supergraph", str(supergraph), "--fork", "1", "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--disable-websockets", "--polling", "24h"]
    return node_server("hive", cmd, {}, port, "/healthcheck")


def apollo_server(sandbox: Server) -> Iterator[Server]:
    """The hand-written Apollo Server 4 + RESTDataSource (`apollo.mjs`), GraphQL at /."""
    port = free_port()
    return node_server("apollo", ["node", str(HERE / "apollo.mjs")], {"SANDBOX_URL": sandbox.url}, port, "/")


# --- /proc accounting of a process and its descendants ---------------------------------------------------


def _children() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    return children


def process_tree(pid: int) -> list[int]:
    """`pid` and every descendant (a forking server's workers count as the server)."""
    children, tree, todo = _children(), [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


@dataclass(frozen=True)
class TreeUsage:
    cpu: float  # CPU seconds (user + system) of the tree's live processes
    rss_mb: float


def tree_usage(pids: list[int]) -> TreeUsage:
    cpu, rss_kb = 0.0, 0
    ticks = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        cpu += (int(fields[11]) + int(fields[12])) / ticks
        rss_kb += next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS")), 0)
    return TreeUsage(cpu, rss_kb / 1024)
