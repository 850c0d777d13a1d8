"""GraphiQL in a real browser: headless Debian chromium, driven over the Chrome DevTools Protocol.

The page is loaded from the gateway (assets from /graphiql/static, no internet), a query is typed into the
editor and run with the run button, and the result pane must show data the sandbox served.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from websockets.sync.client import ClientConnection, connect

from gateway.security.settings import SecuritySettings
from tests.gateway.e2e.conftest import SandboxServer, StartGateway
from tests.servers import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

CHROMIUM = "/usr/bin/chromium"
T = TypeVar("T")


class DevTools:
    """A minimal CDP client over one page target's WebSocket: commands and JS evaluation."""

    def __init__(self, websocket: ClientConnection) -> None:
        self._ws = websocket
        self._ids = itertools.count(1)

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        message_id = next(self._ids)
        self._ws.send(json.dumps({"id": message_id, "method": method, "params": params}))
        while True:  # skip the events the browser sends in between
            reply = json.loads(self._ws.recv(timeout=30))
            if reply.get("id") == message_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                result: dict[str, Any] = reply["result"]
                return result

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"JS error in {expression!r}: {result['exceptionDetails']}")
        return result["result"].get("value")


def wait_for(probe: Callable[[], T | None], what: str, timeout: float = 30.0) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _page_websocket_url(port: int) -> str | None:
    try:
        targets = httpx.get(f"http://127.0.0.1:{port}/json/list", timeout=1).json()
    except httpx.HTTPError:
        return None
    pages = [t["webSocketDebuggerUrl"] for t in targets if t.get("type") == "page"]
    return pages[0] if pages else None


@contextlib.contextmanager
def chromium(tmp_path: Path) -> Iterator[DevTools]:
    """Start headless chromium with a debugging port; yield a DevTools session on its first page."""
    port = free_port()
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}",
        f"--remote-debugging-port={port}",
        "about:blank",
    ]
    # Its own session, so the browser's helper processes can be stopped as one group.
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        url = wait_for(lambda: _page_websocket_url(port), "chromium's DevTools endpoint")
        with connect(url, max_size=None, open_timeout=10) as websocket:
            yield DevTools(websocket)
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


QUERY = "{ portfolios { id name } }"
EDITOR = "document.querySelector('.graphiql-query-editor .CodeMirror')"
RESULT = "document.querySelector('.graphiql-response .CodeMirror')"


def test_graphiql_runs_a_query_against_the_sandbox(
    start_gateway: StartGateway, sandbox: SandboxServer, tmp_path: Path
) -> None:
    gateway = start_gateway(graphiql=True, introspection=True)  # GraphiQL reads the schema by introspection
    with chromium(tmp_path) as browser:
        browser.call("Page.enable")
        browser.call("Page.navigate", url=gateway.graphql_url)
        wait_for(lambda: browser.evaluate(f"!!({EDITOR} && {EDITOR}.CodeMirror)"), "the GraphiQL editor")
        browser.evaluate(f"{EDITOR}.CodeMirror.setValue({json.dumps(QUERY)})")
        sandbox.request_log.clear()
        browser.evaluate("document.querySelector('.graphiql-execute-button').click()")
        text = wait_for(
            lambda: browser.evaluate(f"{RESULT} ? {RESULT}.CodeMirror.getValue() : ''"), "the result pane"
        )
        resources = browser.evaluate("performance.getEntriesByType('resource').map(e => e.name)")
    result = json.loads(text)
    assert "Sandbox" in [portfolio["name"] for portfolio in result["data"]["portfolios"]]
    assert sandbox.request_log.count(method="GET", path_prefix="/v1/portfolios") >= 1
    # Everything the page loaded came from the gateway itself: GraphiQL works offline.
    assert resources and all(name.startswith(gateway.url) for name in resources), resources


DOCS_BUTTON = "document.querySelector('[aria-label=\"Show Documentation Explorer\"]')"
DOCS = "document.querySelector('.graphiql-doc-explorer')"


def test_graphiql_with_trusted_documents_has_the_schema_and_runs_a_trusted_operation(
    start_gateway: StartGateway, sandbox: SandboxServer, tmp_path: Path
) -> None:
    manifest = tmp_path / "trusted.json"
    manifest.write_text(json.dumps({hashlib.sha256(QUERY.encode()).hexdigest(): QUERY}))
    security = SecuritySettings(allow_unauthenticated=True, trusted_documents_file=manifest)
    gateway = start_gateway(graphiql=True, security=security)
    # GraphiQL's own introspection query is refused here, like any document outside the manifest.
    refused = gateway.http.post("/graphql", json={"query": "{ __schema { queryType { name } } }"})
    assert refused.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_IN_LIST"
    with chromium(tmp_path) as browser:
        browser.call("Page.enable")
        browser.call("Page.navigate", url=gateway.graphql_url)
        wait_for(lambda: browser.evaluate(f"!!({EDITOR} && {EDITOR}.CodeMirror)"), "the GraphiQL editor")
        browser.evaluate(f"{DOCS_BUTTON}.click()")
        docs = wait_for(
            lambda: browser.evaluate(f"{DOCS} ? {DOCS}.innerText : ''"), "the documentation explorer"
        )
        browser.evaluate(f"{EDITOR}.CodeMirror.setValue({json.dumps(QUERY)})")
        browser.evaluate("document.querySelector('.graphiql-execute-button').click()")
        text = wait_for(
            lambda: browser.evaluate(f"{RESULT} ? {RESULT}.CodeMirror.getValue() : ''"), "the result pane"
        )
    assert "Query" in docs and "Mutation" in docs, docs  # the embedded schema, not a fetch error
    result = json.loads(text)
    assert "Sandbox" in [portfolio["name"] for portfolio in result["data"]["portfolios"]]
